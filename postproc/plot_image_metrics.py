#!/usr/bin/python3
"""Plots the per-step image metrics of a gpa run (image_metrics.py --per-step).

usage: plot_image_metrics.py METRICS.json [-o OUT.png]

Left: Sinkhorn divergence to held-out images of the particles and the
generated particles against step, with the value of fresh real images of
the same size as a dashed line; the memorisation ratio (reference lines at
0.5 and 1); the near-copy fraction. Right, when the JSON names a run file
that is still there: its monitor divergence and kinetic energy.
"""

import argparse
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gpafiles import RunFile, save_figure  # noqa: E402
from plot_run import plot_monitor  # noqa: E402

SETS = (("particles", "tab:blue"), ("generated", "tab:orange"))


def curve(values):
    """A list with None for missing values -> float array with NaN."""
    return np.array([np.nan if v is None else v for v in values], float)


def load(path):
    try:
        with open(path) as f:
            report = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err})") from None
    if not isinstance(report, dict) or "sets" not in report:
        raise ValueError(f"{path}: not an image_metrics.py report")
    curves = report.get("per_step")
    if not curves or not curves.get("step"):
        raise ValueError(f"{path}: no per-step curves (run image_metrics.py "
                         "with --per-step)")
    return report, curves


def plot_metrics(ax_s, ax_m, ax_c, curves):
    step = np.asarray(curves["step"])
    for name, colour in SETS:
        c = curves.get(name)
        if c is None:
            continue
        s = curve(c["sinkhorn_heldout"])
        ax_s.plot(step, np.where(s > 0, s, np.nan), color=colour, marker=".",
                  lw=1, label=f"{name}")
        ref = c.get("fresh_sinkhorn_heldout")
        if ref is not None and ref > 0:
            ax_s.axhline(ref, color=colour, ls="--", lw=0.9,
                         label=f"fresh real ({name} size)")
        ax_m.plot(step, curve(c["memorisation_ratio"]), color=colour,
                  marker=".", lw=1, label=name)
        ax_c.plot(step, curve(c["near_copy_fraction"]), color=colour,
                  marker=".", lw=1, label=name)
    ax_s.set_yscale("log")
    ax_s.set_ylabel("Sinkhorn to held-out")
    ax_s.legend(loc="best", fontsize="small")
    for y, text in ((1.0, "1: as far as held-out "),
                    (0.5, "0.5: half-way to copies ")):
        ax_m.axhline(y, color="0.6", lw=0.8, ls=":", zorder=0)
        ax_m.text(1.0, y, text, va="bottom", ha="right", fontsize="x-small",
                  color="0.4", transform=ax_m.get_yaxis_transform())
    ax_m.set_ylabel("memorisation ratio")
    ax_m.legend(loc="best", fontsize="small")
    ax_c.set_ylim(-0.03, 1.03)
    ax_c.set_ylabel("near-copy fraction")
    ax_c.set_xlabel("step")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", metavar="METRICS.json")
    parser.add_argument("-o", "--output", metavar="OUT.png",
                        help="default: METRICS with .png instead of .json")
    args = parser.parse_args()
    out = args.output or os.path.splitext(args.metrics)[0] + ".png"
    prog = os.path.basename(sys.argv[0])
    try:
        report, curves = load(args.metrics)
        monitor, note = None, "no run file recorded"
        run_path = report.get("run")
        if run_path and os.path.isfile(run_path):
            with RunFile(run_path) as run:
                monitor = run.monitor
            note = f"{os.path.basename(run_path)} has no /monitor"
        elif run_path:
            note = f"{run_path}: not found"
    except (OSError, ValueError) as err:
        sys.exit(f"{prog}: {err}")

    fig = plt.figure(figsize=(13, 8), layout="constrained")
    grid = fig.add_gridspec(3, 2, width_ratios=(1.2, 1))
    ax_s = fig.add_subplot(grid[0, 0])
    ax_m = fig.add_subplot(grid[1, 0], sharex=ax_s)
    ax_c = fig.add_subplot(grid[2, 0], sharex=ax_s)
    for ax in (ax_s, ax_m):
        ax.tick_params(labelbottom=False)
    plot_metrics(ax_s, ax_m, ax_c, curves)
    ax_d = fig.add_subplot(grid[0:2, 1])
    ax_ke = fig.add_subplot(grid[2, 1], sharex=ax_d)
    if monitor:
        ax_d.tick_params(labelbottom=False)
        plot_monitor(ax_d, ax_ke, monitor)
    else:
        ax_d.text(0.5, 0.5, f"no monitor data\n({note})", ha="center",
                  va="center", transform=ax_d.transAxes, fontsize="small")
        ax_d.set_axis_off()
        ax_ke.set_visible(False)
    classes = ", ".join(str(c) for c in report.get("classes", []))
    held = report.get("heldout", {})
    fig.suptitle(f"{report.get('summary', '?')}\nclasses {classes} | "
                 f"{held.get('n', '?')} held-out t10k images | PCA "
                 f"{report.get('pca', {}).get('components', '?')} | Sinkhorn "
                 f"blur {report.get('sinkhorn', {}).get('blur', '?')}",
                 fontsize="medium")
    save_figure(fig, out, prog)


if __name__ == "__main__":
    main()

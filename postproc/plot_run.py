#!/usr/bin/python3
"""Plots a gpa run file: particles (left) and monitor curves (right).

usage: plot_run.py RUN.h5 [-o OUT.png] [--dims 0,1]
"""

import argparse
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gpafiles import RunFile  # noqa: E402

SETS = (("target", "0.6"), ("initial", "tab:orange"), ("final", "tab:blue"))


def plot_particles(ax, run, dims):
    """Scatter of target, initial and final in coordinates dims (d >= 2),
    or their histograms when d == 1."""
    data = [(name, colour, getattr(run, name)) for name, colour in SETS]
    data = [(name, colour, x) for name, colour, x in data if x is not None]
    if not data:
        ax.text(0.5, 0.5, "no particle data", ha="center", va="center",
                transform=ax.transAxes)
        return
    if data[0][2].shape[1] == 1:
        values = np.concatenate([x[:, 0] for *_, x in data])
        bins = np.histogram_bin_edges(values, bins=40)
        for name, colour, x in data:
            ax.hist(x[:, 0], bins=bins, histtype="step", color=colour,
                    label=name)
        ax.set_xlabel("x[0]")
        ax.set_ylabel("count")
    else:
        i, j = dims
        for name, colour, x in data:
            ax.scatter(x[:, i], x[:, j], s=5, color=colour, label=name,
                       linewidths=0)
        ax.set_xlabel(f"x[{i}]")
        ax.set_ylabel(f"x[{j}]")
        ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="best", markerscale=2, fontsize="small")


def plot_monitor(ax_d, ax_ke, monitor):
    """Divergence (linear) above kinetic energy (log where positive)."""
    step = monitor.get("step")
    if step is None or step.size == 0:
        ax_d.text(0.5, 0.5, "no monitor data", ha="center", va="center",
                  transform=ax_d.transAxes)
        ax_ke.set_visible(False)
        return
    ax_d.plot(step, monitor["divergence"], color="tab:green", lw=1)
    ax_d.axhline(0.0, color="0.7", lw=0.8, zorder=0)
    ax_d.set_ylabel("divergence estimate D")
    ke = monitor["kinetic_energy"]
    positive = np.isfinite(ke) & (ke > 0)
    ax_ke.plot(step, np.where(positive, ke, np.nan), color="tab:red", lw=1)
    if positive.any():
        ax_ke.set_yscale("log")
    ax_ke.set_ylabel("kinetic energy")
    ax_ke.set_xlabel("step")


def parse_dims(text, d):
    try:
        dims = tuple(int(s) for s in text.split(","))
    except ValueError:
        dims = ()
    if d >= 2 and (len(dims) != 2 or dims[0] == dims[1]
                   or not all(0 <= k < d for k in dims)):
        raise ValueError(f"--dims {text}: need two distinct coordinates "
                         f"in 0..{d - 1}")
    return dims


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", metavar="RUN.h5")
    parser.add_argument("-o", "--output", metavar="OUT.png",
                        help="default: RUN with .png instead of .h5")
    parser.add_argument("--dims", default="0,1",
                        help="the two coordinates to plot (default 0,1)")
    args = parser.parse_args()
    out = args.output or os.path.splitext(args.run)[0] + ".png"
    prog = os.path.basename(sys.argv[0])
    try:
        with RunFile(args.run) as run:
            dims = parse_dims(args.dims, run.dim or 2)
            fig = plt.figure(figsize=(13, 6), layout="constrained")
            grid = fig.add_gridspec(2, 2, width_ratios=(1, 1.15))
            plot_particles(fig.add_subplot(grid[:, 0]), run, dims)
            ax_d = fig.add_subplot(grid[0, 1])
            ax_ke = fig.add_subplot(grid[1, 1], sharex=ax_d)
            ax_d.tick_params(labelbottom=False)
            plot_monitor(ax_d, ax_ke, run.monitor)
            fig.suptitle(run.summary(), fontsize="medium")
        fig.savefig(out, dpi=120)
    except (OSError, ValueError) as err:
        sys.exit(f"{prog}: {err}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

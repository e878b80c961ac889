#!/usr/bin/python3
"""Draws the images of a gpa image run: targets, particles, generated, noise.

usage: plot_images.py RUN.h5 [-o OUT.png] [--n 10] [--step S]

One row each of targets, trained particles (final, or the stored
trajectory snapshot nearest step S), generated particles (final, when the
run has them) and the initial noise: n images of each set, spread evenly
over its rows; 28 x 28 pixels, row-major, shown on [0, 1] in grey with each
image's class when the run stores labels.
"""

import argparse
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gpafiles import RunFile, save_figure  # noqa: E402

SIDE = 28
CLASS_NAMES = ("T-shirt", "trouser", "pullover", "dress", "coat", "sandal",
               "shirt", "sneaker", "bag", "boot")


def spread(length, n):
    """Up to n row indices spread evenly over 0..length-1 (all classes show
    when the rows are grouped by class)."""
    return np.unique(np.linspace(0, length - 1, min(n, length)).round()
                     .astype(int)) if length else np.zeros(0, int)


def pick_rows(run, name, n):
    """(n rows of dataset `name` spread over it, their indices), or
    (None, None) if absent."""
    ds = run.dataset(name)
    if ds is None:
        return None, None
    rows = spread(len(ds), n)
    return ds[rows.tolist()], rows


def particles_at(run, step, n, path):
    """(n particles [n, 784], their indices, row title): final, or at the
    stored trajectory snapshot nearest `step`."""
    if step is None:
        return (*pick_rows(run, "particles/final", n), "particles, final")
    steps = run.dataset("trajectory/step")
    positions = run.dataset("trajectory/positions")
    if steps is None or positions is None or len(steps) == 0:
        raise ValueError(f"{path}: --step needs a stored trajectory, and "
                         "the run has none")
    steps = steps[()]
    k = int(np.argmin(np.abs(steps - step)))
    rows = spread(positions.shape[1], n)
    title = f"particles, step {int(steps[k])}"
    return positions[k, rows.tolist()], rows, title


def title_of(run):
    """Two lines: the run's summary and its image parameters."""
    p = run.param
    classes = p("target.classes", run.attribute("classes"))
    if classes is not None and not isinstance(classes, str):
        classes = list(np.atleast_1d(classes).tolist()) or "all"
    extra = (f"target {p('target.kind', run.attribute('kind', '?'))}"
             + (f" classes {classes}" if classes is not None else "")
             + f" | source {p('source.kind', '?')}"
             + f" | network conv {p('network.conv_channels', [])}"
             f" widths {p('network.widths', '?')}"
             + (" conditional" if p("network.conditional") else ""))
    return f"{run.summary()}\n{extra}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", metavar="RUN.h5")
    parser.add_argument("-o", "--output", metavar="OUT.png",
                        help="default: RUN_images.png")
    parser.add_argument("--n", type=int, default=10,
                        help="images per row (default 10)")
    parser.add_argument("--step", type=int, metavar="S",
                        help="particles at the trajectory snapshot nearest "
                        "step S (default: the final particles)")
    args = parser.parse_args()
    out = args.output or os.path.splitext(args.run)[0] + "_images.png"
    prog = os.path.basename(sys.argv[0])
    if not 1 <= args.n <= 100:
        sys.exit(f"{prog}: --n must be in 1..100")
    try:
        with RunFile(args.run) as run:
            if run.dim != SIDE * SIDE:
                raise ValueError(f"{args.run}: samples have {run.dim} "
                                 f"coordinates, not {SIDE} x {SIDE} pixels")
            particles, prows, particles_title = particles_at(
                run, args.step, args.n, args.run)
            sets = [("targets", *pick_rows(run, "target", args.n),
                     "target"),
                    (particles_title, particles, prows, "particles"),
                    ("generated, final",
                     *pick_rows(run, "generated/final", args.n),
                     "generated"),
                    ("initial noise",
                     *pick_rows(run, "particles/initial", args.n),
                     "particles")]
            rows = []
            for name, x, index, which in sets:
                if x is None:
                    continue
                labels = run.labels(which)
                rows.append((name, x, None if labels is None
                             else labels[index[index < len(labels)]]))
            if not rows:
                raise ValueError(f"{args.run}: no images in the run file")
            title = title_of(run)
    except (OSError, ValueError) as err:
        sys.exit(f"{prog}: {err}")

    n = max(len(x) for _, x, _ in rows)
    fig, axes = plt.subplots(len(rows), n, squeeze=False,
                             figsize=(1.15 * n + 0.6, 1.35 * len(rows) + 0.9),
                             layout="constrained")
    for r, (name, x, labels) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(x):
                ax.set_axis_off()
                continue
            ax.imshow(np.clip(x[c].reshape(SIDE, SIDE), 0.0, 1.0),
                      cmap="gray", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
            if labels is not None and c < len(labels):
                k = int(labels[c])
                name_k = CLASS_NAMES[k] if 0 <= k < 10 else "?"
                ax.set_title(f"{k} {name_k}", fontsize=6, pad=2)
        axes[r, 0].set_ylabel(name, fontsize=7)
    fig.suptitle(title, fontsize=7)
    save_figure(fig, out, prog)


if __name__ == "__main__":
    main()

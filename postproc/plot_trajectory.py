#!/usr/bin/python3
"""Plots snapshots of the stored trajectory of a gpa run file.

usage: plot_trajectory.py RUN.h5 [-o OUT.png] [--frames K]
"""

import argparse
import math
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gpafiles import RunFile, save_figure  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", metavar="RUN.h5")
    parser.add_argument("-o", "--output", metavar="OUT.png",
                        help="default: RUN_trajectory.png")
    parser.add_argument("--frames", type=int, default=6, metavar="K",
                        help="number of snapshots (default 6)")
    args = parser.parse_args()
    out = args.output or os.path.splitext(args.run)[0] + "_trajectory.png"
    prog = os.path.basename(sys.argv[0])
    if args.frames < 1:
        sys.exit(f"{prog}: --frames must be at least 1")
    try:
        with RunFile(args.run) as run:
            steps, positions = run.trajectory()
            if steps is None or len(steps) == 0:
                raise ValueError(f"{args.run}: no trajectory in the run file")
            target, title = run.target, run.summary()
    except (OSError, ValueError) as err:
        sys.exit(f"{prog}: {err}")

    frames = np.unique(np.linspace(0, len(steps) - 1, args.frames).round()
                       .astype(int))
    ncols = min(len(frames), 3)
    nrows = math.ceil(len(frames) / ncols)
    fig, axes = plt.subplots(nrows, ncols, sharex=True, sharey=True,
                             squeeze=False, layout="constrained",
                             figsize=(4 * ncols, 4 * nrows + 0.4))
    one_d = positions.shape[2] == 1
    if one_d:
        shown = [positions[frames].ravel()]
        if target is not None:
            shown.append(target[:, 0])
        bins = np.histogram_bin_edges(np.concatenate(shown), bins=40)
    for ax, k in zip(axes.flat, frames):
        y = positions[k]
        if one_d:
            if target is not None:
                ax.hist(target[:, 0], bins=bins, color="0.85", label="target")
            ax.hist(y[:, 0], bins=bins, histtype="step", color="tab:blue",
                    label="particles")
        else:
            if target is not None:
                ax.scatter(target[:, 0], target[:, 1], s=4, color="0.8",
                           linewidths=0, label="target")
            ax.scatter(y[:, 0], y[:, 1], s=5, color="tab:blue", linewidths=0,
                       label="particles")
            ax.set_aspect("equal", adjustable="box")
        ax.set_title(f"step {steps[k]}", fontsize="medium")
    for ax in axes.flat[len(frames):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="best", fontsize="small", markerscale=2)
    fig.suptitle(title, fontsize="medium")
    save_figure(fig, out, prog)


if __name__ == "__main__":
    main()

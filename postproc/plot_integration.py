#!/usr/bin/python3
"""Plots a `gpa integrate` output on its first two principal components.

usage: plot_integration.py OUT.h5 [-o OUT.png] [--pcs 0,1]

Three panels share their axes: the source before correction, the source
transported by GPA, and the baseline (per-label mean/std adjustment), each
over the target samples.  Colour is the label, marker the side (o source,
x target): the picture of the paper's Figure 8.
"""

import argparse
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gpafiles import IntegrateFile  # noqa: E402


def load(path, pcs):
    """Latent coordinates (PCA units) of the before/gpa/baseline source rows
    and of the target rows, with labels and names."""
    with IntegrateFile(path) as f:
        origin = f.obs("origin")
        label = f.obs("label")
        names = f.obs_names("label")
        after = f.latent
        before = f.latent_before
        k = after.shape[1]
        if max(pcs) >= k:
            raise ValueError(f"--pcs: the latent space has {k} components")
        mean = f.pca_mean
        comps = f.pca_components[list(pcs)]
        src = origin == 0
        # Baseline rows projected chunk by chunk (the gene matrix may be large).
        xb = f.baseline
        base = np.empty((xb.shape[0], 2))
        for a in range(0, xb.shape[0], 4096):
            rows = xb[a:a + 4096].astype(np.float64) - mean
            base[a:a + 4096] = rows @ comps.T
        ratio = f.explained_variance_ratio[list(pcs)]
    p = list(pcs)
    return {
        "before": before[src][:, p], "gpa": after[src][:, p],
        "baseline": base[src], "target": before[~src][:, p],
        "label_src": label[src], "label_tgt": label[~src], "names": names,
        "explained": ratio,
    }


def plot(d, title, pcs):
    panels = (("before", "source before"), ("gpa", "source after GPA"),
              ("baseline", "source after baseline"))
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2), sharex=True,
                             sharey=True, layout="constrained")
    colours = plt.get_cmap("tab10")
    for ax, (key, heading) in zip(axes, panels):
        for c, name in enumerate(d["names"]):
            colour = colours(c % 10)
            t = d["target"][d["label_tgt"] == c]
            s = d[key][d["label_src"] == c]
            ax.scatter(t[:, 0], t[:, 1], marker="x", s=22, color=colour,
                       alpha=0.55, label=f"target {name}")
            ax.scatter(s[:, 0], s[:, 1], marker="o", s=18, color=colour,
                       edgecolors="k", linewidths=0.4,
                       label=f"source {name}")
        ax.set_title(heading)
        ax.set_xlabel(f"PC{pcs[0] + 1} ({100 * d['explained'][0]:.1f}%)")
    axes[0].set_ylabel(f"PC{pcs[1] + 1} ({100 * d['explained'][1]:.1f}%)")
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5),
                    fontsize="small")
    fig.suptitle(title, fontsize="medium")
    return fig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", metavar="OUT.h5")
    parser.add_argument("-o", "--png", metavar="OUT.png",
                        help="default: OUT with .pca.png instead of .h5")
    parser.add_argument("--pcs", default="0,1",
                        help="two principal components, 0-based (default 0,1)")
    args = parser.parse_args()
    prog = os.path.basename(sys.argv[0])
    png = args.png or os.path.splitext(args.output)[0] + ".pca.png"
    try:
        pcs = tuple(int(s) for s in args.pcs.split(","))
        if len(pcs) != 2 or pcs[0] == pcs[1] or min(pcs) < 0:
            raise ValueError(f"--pcs {args.pcs}: need two distinct components")
        data = load(args.output, pcs)
        fig = plot(data, os.path.basename(args.output), pcs)
        fig.savefig(png, dpi=120)
    except (OSError, ValueError, KeyError) as err:
        sys.exit(f"{prog}: {args.output}: {err}")
    print(f"wrote {png}")


if __name__ == "__main__":
    main()

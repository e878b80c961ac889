#!/usr/bin/python3
"""Writes the Markdown report of `gpa integrate` runs: per data set and label, the paper's
Table-4 numbers beside the sampling floor, the other checks, and the floor notes.

usage: integration_report.py OUT.h5 [OUT.h5 ...] [-o REPORT.md] [--figures DIR]

Every number comes from the report attribute that `gpa integrate` stores in OUT.h5; the
settings and the code revision come from its /parameters and /code.  With --figures, the
picture DIR/NAME.pca.png (postproc/plot_integration.py) is linked under each data set.
"""

import argparse
import os
import sys

from gpafiles import GpaFileError, IntegrateFile

CHECKS = [("G_below_S", "G/D < S/D"), ("G_not_below_F", "G >= F (equal sizes)"),
          ("mixing_in_shuffled_range", "mixing in shuffled range"),
          ("neighbours_at_least_baseline", "neighbours >= baseline"),
          ("label_accuracy_at_least_baseline", "label accuracy >= baseline")]


def fmt(v):
    if v is None:
        return "-"
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def frac(v):
    return "-" if v is None else f"{v:.3f}"


def pct(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def load(path):
    with IntegrateFile(path) as f:
        return f.report, f.code, f.sections, f.source_file


def section(path, figures):
    report, code, par, source = load(path)
    name = os.path.basename(path)[:-3] if path.endswith(".h5") else os.path.basename(path)
    it, tr, dv = par["integrate"], par["transport"], par["divergence"]
    out = [f"## {name}", ""]
    out.append(f"`{os.path.basename(source)}`: {report['samples']['source']} source and "
               f"{report['samples']['target']} target samples, {report['genes']} genes, "
               f"k = {report['components']} components, latent scale {fmt(it['latent_scale'])}; "
               f"L = {fmt(dv['L'])}, {tr['max_steps']} {tr['integrator']} steps of dt "
               f"{fmt(tr['dt'])}. Code {code.get('git_revision', '?')}, "
               f"{code.get('mpi_ranks', '?')} ranks.")
    out.append("")
    if figures:
        out += [f"![{name}: PC1/PC2 before, GPA, baseline]({figures}/{name}.pca.png)", ""]
    out += ["Gene space, debiased Sinkhorn divergence (blur 0.05). F is the floor: two random "
            "halves of the target class; the `half` columns score a source subset of the first "
            "half's size against the second half, as F does.", "",
            "| label | samples (source/target) | D | S/D | G/D | F | D half | S half | G half |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for lab, v in report["labels"].items():
        g = v["gene"]
        out.append(f"| {lab} | {v['source_samples']}/{v['target_samples']} | {fmt(g['D'])} | "
                   f"{pct(g['S/D'])} | {pct(g['G/D'])} | {fmt(g['F'])} +- {g['F_sd']:.2g} | "
                   f"{fmt(g['D_half'])} | {fmt(g['S_half'])} | {fmt(g['G_half'])} |")
    out += ["", "| label | label accuracy before/baseline/gpa | mixing gpa (shuffled) | "
            "neighbours kept baseline/gpa | memorisation ratio before/baseline/gpa | "
            + " | ".join(c[1] for c in CHECKS) + " |",
            "| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in CHECKS) + " |"]
    passed = total = 0
    for lab, v in report["labels"].items():
        m = v["batch_mixing"]
        ch = [v["checks"][c[0]] for c in CHECKS]
        passed += sum(ch)
        total += len(ch)
        out.append(f"| {lab} | {frac(v['label_accuracy_before'])} / "
                   f"{frac(v['label_accuracy_baseline'])} / {frac(v['label_accuracy_after'])} | "
                   f"{frac(m['after'])} ({frac(m['shuffled_min'])}-{frac(m['shuffled_max'])}) | "
                   f"{frac(v['neighbours_kept_baseline'])} / {frac(v['neighbours_kept'])} | "
                   f"{frac(v['memorisation_ratio']['before'])} / "
                   f"{frac(v['memorisation_ratio']['baseline'])} / "
                   f"{frac(v['memorisation_ratio']['after'])} | "
                   + " | ".join("yes" if c else "no" for c in ch) + " |")
    out += ["", f"Checks passed: {passed} of {total}.", ""]
    base = [lab for lab, v in report["labels"].items() if v.get("baseline_below_floor")]
    src = [lab for lab, v in report["labels"].items() if v.get("source_below_floor")]
    if base:
        out.append(f"- The baseline is below the floor (S < F) for {', '.join(base)}: it fits "
                   "the target sample. For these labels \"G/D < S/D\" and \"G not below F\" "
                   "exclude each other as F is defined (two halves of the target), whatever "
                   "the correction.")
    if src:
        out.append(f"- The uncorrected source is already below the floor at equal sizes for "
                   f"{', '.join(src)}: the batch effect is within the target's own sampling "
                   "spread, so any move towards the target takes the equal-size score below F.")
    memo = {lab: v["memorisation_ratio"]["after"] for lab, v in report["labels"].items()}
    low = [lab for lab, m in memo.items() if m is not None and m < 0.5]
    vals = [m for m in memo.values() if m is not None]
    if vals and not low:
        out.append(f"- The memorisation ratio of the corrected samples (median distance to the "
                   f"nearest target over the targets' own, in the latent space) is "
                   f"{min(vals):.3f} to {max(vals):.3f}: no label collapsed onto its target "
                   "samples (fresh samples score near 1, copies near 0).")
    elif low:
        out.append(f"- The memorisation ratio is below 0.5 for {', '.join(low)}: the corrected "
                   "samples sit on the target samples (memorisation, not correction).")
    out.append("")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="gpa integrate outputs (OUT.h5)")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    ap.add_argument("--figures", help="folder of NAME.pca.png, as linked from the report")
    a = ap.parse_args(argv)
    lines = ["# Dataset integration: the demonstrations", "",
             "Written by `postproc/integration_report.py` from the outputs of "
             "`jobs/integrate_demos.sh`; every number is read from the runs' stored reports.", "",
             "D, S and G are the debiased Sinkhorn divergences of the source, the baseline "
             "(per-label, per-gene mean/std adjustment) and the GPA-corrected source to the "
             "target (the paper's Table 4). The five checks per label: G/D below S/D; G not "
             "below the sampling floor F (compared at F's sample sizes); 5-NN batch mixing of "
             "corrected source and target inside the range of shuffled batch labels; the "
             "fraction of 5 nearest source neighbours kept at least the baseline's; 5-NN label "
             "accuracy against the target at least the baseline's.", ""]
    for path in a.runs:
        try:
            sec = section(path, a.figures)
        except GpaFileError as e:
            sys.exit(f"integration_report.py: {path}: {e.reason}")
        except OSError as e:
            sys.exit(f"integration_report.py: {path}: cannot read it as HDF5 ({e.strerror or e})")
        except (KeyError, ValueError) as e:
            sys.exit(f"integration_report.py: {path}: {e}")
        lines += sec
    text = "\n".join(lines).rstrip() + "\n"
    if a.output:
        tmp = a.output + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, a.output)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()

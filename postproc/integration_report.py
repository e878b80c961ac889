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

# The bar of issue 13, as the report's "bar" holds it: (key, column heading).
BAR = [("memorisation_ratio", "1 memorisation >= 0.9"), ("floor_latent", "2 G half >= 0.9 F, latent"),
       ("floor_gene", "2 G half >= 0.9 F, gene"), ("mixing_in_band", "3 pooled mixing in band"),
       ("neighbours_kept", "4 neighbours >= 0.9 x baseline"),
       ("gap_closed_latent", "5 gap closed >= 0.7, latent"), ("gap_closed_gene", "5 gap closed >= 0.7, gene"),
       ("truth", "6 truth")]


def fmt(v):
    if v is None:
        return "-"
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def frac(v):
    return "-" if v is None else f"{v:.3f}"


def pct(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def check(c):
    """One check of the bar: its figure and pass, FAIL or n/a."""
    if c["pass"] is None:
        return "n/a" if c["value"] is None else f"{fmt(c['value'])} n/a"
    return f"{fmt(c['value'])} {'pass' if c['pass'] else 'FAIL'}"


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
            "half's size against the second half, as F does. The gap closed is "
            "(D half - G half) / (D half - F) where D half > 1.1 F.", "",
            "| label | samples (source/target) | D | S/D | G/D | F | D half | S half | G half | "
            "gap closed gpa / baseline |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    sets = list(report["labels"].items()) + [("pooled", report["pooled"])]
    for lab, v in sets:
        g = v["gene"]
        out.append(f"| {lab} | {v['source_samples']}/{v['target_samples']} | {fmt(g['D'])} | "
                   f"{pct(g['S/D'])} | {pct(g['G/D'])} | {fmt(g['F'])} +- {fmt(g['F_sd'])} | "
                   f"{fmt(g['D_half'])} | {fmt(g['S_half'])} | {fmt(g['G_half'])} | "
                   f"{frac(g['gap_closed'])} / {frac(g['gap_closed_baseline'])} |")
    out += ["", "Neighbour statistics in gene space, as `shared/bench/integration_eval.py` defines "
            "them: batch mixing is the leave-one-out 5-NN balanced accuracy of source against "
            "target (0.5: mixed) beside the 5-95% band of its permutations; the pass/fail of the "
            "mixing is the pooled one.", "",
            "| set | label accuracy before/baseline/gpa | mixing before / baseline / gpa (band) | "
            "neighbours kept baseline/gpa | memorisation ratio before/baseline/gpa |",
            "| --- | --- | --- | --- | --- |"]
    for lab, v in sets:
        m = v["batch_mixing"]
        out.append(f"| {lab} | {frac(v['label_accuracy_before'])} / "
                   f"{frac(v['label_accuracy_baseline'])} / {frac(v['label_accuracy_after'])} | "
                   f"{frac(m['before']['balanced_accuracy'])} / {frac(m['baseline']['balanced_accuracy'])} / "
                   f"{frac(m['after']['balanced_accuracy'])} ({frac(m['after']['null_q05'])}-"
                   f"{frac(m['after']['null_q95'])}) | "
                   f"{frac(v['neighbours_kept_baseline'])} / {frac(v['neighbours_kept'])} | "
                   f"{frac(v['memorisation_ratio']['before'])} / "
                   f"{frac(v['memorisation_ratio']['baseline'])} / "
                   f"{frac(v['memorisation_ratio']['after'])} |")
    pooled = report["pooled"]
    if "pairing_kept" in pooled:
        pk = pooled["pairing_kept"]
        out += ["", f"Pairs kept ({pk['pair_key']}; {pk['with_partner']} sources with a partner, "
                f"whose nearest source is a partner): before {frac(pk['before'])}, baseline "
                f"{frac(pk['baseline'])}, gpa {frac(pk['after'])}."]
    if "truth" in pooled:
        out += ["", "Truth (`shared/bench/truth_eval.py`): distance to the batch-free twin in the "
                "latent space, and the truth-neighbour error (10 nearest targets, in the true "
                "latent state) beside its oracle.", "",
                "| set | twin distance before/baseline/gpa | error before/baseline/gpa | oracle |",
                "| --- | --- | --- | --- |"]
        for lab, v in sets:
            t = v["truth"]
            tw, er = t["twin_distance_latent"], t["truth_neighbour_error"]
            out.append(f"| {lab} | {fmt(tw['before'])} / {fmt(tw['baseline'])} / {fmt(tw['after'])} | "
                       f"{fmt(er['before'])} / {fmt(er['baseline'])} / {fmt(er['after'])} | "
                       f"{fmt(t['oracle'])} |")
    out += ["", "The bar (issue 13): each check's figure, and pass, FAIL or n/a (not applicable).", "",
            "| set | " + " | ".join(b[1] for b in BAR) + " |",
            "| --- | " + " | ".join("---" for _ in BAR) + " |"]
    for lab, v in sets:
        out.append(f"| {lab} | " + " | ".join(check(v["bar"][b[0]]) for b in BAR) + " |")
    b = report["bar"]
    out += ["", f"Bar: {'PASS' if b['pass'] else 'FAIL'}, {b['checks_passed']} of "
            f"{b['checks_passed'] + b['checks_failed']} checks pass ({b['not_applicable']} not "
            "applicable)" + (f"; failed: {', '.join(b['failed'])}." if b["failed"] else "."), ""]
    base = [lab for lab, v in report["labels"].items() if v.get("baseline_below_floor")]
    src = [lab for lab, v in report["labels"].items() if v.get("source_below_floor")]
    if base:
        out.append(f"- The baseline is below the floor (S < F) for {', '.join(base)}: it fits "
                   "the target sample.")
    if src:
        out.append(f"- The uncorrected source is already below the floor at equal sizes for "
                   f"{', '.join(src)}: the batch effect is within the target's own sampling "
                   "spread, so any move towards the target takes the equal-size score below F.")
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
             "target (the paper's Table 4). The bar of issue 13, per label and pooled: "
             "memorisation ratio >= 0.9; G at equal sizes >= 0.9 F in latent and gene space; "
             "pooled batch mixing inside its permutation band; neighbours kept >= 0.9 x the "
             "baseline's; gap closed >= 0.7 where D half > 1.1 F; with synthetic truth, the "
             "truth-neighbour error at most baseline - 0.5 x (baseline - oracle) and the twin "
             "nearer than the baseline's.", ""]
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

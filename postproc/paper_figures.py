#!/usr/bin/python3
"""Figures and the results report of the paper suite.

usage: paper_figures.py OUTDIR [--docs DOCSDIR]

OUTDIR is the folder that jobs/paper_suite.sh filled (run files NAME.h5, `gpa metrics` outputs
NAME.metrics.txt, commands NAME.cmd, timings.tsv). Draws one PNG per experiment into
DOCSDIR/paper/ and writes DOCSDIR/paper-results.md (DOCSDIR: the repository's docs/ by
default): for each experiment the paper's claim, our settings and our measurement side by side.
Every measured number is computed here from the run files; every figure's foot shows the code
version and the parameters read from the runs it draws. The sections are written by
paper_stability.py (Figs. 2-3, 11, SM3.2) and paper_samples.py (Table 1, Figs. 7, 1, 6, 13).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paper_samples  # noqa: E402
import paper_stability  # noqa: E402
from paper_common import REPO, Suite, deck_note, fmt, table, versions_line  # noqa: E402

SECTIONS = (paper_stability.lstudy, paper_stability.r12, paper_samples.heavy,
            paper_samples.sierpinski, paper_samples.swissroll, paper_samples.imbalanced,
            paper_stability.smooth)


def overview(suite, res):
    """One row per experiment: the paper's claim beside our headline numbers."""
    label, verdict = res["lstudy_label"], res["lstudy_verdict"]
    ls = "; ".join(f"{label(suite[name])}: {verdict(name)}" for name in res["lstudy_names"])
    osc = "; ".join(f"{s} {', '.join(fmt(o) for o in v)}" for s, v in res["r12_osc"].items())
    carpet = "; ".join(
        f"{name[-2:]}: Sinkhorn {fmt(v['sink'] / v['floor'])}x the floor, "
        f"{100 * v['on']:.0f}% on the carpet, hole levels resolved "
        f"{', '.join(map(str, res['carpet_resolved'][name])) or 'none'} of 4"
        for name, v in res["carpet"].items())
    est, nn = res["swiss"], res["swiss_nn"]
    ratios = res["imb"]
    sm = res["smooth"]
    rows = [
        ["Figs. 2-3, L study", "L = 1, 10, 100: KE decays, particles stop near the targets; "
         "L = inf does not converge", f"seed 0: {ls}"],
        ["Fig. 11, R^12", "Euler oscillates in the 10 extra coordinates, Heun converges",
         f"oscillation index (step / spread; > 1: oscillating), seeds 0, 1, 2: {osc}. "
         f"End states: {res['r12_states']}"],
        ["Table 1, heavy tails", "KL unstable for very heavy tails (rows 3, 4, 8 "
         "'diverged at'); alpha = 2 stable",
         f"diverged: KL {res['heavy_div']['KL']}/{res['heavy_cases']}, alpha = 2 "
         f"{res['heavy_div']['alpha = 2']}/{res['heavy_cases']}"],
        ["Figs. 7 and 1, carpet", "particles approximate the level-4 carpet, in 2-D and on a "
         "plane in 3-D", carpet],
        ["Fig. 6, Swiss roll", "the augmented set's divergence stays below the run's D",
         f"augmented set {fmt(est['augment'])} (the run's D {fmt(res['swiss_d_aug'])}), fresh "
         f"samples {fmt(est['holdout'])}; augmented points {fmt(nn['holdout'] / nn['augment'])}x "
         f"closer to the data than fresh samples; generated particles {fmt(est['generated'])}"],
        ["Fig. 13, memorisation", "N = M memorises the targets, N = 3-5 M keeps diversity",
         f"memorisation ratio N = M {fmt(ratios[0])}, N = 5 M {fmt(ratios[1])} (1: like "
         "fresh samples)"],
        ["SM3.2, smooth ReLU", "smooth phi lets a small dt stop without oscillating",
         "; ".join(f"{k}: KE at the end {fmt(v[0])}, W2 {fmt(v[2])}" for k, v in sm.items())],
    ]
    return table(["experiment", "paper", "this suite"], rows)


def chosen_settings():
    """The decks' "Chosen by us" notes, decks with the same note on one line."""
    decks = sorted(f[:-4] for f in os.listdir(os.path.join(REPO, "inputs", "paper"))
                   if f.endswith(".yml"))
    groups = {}
    for d in decks:
        note = deck_note(d)
        if note:
            groups.setdefault(note, []).append(f"`{d}.yml`")
    return "\n".join(f"- {', '.join(names)}: {note}" for note, names in groups.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", help="folder written by jobs/paper_suite.sh")
    ap.add_argument("--docs", default=os.path.join(REPO, "docs"),
                    help="where paper-results.md and paper/*.png go (default: docs/)")
    args = ap.parse_args()
    suite = Suite(args.outdir)
    figdir = os.path.join(args.docs, "paper")
    os.makedirs(figdir, exist_ok=True)
    res, parts = {}, []
    for section in SECTIONS:
        text, numbers = section(suite, figdir)
        parts.append(text)
        res.update(numbers)
        print(f"paper_figures.py: {section.__name__} done")
    runs = suite.loaded()
    total = suite.timings.get("TOTAL")
    ranks = sorted({r.code.get("mpi_ranks") for r in runs})
    timing_rows = [[f"`{r.name}`", r.status.split(":")[0], r.steps,
                    fmt(suite.timings.get(r.name))] for r in runs]
    commands = "\n".join(r.command for r in runs if r.command)
    report = f"""# The paper's low-dimensional experiments: claims and measurements

Generated by `postproc/paper_figures.py` from the runs of `jobs/paper_suite.sh` (every deck in
`inputs/paper/`, each a normal `gpa run`); every measured number below is read or computed from
those run files. Code: {versions_line(runs)}. The {len(runs)} runs took
{fmt(total)} s ({fmt(total / 60 if total else None)} min) of wall time in all, one at a time on
{', '.join(map(str, ranks))} MPI ranks (`gpa metrics` included).
The paper is *Lipschitz-regularized gradient flows and generative particle algorithms for
high-dimensional scarce data*; our copy of its text lost its formulas and table entries, so
where a setting or a number is missing we say what we chose (the last sections list it all).

To reproduce: `bash jobs/paper_suite.sh OUTDIR 2` (the runs, then this report and the
figures); `postproc/paper_figures.py OUTDIR` redraws from existing runs.

## Summary

{overview(suite, res)}

{chr(10).join(parts)}
## Settings we chose where the paper is silent

The paper's own settings are those of ALGORITHM.md section 9 (from the reference code). From
the header comments of the decks (`inputs/paper/*.yml`):

{chosen_settings()}

## Runs

{table(["run", "status", "steps", "wall time (s)"], timing_rows)}

Exact commands ($REPO: the checkout, $OUT: the output folder):

```
{commands}
```
"""
    path = os.path.join(args.docs, "paper-results.md")
    with open(path, "w") as f:
        f.write(report)
    print(f"paper_figures.py: wrote {path} and {figdir}/*.png")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Compact table of results/*.json: per data set and method, the bar's figures."""
import glob, json, sys
rows = {}
for f in sorted(glob.glob((sys.argv[1] if len(sys.argv) > 1 else "results") + "/*.json")):
    if f.endswith(".eval.json"): continue
    r = json.load(open(f))
    pl = r["per_label"].values()
    memo = min(x["memo"] for x in pl)
    gf = min(min(x["latent"]["G_over_F"], x["gene"]["G_over_F"]) for x in pl)
    gaps = [x[s]["gap_closed"] for x in pl for s in ("latent", "gene") if x[s]["gap_closed"] is not None]
    ml, mg = r["mixing_latent"], r["mixing_gene"]
    t = r.get("truth")
    tr = (f" TNE {t['gpa'][2]:.3f}/bar {t['baseline'][2] - 0.5 * (t['baseline'][2] - t['oracle']):.3f}"
          f" lat {t['gpa'][0]:.2f}/base {t['baseline'][0]:.2f}") if t else ""
    ok = "".join("+" if v else "-" for v in r["bar"].values())
    print(f"{r['dataset']:8s} {r['method']:22s} {ok:6s} memo>={memo:.2f} Gh/F>={gf:.2f} gap>={min(gaps) if gaps else float('nan'):.2f}"
          f" mixL {ml['balanced_acc']:.3f}[{ml['null_q05']:.2f},{ml['null_q95']:.2f}] mixG {mg['balanced_acc']:.3f}[{mg['null_q05']:.2f},{mg['null_q95']:.2f}]"
          f" NKg {r['neigh_kept_gene']:.3f}/{0.9 * r['baseline_neigh_kept']['gene']:.3f}{tr}")

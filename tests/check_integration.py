#!/usr/bin/python3
"""check_integration.py OUT.h5 DATA.h5 REPORT.json [--bench DIR] [--pair-key KEY]

The integrated file has the layout and contents promised, the correction of batch 1 brought it
closer to the batch-free truth (/X_ref of DATA.h5) than the uncorrected data, in distribution
(energy distance), and the report's figures are what the independent evaluators say they are:
recomputed here from OUT.h5 and DATA.h5 with the definitions of shared/bench/integration_eval.py
and truth_eval.py (their own functions when --bench DIR holds integration_eval.py and it
imports, else the copies below), so that a definition that drifts fails:

  * the baseline is the paper's (scikit-learn's StandardScaler per label and gene: population
    standard deviation, a constant gene scaled by 1);
  * batch mixing (leave-one-out 5-NN balanced accuracy and accuracy, gene space, pooled and per
    label; latent, pooled) to 1e-6, its 5-95% permutation band within Monte-Carlo noise;
  * neighbours kept (pooled and per label) and pairs kept (KEY) to 1e-6;
  * the truth metrics (distance to the twin, truth-neighbour error, oracle) to 1e-5;
  * with the evaluator: D, S and G (Sinkhorn) in gene space to 1e-5;
  * the gap closed from the report's own D_half, G_half and F, and every check of the bar
    (and the overall line) from the figures it names.
"""
import argparse
import json
import math
import os
import sys

import h5py
import numpy as np

# ----------------------------------------------------------------------------------------------
# Copies of the evaluator's definitions (shared/bench/integration_eval.py), used without it.


def _neighbours(X, k):
    """Indices of the k nearest other rows (Euclidean), ties broken by index."""
    sq = (X * X).sum(1)
    d = sq[:, None] + sq[None, :] - 2.0 * X @ X.T
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def loo_batch_mixing(Xa, Xb, k, n_perm=500, seed=0):
    X = np.vstack([Xa, Xb])
    y = np.r_[np.zeros(len(Xa), int), np.ones(len(Xb), int)]
    nb = _neighbours(X - X.mean(0), k)

    def score(lab):
        votes = lab[nb].mean(1)
        pred = (votes > 0.5).astype(int)
        if k % 2 == 0:
            tie = votes == 0.5
            pred[tie] = lab[nb[tie, 0]]
        return 0.5 * ((pred[lab == 0] == 0).mean() + (pred[lab == 1] == 1).mean()), (pred == lab).mean()

    bal, acc = score(y)
    rng = np.random.default_rng(seed)
    null = np.array([score(rng.permutation(y))[0] for _ in range(n_perm)])
    return {"balanced_acc": float(bal), "acc": float(acc), "null_mean": float(null.mean()),
            "null_q05": float(np.quantile(null, 0.05)), "null_q95": float(np.quantile(null, 0.95))}


def neighbour_preservation(Xbefore, Xafter, k):
    nb0 = _neighbours(Xbefore - Xbefore.mean(0), k)
    nb1 = _neighbours(Xafter - Xafter.mean(0), k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(nb0, nb1)]))


def pairing_kept(X, subject):
    nb = _neighbours(X - X.mean(0), 1)[:, 0]
    has = np.array([(subject == s).sum() > 1 for s in subject])
    return float((subject[nb] == subject)[has].mean())


def _scaler(X):
    """scikit-learn StandardScaler's mean_ and scale_ (float64, corrected two-pass variance,
    a near-constant feature scaled by 1)."""
    n = X.shape[0]
    mean = X.sum(0) / n
    t = X - mean
    var = ((t * t).sum(0) - t.sum(0) ** 2 / n) / n
    eps = np.finfo(np.float64).eps
    const = var <= n * eps * var + (n * mean * eps) ** 2
    return mean, np.where(const, 1.0, np.sqrt(np.maximum(var, 0)))


def meanstd_baseline(Xs, Xt, ls, lt):
    Xc = Xs.copy()
    for c in np.unique(ls):
        rows = ls == c
        ms, ss = _scaler(Xs[rows])
        mt, st = _scaler(Xt[lt == c])
        Xc[rows] = (Xs[rows] - ms) / ss * st + mt
    return Xc


def load_evaluator(bench):
    """shared/bench/integration_eval.py as a module, or None."""
    if not bench or not os.path.exists(os.path.join(bench, "integration_eval.py")):
        return None
    sys.path.insert(0, bench)
    try:
        import integration_eval
        return integration_eval
    except Exception as e:  # torch or scikit-learn missing
        print(f"note: {bench}/integration_eval.py does not import ({e}); using the copies")
        return None


# ----------------------------------------------------------------------------------------------


def energy(a, b):
    def mean_dist(x, y):
        return np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)).mean()
    return 2 * mean_dist(a, b) - mean_dist(a, a) - mean_dist(b, b)


def close(a, b, rel, what, abs_=0.0):
    assert a is not None and b is not None and abs(a - b) <= rel * abs(b) + abs_, (what, a, b)


def check_layout(out, data):
    """The file's layout, /runs, and the correction approaching the truth."""
    with h5py.File(out, "r") as f, h5py.File(data, "r") as d:
        assert f.attrs["format"] == b"gpa-integrated", f.attrs["format"]
        X, origin = f["/X"][()], f["/obs/origin"][()]
        n_src = int((origin == 0).sum())
        k = f["/latent"].shape[1]
        assert X.dtype == np.float32 and X.shape == (120, 60), X.shape
        assert f["/baseline/X"].shape == X.shape and f["/latent_before"].shape == (120, k)
        assert f["/pca/components"].shape == (k, 60) and f["/pca/mean"].shape == (60,)
        comps = f["/pca/components"][()]
        assert np.allclose(comps @ comps.T, np.eye(k), atol=1e-10), "components not orthonormal"
        assert list(f["/var/gene_ids"][()]) == list(d["/var/gene_ids"][()])
        assert [s for s in f["/obs/label_names"][()]] == [b"alpha", b"beta", b"gamma"]
        ev = f["/pca/explained_variance_ratio"][()]
        assert np.all(np.diff(ev) <= 1e-12) and ev.sum() <= 1 + 1e-9
        truth = d["/X_ref"][()][d["/obs/batch"][()] == 1]
        before = d["/X"][()][d["/obs/batch"][()] == 1]
        corrected, baseline = X[:n_src], f["/baseline/X"][()][:n_src]
        e_before, e_gpa, e_base = energy(before, truth), energy(corrected, truth), energy(baseline, truth)
        print(f"energy distance to the batch-free truth: before {e_before:.3f}, "
              f"baseline {e_base:.3f}, gpa {e_gpa:.3f}")
        assert e_gpa < 0.5 * e_before, "the correction did not approach the truth"
        files = [s.decode() for s in f["/labels/run_files"][()]]
        assert len(files) == 3
        # Each label's transport started from its rows in /runs/<label> (latent / latent_scale),
        # and the deck its run file records reads them there.
        scale = float(np.ravel(f["/pca"].attrs["latent_scale"])[0])
        label, z = f["/obs/label"][()], f["/latent_before"][()]
        for c, (name, run) in enumerate(zip(("alpha", "beta", "gamma"), files)):
            g = f[f"/runs/{name}"]
            assert g.attrs["label"] == name.encode() and g.attrs["run_file"] == run.encode()
            assert np.array_equal(g["source"][()], z[(label == c) & (origin == 0)] / scale), name
            assert np.array_equal(g["target"][()], z[(label == c) & (origin == 1)] / scale), name
            with h5py.File(run, "r") as r:
                for side in ("source", "target"):
                    a = r[f"/parameters/{side}"].attrs
                    assert (a["kind"], a["file"], a["dataset"]) == (
                        b"file", out.encode(), f"/runs/{name}/{side}".encode()), (name, side)
                assert np.array_equal(r["/particles/initial"][()], g["source"][()]), name


def load(out, data, pair_key):
    """The sets the report measures, from the output and the data (every sample: the test's
    sets are below metric_samples)."""
    with h5py.File(out, "r") as f, h5py.File(data, "r") as d:
        origin, label = f["/obs/origin"][()], f["/obs/label"][()]
        ids = list(d["/obs/sample_ids"][()])
        rows = np.array([ids.index(s) for s in f["/obs/sample_ids"][()]])
        s, t = origin == 0, origin == 1
        x = {"Xs": d["/X"][()][rows[s]].astype(np.float64), "Xt": f["/X"][()][t].astype(np.float64),
             "Xc": f["/X"][()][s].astype(np.float64), "Xb": f["/baseline/X"][()][s].astype(np.float64),
             "ls": label[s], "lt": label[t], "Zs": f["/latent_before"][()][s], "Zc": f["/latent"][()][s],
             "Zt": f["/latent_before"][()][t], "mu": f["/pca/mean"][()], "V": f["/pca/components"][()],
             "Xr": d["/X_ref"][()][rows[s]].astype(np.float64), "zs": d["/obs/latent"][()][rows[s]],
             "zt": d["/obs/latent"][()][rows[t]], "names": [n.decode() for n in f["/obs/label_names"][()]]}
        x["Xt_file"] = d["/X"][()][rows[t]].astype(np.float64)
        x["pair"] = d[f"/obs/{pair_key}"][()][rows[s]] if pair_key else None
    x["Zb"] = (x["Xb"] - x["mu"]) @ x["V"].T
    return x


def check_baseline(x, ev):
    assert np.array_equal(x["Xt"], x["Xt_file"]), "target rows changed"
    fn = ev.meanstd_baseline if ev else meanstd_baseline
    want = fn(x["Xs"], x["Xt"], x["ls"], x["lt"])
    err = np.abs(x["Xb"] - want).max()
    assert err <= 1e-5 * max(1.0, np.abs(want).max()), ("baseline", err)
    print(f"ok: /baseline/X is the paper's baseline (max difference {err:.2g})")


def check_mixing(r, x, ev):
    mix = ev.loo_batch_mixing if ev else loo_batch_mixing
    p = r["pooled"]
    for key, sets, tgt in (("batch_mixing", ("Xs", "Xb", "Xc"), "Xt"),
                           ("batch_mixing_latent", ("Zs", "Zb", "Zc"), "Zt")):
        for name, s in zip(("before", "baseline", "after"), sets):
            want, got = mix(x[s], x[tgt], 5), p[key][name]
            close(got["balanced_accuracy"], want["balanced_acc"], 0, (key, name), 1e-6)
            close(got["accuracy"], want["acc"], 0, (key, name), 1e-6)
            for q in ("null_q05", "null_q95", "null_mean"):  # other permutations: noise only
                close(got[q], want[q], 0, (key, name, q), 0.06)
    for c, name in enumerate(x["names"]):
        rs, rt = x["ls"] == c, x["lt"] == c
        want = mix(x["Xc"][rs], x["Xt"][rt], 5)
        close(r["labels"][name]["batch_mixing"]["after"]["balanced_accuracy"],
              want["balanced_acc"], 0, ("label mixing", name), 1e-6)
    print(f"ok: batch mixing (pooled {p['batch_mixing']['after']['balanced_accuracy']:.3f}, band "
          f"{p['batch_mixing']['after']['null_q05']:.3f}-{p['batch_mixing']['after']['null_q95']:.3f}) "
          "as the evaluator's loo_batch_mixing")


def check_kept(r, x, ev, pair_key):
    keep = ev.neighbour_preservation if ev else neighbour_preservation
    pairs = ev.pairing_kept if ev else pairing_kept
    p = r["pooled"]
    close(p["neighbours_kept"], keep(x["Xs"], x["Xc"], 5), 0, "kept", 1e-6)
    close(p["neighbours_kept_baseline"], keep(x["Xs"], x["Xb"], 5), 0, "kept baseline", 1e-6)
    nb0 = _neighbours(x["Xs"] - x["Xs"].mean(0), 5)
    nb1 = _neighbours(x["Xc"] - x["Xc"].mean(0), 5)
    row = np.array([len(set(a) & set(b)) / 5 for a, b in zip(nb0, nb1)])
    for c, name in enumerate(x["names"]):
        close(r["labels"][name]["neighbours_kept"], row[x["ls"] == c].mean(), 0, name, 1e-6)
    if pair_key:
        pk = p["pairing_kept"]
        assert pk["pair_key"] == pair_key and pk["with_partner"] == len(x["Xs"]), pk
        for name, s in (("before", "Xs"), ("baseline", "Xb"), ("after", "Xc")):
            close(pk[name], pairs(x[s], x["pair"]), 0, ("pairs", name), 1e-6)
    print(f"ok: neighbours kept (gpa {p['neighbours_kept']:.3f}, baseline "
          f"{p['neighbours_kept_baseline']:.3f}) and pairs kept as the evaluator's")


def check_truth(r, x):
    """truth_eval.py's figures, with brute-force 10-NN."""
    enc = lambda A: (A - x["mu"]) @ x["V"].T  # noqa: E731
    Zt, zr = enc(x["Xt"]), enc(x["Xr"])
    rows = {}
    for name, s in (("before", "Xs"), ("baseline", "Xb"), ("after", "Xc")):
        ZA = enc(x[s])
        d = ((ZA[:, None, :] - Zt[None, :, :]) ** 2).sum(-1)
        idx = np.argsort(d, axis=1, kind="stable")[:, :10]
        te = np.linalg.norm(x["zt"][idx] - x["zs"][:, None, :], axis=2).mean(1)
        rows[name] = (np.linalg.norm(ZA - zr, axis=1), np.linalg.norm(x[s] - x["Xr"], axis=1), te)
    d = ((x["zs"][:, None, :] - x["zt"][None, :, :]) ** 2).sum(-1)
    idx = np.argsort(d, axis=1, kind="stable")[:, :10]
    oracle = np.linalg.norm(x["zt"][idx] - x["zs"][:, None, :], axis=2).mean(1)
    sets = [("pooled", r["pooled"], np.ones(len(x["ls"]), bool))]
    sets += [(n, r["labels"][n], x["ls"] == c) for c, n in enumerate(x["names"])]
    for set_name, v, m in sets:
        t = v["truth"]
        for name in ("before", "baseline", "after"):
            lat, gene, te = (a[m].mean() for a in rows[name])
            close(t["twin_distance_latent"][name], lat, 1e-5, (set_name, name, "twin latent"))
            close(t["twin_distance_gene"][name], gene, 1e-5, (set_name, name, "twin gene"))
            close(t["truth_neighbour_error"][name], te, 1e-5, (set_name, name, "error"))
        close(t["oracle"], oracle[m].mean(), 1e-5, (set_name, "oracle"))
    print(f"ok: truth metrics as truth_eval.py (error gpa {r['pooled']['truth']['truth_neighbour_error']['after']:.3f}, "
          f"oracle {r['pooled']['truth']['oracle']:.3f})")


def check_sinkhorn(r, x, ev):
    if not ev:
        print("note: no evaluator: D, S and G are not recomputed")
        return
    sets = [("pooled", r["pooled"], np.ones(len(x["ls"]), bool), np.ones(len(x["lt"]), bool))]
    sets += [(n, r["labels"][n], x["ls"] == c, x["lt"] == c) for c, n in enumerate(x["names"])]
    for name, v, ms, mt in sets:
        for key, s in (("D", "Xs"), ("S", "Xb"), ("G", "Xc")):
            want = ev.sinkhorn_divergence(x[s][ms], x["Xt"][mt])
            close(v["gene"][key], want, 1e-5, (name, key))
    print("ok: D, S and G in gene space as the evaluator's Sinkhorn divergence")


def check_bar(r):
    """Every check from the figures it names; the overall line from the checks."""
    sets = [("label " + n, v, False) for n, v in r["labels"].items()] + [("pooled", r["pooled"], True)]
    passed = failed = na = 0
    for name, v, pooled in sets:
        b = v["bar"]
        for sp in ("latent", "gene"):
            h = v[sp]
            if h["D_half"] > 1.1 * h["F"]:
                close(h["gap_closed"], (h["D_half"] - h["G_half"]) / (h["D_half"] - h["F"]), 1e-4, (name, sp))
            else:
                assert h["gap_closed"] is None and b[f"gap_closed_{sp}"]["pass"] is None, (name, sp)
        rules = {
            "memorisation_ratio": (v["memorisation_ratio"]["after"], 0.9),
            "floor_latent": (v["latent"]["G_half"], 0.9 * v["latent"]["F"]),
            "floor_gene": (v["gene"]["G_half"], 0.9 * v["gene"]["F"]),
            "neighbours_kept": (v["neighbours_kept"], 0.9 * v["neighbours_kept_baseline"]),
            "gap_closed_latent": (v["latent"]["gap_closed"], 0.7),
            "gap_closed_gene": (v["gene"]["gap_closed"], 0.7),
        }
        for key, (value, low) in rules.items():
            if value is None or abs(value - low) <= 1e-5 * abs(low):
                continue  # not applicable, or too near the threshold for 6 printed digits
            assert b[key]["pass"] == (value >= low), (name, key, value, low, b[key])
        m = v["batch_mixing"]["after"]
        assert b["mixing_in_band"]["pass"] == (
            (m["null_q05"] <= m["balanced_accuracy"] <= m["null_q95"]) if pooled else None), (name, b)
        if "truth" in v:
            t = v["truth"]
            base, err = t["truth_neighbour_error"]["baseline"], t["truth_neighbour_error"]["after"]
            want = err <= base - 0.5 * (base - t["oracle"]) and \
                t["twin_distance_latent"]["after"] < t["twin_distance_latent"]["baseline"]
            assert b["truth"]["pass"] == want, (name, b["truth"])
        for c in b.values():
            passed += c["pass"] is True
            failed += c["pass"] is False
            na += c["pass"] is None
    o = r["bar"]
    assert (o["checks_passed"], o["checks_failed"], o["not_applicable"]) == (passed, failed, na), o
    assert o["pass"] == (failed == 0) and len(o["failed"]) == failed, o
    print(f"ok: the bar's {passed + failed + na} checks follow from their figures "
          f"({passed} pass, {failed} fail, {na} n/a)")


def check_report(r):
    """The report's shape, and what the known batch effect implies."""
    for name, v in list(r["labels"].items()) + [("pooled", r["pooled"])]:
        for space in ("latent", "gene"):
            assert set("DRSGF") <= set(v[space]), v[space].keys()
            assert v[space]["G"] < v[space]["D"], (name, space, v[space])
            h = v[space]
            assert h["F"] > 0 and h["D_half"] > 0 and h["G_half"] > 0, (name, space, h)
        for key in ("label_accuracy_before", "label_accuracy_after", "neighbours_kept"):
            assert 0 <= v[key] <= 1, (name, key, v[key])
        g = v["gene"]
        assert v["baseline_below_floor"] == (g["S"] < g["F"]), (name, g)
        assert v["source_below_floor"] == (g["D_half"] < g["F"]), (name, g)
        # With a known batch effect the source starts far from its nearest targets; the
        # correction brings it nearer without collapsing onto them.
        m = v["memorisation_ratio"]
        assert m["before"] > 2 and 0.3 < m["after"] < m["before"], (name, m)
        assert len(v["bar"]) == 8, v["bar"].keys()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("data")
    ap.add_argument("report")
    ap.add_argument("--bench", help="folder of integration_eval.py (shared/bench)")
    ap.add_argument("--pair-key", default="", help="the run's integrate.pair_key")
    a = ap.parse_args()
    check_layout(a.out, a.data)
    r = json.load(open(a.report))
    check_report(r)
    ev = load_evaluator(a.bench)
    print("definitions from", "the evaluator" if ev else "the copies in this script")
    x = load(a.out, a.data, a.pair_key)
    check_baseline(x, ev)
    check_mixing(r, x, ev)
    check_kept(r, x, ev, a.pair_key)
    check_truth(r, x)
    check_sinkhorn(r, x, ev)
    check_bar(r)
    print("ok:", a.out, "has the integrated layout; G < D for every label in both spaces")


if __name__ == "__main__":
    main()

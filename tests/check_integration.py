#!/usr/bin/python3
"""check_integration.py OUT.h5 DATA.h5 REPORT.json: the integrated file has the layout and
contents promised, and the correction of batch 1 brought it closer to the batch-free truth
(/X_ref of DATA.h5) than the uncorrected data, in distribution (energy distance)."""
import json
import sys

import h5py
import numpy as np


def energy(a, b):
    def mean_dist(x, y):
        return np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)).mean()
    return 2 * mean_dist(a, b) - mean_dist(a, a) - mean_dist(b, b)


out, data, report = sys.argv[1:4]
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
    for name in ("alpha", "beta", "gamma"):
        run = f"/labels/run_files"
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
r = json.load(open(report))
for name, v in r["labels"].items():
    for space in ("latent", "gene"):
        assert set("DRSGF") <= set(v[space]), v[space].keys()
        assert v[space]["G"] < v[space]["D"], (name, space, v[space])
        h = v[space]
        assert h["F"] > 0 and h["D_half"] > 0 and h["G_half"] > 0, (name, space, h)
    for key in ("label_accuracy_before", "label_accuracy_after", "neighbours_kept"):
        assert 0 <= v[key] <= 1, (name, key, v[key])
    # The floor notes say what the gene-space numbers say.
    g = v["gene"]
    assert v["baseline_below_floor"] == (g["S"] < g["F"]), (name, g)
    assert v["source_below_floor"] == (g["D_half"] < g["F"]), (name, g)
    # With a known batch effect the source starts far from its nearest targets; the correction
    # brings it nearer without collapsing onto them.
    m = v["memorisation_ratio"]
    assert m["before"] > 2 and 0.3 < m["after"] < m["before"], (name, m)
    assert len(v["checks"]) == 5 and all(isinstance(c, bool) for c in v["checks"].values())
print("ok:", out, "has the integrated layout; G < D for every label in both spaces")

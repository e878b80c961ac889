#!/usr/bin/python3
"""Small gene-expression data with a known batch effect, for the integration tests.

    make_integration_data.py OUTDIR

writes, in OUTDIR:
  batches.h5        layout v1: 2 batches x 3 labels, 60 genes; batch 1 = batch 0's biology with
                    a gene-wise shift and scale (the batch effect), /X_ref the same cells without
                    it and /obs/latent their true state (= /X_ref: the truth gpa's report scores
                    against, as for make_synthetic_batches.py --counterfactual); obs/batch,
                    obs/label (+ names), obs/subject (cells 2i and 2i + 1 are a pair, of one
                    label), obs/sample_ids, var/gene_ids
  source.h5ad       batch 1 as AnnData with a CSR matrix and categorical obs
  target.h5ad       batch 0 as AnnData, dense, genes in another order, 5 genes missing and 3
                    extra, so that genes must be matched by id
  both.h5ad         both batches in one AnnData file (dense), categorical batch and cell_type,
                    numeric depth
  bad_*.h5          broken variants for the error tests: among them id lists shorter and
                    longer than X (bad_ids_*.h5), and with AnnData, inconsistent CSR matrices
                    and a short obs index (bad_*.h5ad)
"""
import os
import sys

import h5py
import numpy as np

rng = np.random.default_rng(7)
n_per, genes, labels = 60, 60, 3
centres = rng.normal(0, 3, size=(labels, genes))


def cells(n):
    lab = np.repeat(np.arange(labels), n // labels)
    return lab, centres[lab] + rng.normal(0, 1, size=(n, genes))


lab0, x0 = cells(n_per)
lab1, x1_ref = cells(n_per)
shift, scale = rng.normal(0, 2, genes), np.exp(rng.normal(0, 0.3, genes))
x1 = x1_ref * scale + shift
X = np.vstack([x0, x1]).astype(np.float32)
X_ref = np.vstack([x0, x1_ref]).astype(np.float32)
batch = np.repeat([0, 1], n_per).astype(np.int32)
label = np.concatenate([lab0, lab1]).astype(np.int32)
gene_ids = np.array([f"G{i:03d}".encode() for i in range(genes)])
sample_ids = np.array([f"cell{i:03d}".encode() for i in range(2 * n_per)])
label_names = np.array([b"alpha", b"beta", b"gamma"])


def strings(values):
    width = max(len(v) for v in values)
    return np.array(values, dtype=f"S{width}")


def layout_v1(path, X, **extra):
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=X, chunks=(8, X.shape[1]), compression="gzip")
        f["obs/batch"] = batch
        f["obs/batch_names"] = strings([b"b0", b"b1"])
        f["obs/label"] = extra.get("label", label)
        f["obs/label_names"] = extra.get("label_names", label_names)
        f["obs/sample_ids"] = sample_ids
        f["var/gene_ids"] = extra.get("genes", gene_ids)
        f.attrs["layout_version"] = "1"
        for k, v in extra.get("more", {}).items():
            f[k] = v


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
subject = (np.arange(2 * n_per) // 2).astype(np.int32)
layout_v1(os.path.join(out, "batches.h5"), X,
          more={"X_ref": X_ref, "obs/latent": X_ref, "obs/subject": subject})

layout_v1(os.path.join(out, "bad_label_names.h5"), X,
          label_names=strings([b"a b", b"a_b", b"gamma"]))

Xn = X.copy()
Xn[70, 5] = np.nan
layout_v1(os.path.join(out, "bad_nan.h5"), Xn)
lone = label.copy()
lone[:n_per][lab0 == 2] = 1          # batch 0 loses label gamma
layout_v1(os.path.join(out, "bad_label.h5"), X, label=lone)
with h5py.File(os.path.join(out, "bad_nox.h5"), "w") as f:
    f["obs/batch"] = batch
    f["var/gene_ids"] = gene_ids
with h5py.File(os.path.join(out, "bad_genes.h5"), "w") as f:
    f["X"] = X[:, :10]
    f["obs/batch"] = batch
    f["obs/label"] = label
    f["var/gene_ids"] = strings([f"OTHER{i}".encode() for i in range(10)])

layout_v1(os.path.join(out, "bad_ids_short_genes.h5"), X, genes=gene_ids[:10])
layout_v1(os.path.join(out, "bad_ids_long_genes.h5"), X,
          genes=np.array([f"G{i:03d}".encode() for i in range(genes + 10)]))
with h5py.File(os.path.join(out, "bad_ids_short_samples.h5"), "w") as f:
    f["X"] = X
    f["obs/batch"] = batch
    f["obs/sample_ids"] = sample_ids[:10]
    f["var/gene_ids"] = gene_ids

try:
    import anndata
    import pandas as pd
    import scipy.sparse as sp
except ImportError:        # the .h5ad files need python3-anndata
    sys.exit(0)
obs1 = pd.DataFrame({"batch": pd.Categorical(["b1"] * n_per),
                     "cell_type": pd.Categorical([label_names[i].decode() for i in lab1],
                                                 categories=["alpha", "beta", "gamma"]),
                     "depth": rng.uniform(1, 2, n_per)},
                    index=[s.decode() for s in sample_ids[n_per:]])
anndata.AnnData(X=sp.csr_matrix(x1.astype(np.float32)), obs=obs1,
                var=pd.DataFrame(index=[g.decode() for g in gene_ids])).write_h5ad(
    os.path.join(out, "source.h5ad"))
order = rng.permutation(genes)[: genes - 5]          # 5 genes missing, the rest shuffled
xt = np.hstack([x0[:, order], rng.normal(0, 1, (n_per, 3))]).astype(np.float32)
tgenes = [gene_ids[i].decode() for i in order] + ["EXTRA1", "EXTRA2", "EXTRA3"]
obs0 = pd.DataFrame({"batch": pd.Categorical(["b0"] * n_per),
                     "cell_type": pd.Categorical([label_names[i].decode() for i in lab0],
                                                 categories=["gamma", "alpha", "beta"])},
                    index=[s.decode() for s in sample_ids[:n_per]])
anndata.AnnData(X=xt, obs=obs0, var=pd.DataFrame(index=tgenes)).write_h5ad(
    os.path.join(out, "target.h5ad"))
both = pd.DataFrame({"batch": pd.Categorical(["b0"] * n_per + ["b1"] * n_per),
                     "cell_type": pd.Categorical([label_names[i].decode() for i in label]),
                     "depth": rng.uniform(1, 2, 2 * n_per)},
                    index=[s.decode() for s in sample_ids])
anndata.AnnData(X=X, obs=both, var=pd.DataFrame(index=[g.decode() for g in gene_ids])).write_h5ad(
    os.path.join(out, "both.h5ad"))


def broken_h5ad(name, change):
    """A copy of source.h5ad (CSR) with change(f) applied to the open file."""
    path = os.path.join(out, name)
    with open(os.path.join(out, "source.h5ad"), "rb") as a, open(path, "wb") as b:
        b.write(a.read())
    with h5py.File(path, "r+") as f:
        change(f)


def replace(f, name, value):
    del f[name]
    f[name] = value


def set_indptr(f, i, v):
    p = f["X/indptr"][()]
    p[i] = v
    f["X/indptr"][...] = p


broken_h5ad("bad_indptr_decreasing.h5ad", lambda f: set_indptr(f, 17, f["X/indptr"][18] + 5))
broken_h5ad("bad_indptr_negative.h5ad", lambda f: set_indptr(f, 5, -3))
broken_h5ad("bad_indptr_beyond.h5ad", lambda f: set_indptr(f, -1, f["X/data"].shape[0] + 50))
broken_h5ad("bad_data_short.h5ad", lambda f: replace(f, "X/data", f["X/data"][:-100]))
broken_h5ad("bad_indices_short.h5ad", lambda f: replace(f, "X/indices", f["X/indices"][:-100]))
broken_h5ad("bad_obs_index_short.h5ad", lambda f: replace(f, "obs/_index", f["obs/_index"][:10]))

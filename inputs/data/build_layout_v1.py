#!/usr/bin/python3
"""Write bladderbatch.h5 and hsmm_singlecell.h5 (gpa HDF5 layout v1) from the files
that export_debian_datasets.R wrote.

    /usr/bin/python3 inputs/data/build_layout_v1.py EXPORT_DIR OUTDIR

Layout v1 (shared/data/README.md): /X float32 [n_samples, n_genes], chunked in whole rows
(~1 MiB), gzip level 4, no shuffle; /obs and /var contiguous, strings fixed-length
NULLPAD ASCII, codes int32, extra numeric obs float64; root attributes are fixed-length
ASCII strings, n_samples/n_genes int64. Each file is written to OUTDIR/<name>.h5.tmp and
renamed to OUTDIR/<name>.h5 when complete.
"""
import os
import subprocess
import sys
import time

import h5py
import numpy as np

LEVEL = 4                       # deflate level of /X
CREATED_BY = "inputs/data/build_layout_v1.py"


def fixed_strings(values):
    """Fixed-length ASCII (h5py maps numpy 'S<n>' to H5T_STR_NULLPAD), width = longest."""
    vals = [str(v).encode("ascii") for v in values]
    return np.array(vals, dtype=f"S{max(1, max(len(v) for v in vals))}")


def read_tsv(path):
    """Tab-separated file with a header -> dict of column name -> list of str."""
    with open(path, encoding="ascii") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    return {k: [r[j] for r in rows[1:]] for j, k in enumerate(rows[0])}


def read_x(d):
    """X.f64 (samples x genes, float64 as shipped) with its dims.tsv."""
    dims = read_tsv(os.path.join(d, "dims.tsv"))
    n, g = int(dims["n_samples"][0]), int(dims["n_genes"][0])
    return np.fromfile(os.path.join(d, "X.f64"), dtype="<f8").reshape(n, g)


def codes(values, names):
    """int32 code of each value in the fixed name list; an unknown value is an error."""
    index = {v: k for k, v in enumerate(names)}
    bad = sorted(set(values) - set(index))
    if bad:
        sys.exit(f"error: unexpected values {bad} (known: {names})")
    return np.array([index[v] for v in values], dtype=np.int32)


def debian_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "unknown"


def created_utc():
    # SOURCE_DATE_EPOCH, when set, makes the timestamp (and so the file) reproducible.
    t = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def write_layout_v1(path, x, obs, var, attrs):
    """x: float32 [n, g]; obs/var: name -> array (strings already fixed_strings)."""
    n, g = x.shape
    rows = int(max(1, min(n, (1 << 20) // (4 * g))))          # whole-row chunks of ~1 MiB
    # Attribute order = order of creation in the reference files (same object-header packing).
    attrs = dict(layout_version="1", x_compression=f"gzip(deflate) level {LEVEL}, chunks of "
                 f"{rows} rows x {g} genes, no shuffle", created_by=CREATED_BY,
                 created_utc=created_utc(), **attrs)
    tmp = path + ".tmp"
    try:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("X", data=x, dtype=np.float32, chunks=(rows, g),
                             compression="gzip", compression_opts=LEVEL, shuffle=False)
            for grp, cols in (("obs", obs), ("var", var)):
                h = f.create_group(grp)
                for k, v in cols.items():                        # in this order, as in the
                    h.create_dataset(k, data=v)                  # reference; contiguous
            for k, v in attrs.items():
                f.attrs[k] = np.bytes_(v.encode("ascii"))
            f.attrs["n_samples"] = np.int64(n)
            f.attrs["n_genes"] = np.int64(g)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, path)                                        # complete: rename into place
    print(f"wrote {path}: X {n} x {g} float32 (chunks {rows} rows, gzip {LEVEL}), "
          f"obs {sorted(obs)}, var {sorted(var)}, {os.path.getsize(path)} bytes")


def bladderbatch(src, out):
    """bladderEset: exprs as shipped (log2), cancer status label, batch - 1."""
    x = read_x(src).astype(np.float32)                           # double -> nearest float32
    o = read_tsv(os.path.join(src, "obs.tsv"))
    genes = read_tsv(os.path.join(src, "var.tsv"))["gene_id"]
    batch = np.array([int(b) for b in o["batch"]], dtype=np.int32)
    assert batch.min() == 1, "bladderEset$batch is expected to be 1-based"
    nb = int(batch.max())
    label_names = ["Normal", "Cancer", "Biopsy"]                  # bladderEset$cancer
    outcome_names = ["Normal", "Biopsy", "sTCC-CIS", "sTCC+CIS", "mTCC"]
    label = codes(o["cancer"], label_names)
    obs = {
        "sample_ids": fixed_strings(o["sample_id"]),
        "batch": batch - 1,                                       # code k = original batch k+1
        "batch_names": fixed_strings(range(1, nb + 1)),
        "label": label,
        "label_names": fixed_strings(label_names),
        "outcome": codes(o["outcome"], outcome_names),
        "outcome_names": fixed_strings(outcome_names),
        "is_cancer": (label == 1).astype(np.int32),
    }
    n, g = x.shape
    ids = o["sample_id"]
    attrs = {
        "title": f"bladderbatch: bladder cancer microarrays with {nb} processing batches",
        "description": f"RMA-style log2 expression of {n} bladder samples (Affymetrix HG-U133A, "
                       f"{g} probe sets). Batches are the array processing dates defined by "
                       "Leek et al.; used as the example data of the sva/ComBat vignette.",
        "source_debian_package": "r-bioc-bladderbatch",
        "source_debian_version": debian_version("r-bioc-bladderbatch"),
        "source_r_object": "bladderbatch::bladderdata -> bladderEset (Biobase ExpressionSet)",
        "original_study": "Dyrskjot L, Kruhoffer M, Thykjaer T, et al. Gene expression in the "
                          "urinary bladder: a common carcinoma in situ gene expression signature "
                          "exists disregarding histopathological classification. Cancer Res "
                          "2004;64:4040-4048. GEO GSE3167 (CEL files "
                          f"{ids[0].split('.')[0]}-{ids[-1].split('.')[0]}).",
        "license": "Artistic-2.0 (debian/copyright of r-bioc-bladderbatch)",
        "platform": "Affymetrix HG-U133A (hgu133a)",
        "value_transform": "log2 (values as shipped: RMA-type log2 probe-set summaries, "
                           f"range ~{x.min():.1f}-{x.max():.1f})",
        "batch_description": f"processing-date batch 1..{nb} of bladderEset$batch; "
                             "code k <-> batch_names[k]",
        "label_description": "bladderEset$cancer: "
                             + ", ".join(f"{k}={v}" for k, v in enumerate(label_names)),
        "extra_obs": "outcome (+outcome_names): bladderEset$outcome; "
                     "is_cancer: 1 if cancer=='Cancer' else 0",
    }
    write_layout_v1(os.path.join(out, "bladderbatch.h5"), x,
                    obs, {"gene_ids": fixed_strings(genes)}, attrs)


def hsmm(src, out, min_cells=10):
    """HSMM: X = ln(1 + FPKM) of genes with FPKM > 0 in >= min_cells cells; batch = C1 chip."""
    fpkm = read_x(src)                                            # 271 x 47192 float64
    o = read_tsv(os.path.join(src, "obs.tsv"))
    v = read_tsv(os.path.join(src, "var.tsv"))
    keep = (fpkm > 0).sum(axis=0) >= min_cells                    # gene filter, in package order
    x = np.log1p(fpkm[:, keep]).astype(np.float32)                # log1p in float64, then round
    n, g0, g = fpkm.shape[0], fpkm.shape[1], int(keep.sum())
    chips = sorted(set(o["chip"]))                                # SCC10013 .. SCC10023
    hours = np.array([int(h) for h in o["hours"]], dtype=np.int32)
    batch = codes(o["chip"], chips)
    chip_hours = [sorted(set(hours[batch == k].tolist())) for k in range(len(chips))]
    assert all(len(h) == 1 for h in chip_hours), "each chip is expected to be one time point"
    media_names = ["GM", "DM"]                                    # growth / differentiation
    states = sorted(set(o["state"]), key=int)                     # Monocle State 1, 2, 3
    label_names = [f"State{s}" for s in states]
    obs = {
        "sample_ids": fixed_strings(o["sample_id"]),
        "batch": batch,
        "batch_names": fixed_strings(chips),
        "label": codes(o["state"], states),
        "label_names": fixed_strings(label_names),
        "hours": hours,
        "media": codes(o["media"], media_names),
        "media_names": fixed_strings(media_names),
        # The reference files carry Pseudotime as R prints it (15 significant digits); round
        # the exact package doubles the same way (relative change <= 5e-15) so they match.
        "pseudotime": np.array([float(f"{float(t):.15g}") for t in o["pseudotime"]]),
        "mapped_fragments": np.array([float(t) for t in o["mapped_fragments"]], dtype=np.float64),
    }
    var = {
        "gene_ids": fixed_strings(np.array(v["gene_id"])[keep]),
        "gene_symbols": fixed_strings(np.array(v["gene_symbol"])[keep]),
        "biotype": fixed_strings(np.array(v["biotype"])[keep]),
    }
    hl = ",".join(str(h[0]) for h in chip_hours)
    hs = "/".join(str(h[0]) for h in chip_hours)
    attrs = {
        "title": "HSMMSingleCell: single-cell RNA-seq of differentiating human skeletal "
                 "muscle myoblasts",
        "description": f"{n} Fluidigm C1 single cells, {len(chips)} capture chips = "
                       f"{len(chips)} time points ({hl} h after switch to differentiation "
                       f"medium). Genes filtered to FPKM>0 in >={min_cells} cells ({g} of {g0}). "
                       "Chip (batch) is fully confounded with time point.",
        "source_debian_package": "r-bioc-hsmmsinglecell",
        "source_debian_version": debian_version("r-bioc-hsmmsinglecell"),
        "source_r_object": "HSMMSingleCell::HSMM_expr_matrix, HSMM_sample_sheet, "
                           "HSMM_gene_annotation",
        "original_study": "Trapnell C, Cacchiarelli D, Grimsby J, et al. The dynamics and "
                          "regulators of cell fate decisions are revealed by pseudotemporal "
                          "ordering of single cells. Nat Biotechnol 2014;32:381-386. "
                          "GEO GSE52529.",
        "license": "Artistic-2.0 (debian/copyright of r-bioc-hsmmsinglecell)",
        "platform": "Illumina RNA-seq (C1/SMARTer/Nextera XT), Cufflinks FPKM",
        "value_transform": "natural log1p(FPKM), i.e. X = ln(1 + FPKM); FPKM = expm1(X)",
        "gene_filter": f"FPKM > 0 in at least {min_cells} of {n} cells",
        "batch_description": "C1 capture chip (library prefix); chip k = time point hours[k] "
                             f"in ({hl})",
        "label_description": "Monocle 'State' from the package sample sheet: "
                             + ", ".join(f"{k}={s}" for k, s in enumerate(label_names))
                             + " (computed by Monocle, not an experimental label)",
        "extra_obs": f"hours (int32: {hs}), media (+media_names: GM growth / DM "
                     "differentiation), pseudotime (float64, Monocle), mapped_fragments (float64)",
    }
    write_layout_v1(os.path.join(out, "hsmm_singlecell.h5"), x, obs, var, attrs)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: build_layout_v1.py EXPORT_DIR OUTDIR")
    src, out = argv[1], argv[2]
    os.makedirs(out, exist_ok=True)
    bladderbatch(os.path.join(src, "bladderbatch"), out)
    hsmm(os.path.join(src, "hsmm"), out)


if __name__ == "__main__":
    main(sys.argv)

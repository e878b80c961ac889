#!/usr/bin/python3
"""`gpa integrate` at single-cell scale: 100k cells x 2000 genes with a known batch effect.

Makes the data with bench/make_synthetic_batches.py (batch 1 onto batch 0, 6 cell types, and
/X_ref: every cell simulated again in batch 0, the batch-free truth), then integrates it with
bench/integrate_scale.yml on each rank count and prints

1. PCA seconds, GPA seconds per step and peak memory per rank (gpa's own report: the slowest
   rank's timings, VmHWM of every rank), and the wall time;
2. peak memory per rank against 1/P: the matrices (input, corrected, baseline: 12 bytes per gene
   and row) are sharded, so memory minus a fixed part must fall as 1/P;
3. for the main rank count, the mean distance of the corrected source cells to their batch-free
   truth /X_ref, in genes and in the PCA latent space, beside the uncorrected cells and the
   baseline (per-label mean/std adjustment).

    bench/integrate_scale.py [--gpa build/gpa] [--ranks 1,2,4] [--main 2] [--n 100000]
                             [--genes 2000] [--dir DIR] [--keep]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_data(a, path):
    if os.path.exists(path):
        print(f"data: {path} (reused)")
        return
    t0 = time.time()
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_synthetic_batches.py"), path,
                    "-n", str(a.n), "-g", str(a.genes), "--counterfactual", "--workers", "2"],
                   check=True, stdout=subprocess.DEVNULL)
    print(f"data: {path}, {a.n} x {a.genes}, made in {time.time() - t0:.0f} s")


def integrate(a, ranks, data, out):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", HWLOC_COMPONENTS="-x86",
               OMPI_MCA_pml=os.environ.get("OMPI_MCA_pml", "ob1"))
    cmd = [a.mpirun, "-q", "-n", str(ranks), a.gpa, "integrate",
           os.path.join(HERE, "integrate_scale.yml"), "-P", f"integrate.source_file={data}",
           "--output", out, "--report", out + ".json"]
    t0 = time.time()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.time() - t0
    if res.returncode:
        sys.exit(f"gpa integrate on {ranks} ranks failed:\n{res.stdout}\n{res.stderr}")
    m = re.search(r"^PCA ([0-9.]+) s; GPA ([0-9.]+) s for (\d+) steps \(([0-9.]+) ms/step\); "
                  r"peak memory per rank (\d+)-(\d+) MB", res.stdout, re.M)
    method = re.search(r"^PCA \((\w+)", res.stdout, re.M).group(1)
    return {"ranks": ranks, "pca": float(m.group(1)), "gpa": float(m.group(2)),
            "steps": int(m.group(3)), "ms_step": float(m.group(4)),
            "mem_min": int(m.group(5)), "mem_max": int(m.group(6)), "wall": wall,
            "method": method, "text": res.stdout}


def truth_distances(out, data):
    """Mean Euclidean distance of the source cells to /X_ref: before, baseline, gpa; in genes
    and in the latent space of the run's PCA."""
    with h5py.File(out, "r") as fo, h5py.File(data, "r") as fd:
        origin = fo["obs/origin"][:]
        ns = int((origin == 0).sum())
        ids = fo["obs/sample_ids"][:ns]
        rows = np.array([int(s.decode().lstrip("cel")) for s in ids])
        if np.any(np.diff(rows) <= 0):
            raise ValueError(f"{out}: source rows are not in input order")
        mean = fo["pca/mean"][:]
        g = mean.size
        k = fo["latent"].shape[1]
        comps = fo["pca/components"][:].reshape(k, g)
        gene = dict.fromkeys(("before", "baseline", "gpa"), 0.0)
        lat = dict.fromkeys(gene, 0.0)
        for a in range(0, ns, 4096):
            b = min(a + 4096, ns)
            r = rows[a:b]
            ref = fd["X_ref"][r].astype(np.float64)
            sets = {"before": fd["X"][r], "baseline": fo["baseline/X"][a:b], "gpa": fo["X"][a:b]}
            zref = (ref - mean) @ comps.T
            for key, x in sets.items():
                x = x.astype(np.float64)
                gene[key] += np.sqrt(((x - ref) ** 2).sum(1)).sum()
                lat[key] += np.sqrt((((x - mean) @ comps.T - zref) ** 2).sum(1)).sum()
    return {k: v / ns for k, v in gene.items()}, {k: v / ns for k, v in lat.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gpa", default=os.path.join(ROOT, "build", "gpa"))
    p.add_argument("--mpirun", default=shutil.which("mpirun") or "mpirun")
    p.add_argument("--ranks", default="1,2,4")
    p.add_argument("--main", type=int, default=2, help="rank count of the full report")
    p.add_argument("--n", type=int, default=100000)
    p.add_argument("--genes", type=int, default=2000)
    p.add_argument("--dir", default=None, help="where to write (default: a temporary folder here)")
    p.add_argument("--keep", action="store_true", help="keep the data and outputs")
    a = p.parse_args()
    ranks = [int(r) for r in a.ranks.split(",")]
    if a.main not in ranks:
        ranks.append(a.main)
    work = tempfile.mkdtemp(dir=a.dir or os.getcwd(), prefix="gpa-scale-")
    try:
        data = os.path.join(work, "batches.h5")
        make_data(a, data)
        runs = {}
        for r in ranks:
            runs[r] = integrate(a, r, data, os.path.join(work, f"out{r}.h5"))
            x = runs[r]
            print(f"{r} rank{'s' if r > 1 else ' '}: PCA ({x['method']}) {x['pca']:.2f} s, GPA "
                  f"{x['ms_step']:.2f} ms/step ({x['steps']} steps, {x['gpa']:.1f} s), peak "
                  f"memory per rank {x['mem_min']}-{x['mem_max']} MB, wall {x['wall']:.0f} s",
                  flush=True)
        print(f"\nmemory per rank (MB) against 1/P; sharded matrices: 12 bytes x "
              f"{a.n} rows x {a.genes} genes = {12 * a.n * a.genes / 1e6:.0f} MB in all")
        ps = np.array(sorted(runs), dtype=float)
        mem = np.array([runs[int(r)]["mem_max"] for r in ps], dtype=float)
        if len(ps) >= 2:
            slope, fixed = np.polyfit(1 / ps, mem, 1)
            print(f"  fit: peak = {fixed:.0f} MB + {slope:.0f} MB / P")
        for r, m in zip(ps, mem):
            share = 12 * a.n * a.genes / 1e6 / r
            print(f"  P = {int(r)}: {m:6.0f} MB, matrices {share:6.0f} MB, "
                  f"rest {m - share:5.0f} MB")
        gene, lat = truth_distances(os.path.join(work, f"out{a.main}.h5"), data)
        print(f"\nmean distance of the {a.main}-rank corrected source cells to the batch-free "
              f"truth /X_ref:")
        for key in ("before", "baseline", "gpa"):
            print(f"  {key:9s} genes {gene[key]:9.3f}   latent {lat[key]:9.3f}")
        print(f"  gpa / baseline: genes {gene['gpa'] / gene['baseline']:.3f}, latent "
              f"{lat['gpa'] / lat['baseline']:.3f}  (below 1: closer to the truth)")
        lines = [ln for ln in runs[a.main]["text"].splitlines() if ln.startswith(("label ", "  "))]
        print(f"\n{a.main}-rank report:\n" + "\n".join(lines))
    finally:
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

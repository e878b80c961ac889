#!/usr/bin/python3
"""Image metrics of a gpa run: Sinkhorn to held-out images, memorisation.

usage: image_metrics.py RUN.h5 [--json OUT.json] [--idx-dir DIR] [--per-step]
                        [--classes 0,3] [--n-heldout 1000] [--seed 0]
                        [--gpa PATH]
       image_metrics.py --self-test [--gpa PATH]

For a run whose samples are 28 x 28 images (784 coordinates, pixel / 255,
row-major), e.g. Fashion-MNIST targets:

  * a fixed 50-component PCA is fitted on all the Fashion-MNIST training
    images of the run's classes; every distance below is measured there;
  * held-out: t10k images of those classes, class-balanced like the targets;
    fresh real: training images of those classes that are not targets
    (exact pixel match), as many as the set they are compared with;
  * Sinkhorn: the debiased divergence S = OT(a,b) - (OT(a,a) + OT(b,b)) / 2,
    cost |x - y|^2 / 2, blur 0.05, eps annealed by scaling 0.5 (log domain,
    symmetric updates), uniform weights, computed by `gpa metrics`
    (src/core/metrics.c; --gpa names the binary, default build/gpa). A
    set's S to held-out is shown beside that of fresh real images of the
    same size: near it means as close as real data;
  * memorisation ratio: median over the set of the distance to the nearest
    target / the same median over held-out images (~1: no copying, ~0:
    copies of targets); near-copy fraction: the share of the set closer to
    a target than half the held-out median.

With --per-step the same at every /trajectory snapshot (particles, and
generated when /trajectory/generated exists). Prints a table and writes
JSON (default RUN_image_metrics.json).
"""

import argparse
import gzip
import json
import math
import os
import re
import sys

import numpy as np

from gpafiles import RunFile, find_gpa
from gpafiles import metrics as gpa_metrics

DEFAULT_IDX_DIR = "/usr/share/datasets/fashion-mnist"
SIDE = 28
PIXELS = SIDE * SIDE
N_COMPONENTS = 50
BLUR, SCALING = 0.05, 0.5
CLASS_NAMES = ("T-shirt", "trouser", "pullover", "dress", "coat", "sandal",
               "shirt", "sneaker", "bag", "boot")
SPLITS = {"train": 60000, "t10k": 10000}


# ---------------------------------------------------------------- IDX files

def read_idx(path, ndims):
    """Reads a gzipped IDX file of unsigned bytes with `ndims` dimensions:
    two zero bytes, type 0x08, ndims, big-endian uint32 sizes, the data."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: not a gzipped IDX file ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: IDX data type 0x{raw[2]:02x}, expected "
                         "0x08 (unsigned byte)")
    if raw[3] != ndims:
        raise ValueError(f"{path}: {raw[3]} IDX dimensions, expected {ndims}")
    header = 4 + 4 * ndims
    if len(raw) < header:
        raise ValueError(f"{path}: IDX header cut short")
    dims = tuple(int(v) for v in np.frombuffer(raw, ">u4", ndims, 4))
    size = math.prod(dims)
    if len(raw) != header + size:
        raise ValueError(f"{path}: {len(raw) - header} data bytes, the IDX "
                         f"header {list(dims)} says {size}")
    return np.frombuffer(raw, np.uint8, size, header).reshape(dims)


def load_split(idx_dir, split):
    """(images [n, 784] uint8, labels [n] uint8) of "train" or "t10k"."""
    images = read_idx(os.path.join(idx_dir, f"{split}-images-idx3-ubyte.gz"),
                      3)
    labels_path = os.path.join(idx_dir, f"{split}-labels-idx1-ubyte.gz")
    labels = read_idx(labels_path, 1)
    if images.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"{idx_dir}: {split} images are {images.shape[1]} x "
                         f"{images.shape[2]}, expected {SIDE} x {SIDE}")
    if len(images) != len(labels):
        raise ValueError(f"{idx_dir}: {len(images)} {split} images but "
                         f"{len(labels)} labels")
    if len(images) != SPLITS[split]:
        raise ValueError(f"{idx_dir}: {len(images)} {split} images, "
                         f"Fashion-MNIST has {SPLITS[split]}")
    if labels.max(initial=0) > 9:
        raise ValueError(f"{labels_path}: label {labels.max()} (not 0-9)")
    return images.reshape(len(images), PIXELS), labels


# ------------------------------------------------------------------- maths

class Pca:
    """Principal axes of uint8 images on the pixel / 255 scale."""

    def __init__(self, images, k=N_COMPONENTS, chunk=8192):
        n = len(images)
        if n <= k:
            raise ValueError(f"PCA: {n} images cannot give {k} components")
        total = np.zeros(PIXELS)
        gram = np.zeros((PIXELS, PIXELS))
        for lo in range(0, n, chunk):
            x = images[lo:lo + chunk].astype(np.float64) / 255.0
            total += x.sum(axis=0)
            gram += x.T @ x
        self.mean = total / n
        cov = (gram - n * np.outer(self.mean, self.mean)) / (n - 1)
        values, vectors = np.linalg.eigh(cov)
        order = np.argsort(values)[::-1][:k]
        self.axes = vectors[:, order]                 # [784, k]
        self.n_fit = n
        self.explained = float(values[order].sum() / values.sum())

    def project(self, x):
        """x [n, 784] (pixel / 255) -> [n, k]."""
        return (np.asarray(x, np.float64) - self.mean) @ self.axes


def sinkhorn(a, b, gpa=None, blur=BLUR, scaling=SCALING):
    """Debiased Sinkhorn divergence between the uniform measures on the rows
    of a [n, d] and b [m, d], cost |x - y|^2 / 2 (not square-rooted), from
    `gpa metrics` (gpa_sinkhorn in src/core/metrics.c, on one rank; `gpa`: the
    binary, as gpafiles.find_gpa finds it). It prints 7 significant digits.
    NaN if any value is not finite."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"sinkhorn: shapes {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan
    return gpa_metrics(a, b, gpa=gpa, blur=blur, scaling=scaling)["sinkhorn"]


def nearest_distance(x, y, chunk=2048):
    """Distance from each row of x to the nearest row of y."""
    y = np.asarray(y, np.float64)
    y2 = np.einsum("ij,ij->i", y, y)
    out = np.empty(len(x))
    for lo in range(0, len(x), chunk):
        xs = np.asarray(x[lo:lo + chunk], np.float64)
        d2 = (np.einsum("ij,ij->i", xs, xs)[:, None] + y2[None, :]
              - 2.0 * (xs @ y.T))
        out[lo:lo + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def memorisation(x, targets, heldout_median):
    """(median nearest-target distance, its ratio to the held-out median,
    the share of rows nearer to a target than half the held-out median)."""
    d = nearest_distance(x, targets)
    med = float(np.median(d))
    return med, med / heldout_median, float(np.mean(d < 0.5 * heldout_median))


def balanced_counts(total, weights):
    """Splits `total` over the keys of `weights` in proportion (largest
    remainders; ties to the smaller key)."""
    keys = sorted(weights)
    w = np.array([weights[k] for k in keys], np.float64)
    share = total * w / w.sum()
    counts = np.floor(share).astype(int)
    rest = total - counts.sum()
    for i in sorted(range(len(keys)), key=lambda i: (-(share[i] - counts[i]),
                                                     keys[i]))[:rest]:
        counts[i] += 1
    return dict(zip(keys, counts.tolist()))


# --------------------------------------------------------------- self-test

def self_test(gpa=None):
    """Known answers for sinkhorn() (that is, for `gpa metrics`, binary `gpa`)
    and memorisation(); returns the number of failed checks."""
    rng = np.random.default_rng(1)
    failed = 0

    def sk(a, b):
        return sinkhorn(a, b, gpa=gpa)

    def check(name, value, ok, expect):
        nonlocal failed
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {value:.6g} ({expect})")

    a = rng.normal(size=(300, 50))
    s = sk(a, a)
    check("sinkhorn, identical sets (300 x 50-D)", s, abs(s) < 1e-9,
          "expect 0")
    x, y = np.zeros((1, 3)), np.array([[1.0, 2.0, -0.5]])
    s = sk(x, y)
    check("sinkhorn, point masses |a-b|^2/2 = 2.625", s,
          abs(s - 2.625) < 1e-9, "expect 2.625")
    x, y = rng.normal(size=(1, 50)), rng.normal(size=(1, 50))
    exact = 0.5 * float(np.sum((x - y) ** 2))
    s = sk(x, y)
    check(f"sinkhorn, point masses in 50-D (|a-b|^2/2 = {exact:.6g})", s,
          abs(s - exact) <= 1e-9 * exact,
          "expect |a-b|^2/2")
    x = rng.normal(0.0, 1.0, size=(2000, 1))
    y = rng.normal(2.0, 1.5, size=(2000, 1))
    s = sk(x, y)
    w22 = 0.5 * float(np.mean((np.sort(x[:, 0]) - np.sort(y[:, 0])) ** 2))
    check("sinkhorn, N(0,1) vs N(2,1.5^2), 2000 points", s,
          abs(s - 2.125) < 0.15, "W2^2/2 = 2.125 within sampling error 0.15")
    check("  the same against the samples' exact W2^2/2 "
          f"{w22:.6g} (sorted)", s, abs(s - w22) < 0.02 * w22, "within 2%")
    s = sk(rng.normal(size=(1000, 50)), rng.normal(size=(1000, 50)))
    s2 = sk(rng.normal(size=(1000, 50)),
            rng.normal(0.5, 1.0, size=(1000, 50)))
    check("sinkhorn, two N(0,I) samples in 50-D (1000 each)", s,
          0 < s < s2, f"below {s2:.4g}, N(0,I) vs N(0.5,I)")

    targets = rng.normal(size=(200, 50))
    held = rng.normal(size=(1000, 50))
    med = float(np.median(nearest_distance(held, targets)))
    _, r, near = memorisation(targets[rng.integers(0, 200, 500)], targets,
                              med)
    check("memorisation ratio, copies of the targets", r, r < 1e-6,
          "expect 0")
    check("  near-copy fraction", near, near == 1.0, "expect 1")
    _, r, near = memorisation(rng.normal(size=(500, 50)), targets, med)
    check("memorisation ratio, fresh samples", r, 0.9 < r < 1.1,
          "expect 1 within 0.1")
    check("  near-copy fraction", near, near < 0.01, "expect 0")
    print("self-test " + (f"FAILED ({failed} checks)" if failed else "passed"))
    return failed


# ----------------------------------------------------------------- the run

def _int_list(value):
    """A class list from an attribute: list, scalar or text like "[0, 3]"."""
    if value is None:
        return None
    if isinstance(value, str):
        return [int(v) for v in re.findall(r"-?\d+", value)]
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return [int(value)]


def parse_classes(text):
    try:
        classes = sorted({int(v) for v in text.split(",")})
    except ValueError:
        classes = [-1]
    if not classes or not all(0 <= c <= 9 for c in classes):
        raise ValueError(f"--classes {text}: need classes 0-9, e.g. 3 or 0,6")
    return classes


def rows_index(images):
    """Dict from the bytes of each uint8 row to the indices holding it."""
    index = {}
    for i, row in enumerate(images):
        index.setdefault(row.tobytes(), []).append(i)
    return index


def match_rows(x, index):
    """For each row of x (pixel / 255), the indices of equal uint8 rows
    (an empty list when the row is not an image of the set)."""
    scaled = np.asarray(x, np.float64) * 255.0
    q = np.rint(scaled)
    ok = (np.abs(scaled - q) < 1e-6).all(axis=1) & (q >= 0).all(axis=1) \
        & (q <= 255).all(axis=1)
    q = np.where(ok[:, None], q, 0).astype(np.uint8)
    return [index.get(q[i].tobytes(), []) if ok[i] else []
            for i in range(len(x))]


class Context:
    """What every set is compared with: the PCA, held-out images, targets."""

    def __init__(self, run, args):
        self.rng = np.random.default_rng(args.seed)
        self.gpa = args.gpa
        target = run.target
        if target is None:
            raise ValueError(f"{args.run}: no /target in the run file")
        if target.ndim != 2 or target.shape[1] != PIXELS:
            raise ValueError(f"{args.run}: /target has {target.shape[-1]} "
                             f"columns; image metrics need {PIXELS} "
                             f"({SIDE} x {SIDE} pixels)")
        idx_dir = args.idx_dir
        train_x, train_y = load_split(idx_dir, "train")
        test_x, test_y = load_split(idx_dir, "t10k")

        # Targets among the training (and test) images: labels, exclusions.
        train_hits = match_rows(target, rows_index(train_x))
        test_hits = match_rows(target, rows_index(test_x))
        self.matched = sum(bool(h) for h in train_hits)
        labels = run.labels("target")
        if labels is not None and len(labels) != len(target):
            raise ValueError(f"{args.run}: /labels/target has {len(labels)} "
                             f"rows, /target {len(target)}")
        if labels is None:
            labels = np.array([train_y[h[0]] if h else -1
                               for h in train_hits], np.int64)
            self.label_source = "matched training images"
        else:
            self.label_source = "/labels/target"
        if args.classes:
            classes = parse_classes(args.classes)
            source = "--classes"
        elif self.label_source == "/labels/target":
            classes = sorted({int(c) for c in labels if 0 <= c <= 9})
            source = "/labels/target"
        else:
            classes = None
            kind = run.param("target.kind") or run.attribute("kind")
            if kind == "fashion_mnist":
                classes = _int_list(run.param("target.classes",
                                              run.attribute("classes")))
                classes = sorted(set(classes or range(10)))
                source = "target.classes"
            if not classes and (labels >= 0).any():
                classes = sorted({int(c) for c in labels if c >= 0})
                source = "matched training images"
            if not classes:
                raise ValueError(f"{args.run}: cannot tell the run's classes "
                                 "(no labels, no Fashion-MNIST parameters, "
                                 "no target among the training images); "
                                 "give --classes")
        if not classes or not all(0 <= c <= 9 for c in classes):
            raise ValueError(f"{args.run}: classes {classes} (need 0-9)")
        self.classes, self.class_source = classes, source
        self.weights = {c: int(np.sum(labels == c)) for c in classes}
        if sum(self.weights.values()) == 0:
            self.weights = {c: 1 for c in classes}
        self.target_labels = labels

        in_classes = np.isin(train_y, classes)
        self.pca = Pca(train_x[in_classes])
        self.targets = self.pca.project(target)

        # Pools: images of the classes that are not targets.
        used_train = np.zeros(len(train_x), bool)
        for h in train_hits:
            used_train[h] = True
        used_test = np.zeros(len(test_x), bool)
        for h in test_hits:
            used_test[h] = True
        self.train_x, self.train_y = train_x, train_y
        self.fresh_pool = {c: np.flatnonzero((train_y == c) & ~used_train)
                           for c in classes}
        test_pool = {c: np.flatnonzero((test_y == c) & ~used_test)
                     for c in classes}
        available = sum(len(v) for v in test_pool.values())
        n_held = min(args.n_heldout, available)
        if n_held < 2:
            raise ValueError(f"{args.idx_dir}: {available} t10k images of "
                             f"classes {classes} to hold out (need 2)")
        counts = balanced_counts(n_held, self.weights)
        rows = np.concatenate([self.rng.choice(test_pool[c],
                                               min(k, len(test_pool[c])),
                                               replace=False)
                               for c, k in counts.items()])
        self.heldout_labels = test_y[rows].astype(int)
        self.heldout = self.pca.project(test_x[rows] / 255.0)
        self.heldout_median = float(np.median(
            nearest_distance(self.heldout, self.targets)))
        if not self.heldout_median > 0:
            raise ValueError("held-out images coincide with targets")

    def fresh(self, n, labels):
        """Fresh real images [<= n, k] in PCA space, class-balanced like
        `labels` (or like the targets)."""
        weights = self.weights
        if labels is not None:
            counted = {c: int(np.sum(labels == c)) for c in self.classes}
            if sum(counted.values()) > 0:
                weights = counted
        counts = balanced_counts(n, weights)
        rows = np.concatenate([self.rng.choice(self.fresh_pool[c],
                                               min(k, len(self.fresh_pool[c])),
                                               replace=False)
                               for c, k in counts.items()])
        return self.pca.project(self.train_x[np.sort(rows)] / 255.0)

    def measure(self, x):
        """Metrics of the set x (PCA space): dict, values None when x holds
        NaN or Inf."""
        if not np.isfinite(x).all():
            return {"sinkhorn_heldout": None, "median_nearest_target": None,
                    "memorisation_ratio": None, "near_copy_fraction": None}
        med, ratio, near = memorisation(x, self.targets, self.heldout_median)
        return {"sinkhorn_heldout": sinkhorn(x, self.heldout, gpa=self.gpa),
                "median_nearest_target": med, "memorisation_ratio": ratio,
                "near_copy_fraction": near}


def _clean(v):
    """NaN/Inf -> None for JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def _fmt(v, spec=".4g"):
    return "-" if v is None else format(v, spec)


def analyse(run, args):
    """The report as a dict (what goes to the JSON)."""
    ctx = Context(run, args)
    report = {
        "run": os.path.abspath(args.run),
        "summary": run.summary(),
        "idx_dir": os.path.abspath(args.idx_dir),
        "classes": ctx.classes,
        "classes_from": ctx.class_source,
        "seed": args.seed,
        "pca": {"components": N_COMPONENTS, "fit_images": ctx.pca.n_fit,
                "explained_variance": ctx.pca.explained,
                "scale": "pixel / 255"},
        "sinkhorn": {"blur": BLUR, "scaling": SCALING, "cost": "|x-y|^2/2",
                     "debiased": True},
        "targets": {"n": len(ctx.targets), "in_training_set": ctx.matched,
                    "labels_from": ctx.label_source,
                    "per_class": {str(c): w for c, w in ctx.weights.items()}},
        "heldout": {"n": len(ctx.heldout), "split": "t10k",
                    "median_nearest_target": ctx.heldout_median,
                    "near_copy_threshold": 0.5 * ctx.heldout_median},
        "sets": {},
    }
    sets = [("particles", "particles/final", "particles",
             "trajectory/positions")]
    if run.dataset("generated/final") is not None:
        sets.append(("generated", "generated/final", "generated",
                     "trajectory/generated"))
    fresh = {}
    for name, path, label_name, _ in sets:
        ds = run.dataset(path)
        if ds is None:
            raise ValueError(f"{args.run}: no /{path} in the run file")
        x = ds[()]
        if x.ndim != 2 or x.shape[1] != PIXELS or len(x) == 0:
            raise ValueError(f"{args.run}: /{path} has shape {x.shape}, "
                             f"expected [rows > 0, {PIXELS}]")
        labels = run.labels(label_name)
        fresh[name] = ctx.fresh(len(x), labels)
        ref = ctx.measure(fresh[name])
        m = ctx.measure(ctx.pca.project(x))
        s, s0 = m["sinkhorn_heldout"], ref["sinkhorn_heldout"]
        m.update({"n": len(x),
                  "fresh_n": len(fresh[name]),
                  "fresh_sinkhorn_heldout": s0,
                  "sinkhorn_ratio": None if s is None else s / s0,
                  "fresh_memorisation_ratio": ref["memorisation_ratio"],
                  "fresh_near_copy_fraction": ref["near_copy_fraction"]})
        report["sets"][name] = m

    if args.per_step:
        step_ds = run.dataset("trajectory/step")
        if step_ds is None or run.dataset("trajectory/positions") is None:
            raise ValueError(f"{args.run}: --per-step needs /trajectory "
                             "(the run stored no trajectory)")
        steps = [int(s) for s in step_ds[()]]
        curves = {"step": steps}
        for name, _, _, path in sets:
            ds = run.dataset(path)
            if ds is None:
                continue
            if ds.ndim != 3 or ds.shape[0] != len(steps) or \
                    ds.shape[2] != PIXELS:
                raise ValueError(f"{args.run}: /{path} has shape {ds.shape},"
                                 f" expected [{len(steps)}, rows, {PIXELS}]")
            rows = [ctx.measure(ctx.pca.project(ds[k]))
                    for k in range(len(steps))]
            curve = {key: [r[key] for r in rows] for key in rows[0]}
            curve["fresh_sinkhorn_heldout"] = \
                report["sets"][name]["fresh_sinkhorn_heldout"]
            curves[name] = curve
        report["per_step"] = curves
    return _clean(report)


def print_report(r):
    print(f"{r['run']}: {r['summary']}")
    names = ", ".join(f"{c} {CLASS_NAMES[c]}" for c in r["classes"])
    print(f"classes ({r['classes_from']}): {names}")
    print(f"PCA: {r['pca']['components']} components fitted on "
          f"{r['pca']['fit_images']} training images (explained variance "
          f"{r['pca']['explained_variance']:.3f})")
    t, h = r["targets"], r["heldout"]
    print(f"targets: {t['n']} ({t['in_training_set']} found among the "
          f"training images); held-out: {h['n']} t10k images, median "
          f"nearest-target distance {h['median_nearest_target']:.4g}")
    print(f"{'set':<10} {'n':>6} {'sinkhorn':>10} {'fresh real':>10} "
          f"{'ratio':>6} {'memo':>6} {'fresh':>6} {'near':>6} {'fresh':>6}")
    for name, m in r["sets"].items():
        print(f"{name:<10} {m['n']:>6} {_fmt(m['sinkhorn_heldout']):>10} "
              f"{_fmt(m['fresh_sinkhorn_heldout']):>10} "
              f"{_fmt(m['sinkhorn_ratio'], '.3f'):>6} "
              f"{_fmt(m['memorisation_ratio'], '.3f'):>6} "
              f"{_fmt(m['fresh_memorisation_ratio'], '.3f'):>6} "
              f"{_fmt(m['near_copy_fraction'], '.3f'):>6} "
              f"{_fmt(m['fresh_near_copy_fraction'], '.3f'):>6}")
    print("(sinkhorn: to held-out, debiased, blur 0.05; fresh real: unseen "
          "training images of the same size; memo: memorisation ratio; "
          "near: near-copy fraction)")
    curves = r.get("per_step")
    if curves:
        sets = [s for s in ("particles", "generated") if s in curves]
        head = "".join(f" {s[:4] + ' S':>10} {'memo':>6} {'near':>6}"
                       for s in sets)
        print(f"per step:\n{'step':>8}{head}")
        for k, step in enumerate(curves["step"]):
            line = "".join(
                f" {_fmt(curves[s]['sinkhorn_heldout'][k]):>10}"
                f" {_fmt(curves[s]['memorisation_ratio'][k], '.3f'):>6}"
                f" {_fmt(curves[s]['near_copy_fraction'][k], '.3f'):>6}"
                for s in sets)
            print(f"{step:>8}{line}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", metavar="RUN.h5", nargs="?")
    parser.add_argument("--json", metavar="OUT.json",
                        help="default: RUN_image_metrics.json")
    parser.add_argument("--idx-dir", default=DEFAULT_IDX_DIR, metavar="DIR",
                        help="Fashion-MNIST {train,t10k}-{images-idx3,"
                        f"labels-idx1}}-ubyte.gz (default {DEFAULT_IDX_DIR})")
    parser.add_argument("--per-step", action="store_true",
                        help="also at every /trajectory snapshot")
    parser.add_argument("--classes", metavar="C[,C...]",
                        help="classes 0-9 (default: from the run's labels or"
                        " parameters)")
    parser.add_argument("--n-heldout", type=int, default=1000, metavar="H",
                        help="held-out t10k images (default 1000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the held-out and fresh-real draws")
    parser.add_argument("--gpa", metavar="PATH",
                        help="the gpa binary that computes the Sinkhorn "
                        "divergence (`gpa metrics`; default: build/gpa in "
                        "the repository, else gpa on PATH)")
    parser.add_argument("--self-test", action="store_true",
                        help="check the Sinkhorn and memorisation code on "
                        "known answers, then exit")
    args = parser.parse_args()
    prog = os.path.basename(sys.argv[0])
    try:
        args.gpa = find_gpa(args.gpa)
    except OSError as err:
        sys.exit(f"{prog}: {err}")
    if args.self_test:
        sys.exit(1 if self_test(args.gpa) else 0)
    if args.run is None:
        sys.exit(f"{prog}: give a run file (or --self-test)")
    if args.n_heldout < 2:
        sys.exit(f"{prog}: --n-heldout must be at least 2")
    out = args.json or os.path.splitext(args.run)[0] + "_image_metrics.json"
    try:
        with RunFile(args.run) as run:
            report = analyse(run, args)
        with open(out, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
    except (OSError, ValueError, KeyError) as err:
        sys.exit(f"{prog}: {err}")
    print_report(report)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

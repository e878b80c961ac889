#!/usr/bin/python3
"""Fuzz test of gpa's data readers: seeded, mutated copies of small inputs, each run under
mpirun with a timeout.

    fuzz_readers.py GPA MPIEXEC SRC [--seed N] [--cases N] [--jobs N] [--keep DIR]

Inputs: the integrate test data (tests/make_integration_data.py: layout v1, AnnData CSR and
dense), tests/data/samples.h5 as a `kind: file` target, a small pair of Fashion-MNIST-shaped
IDX files (plain and gzipped), and `gpa transport --input` files.  Mutations: truncation, byte
flips in the superblock, the metadata and the data, shortened or lengthened id lists,
inconsistent CSR matrices, NaN/Inf, wrong dtypes and ranks, dangling links, missing datasets,
damaged IDX headers and gzip streams.

Every case runs on 1 and on 2 ranks (a subset also on 3).  It passes when gpa succeeds or
prints one `error: ...` line with exit status 1 (bad input) or 4 (I/O); it fails on a signal,
a hang (timeout) or output left behind after a failure (the output, a `.tmp`, a run file).
A one-line error with another status, several lines, or a line that does not name the file is
counted as an unclear error, which is reported but does not fail the test.  A crash whose
innermost frame is inside libhdf5 (HDF5 1.10 reading damaged metadata) is counted apart as
"crash in HDF5" and reported with its reproduction, without failing the test: gpa cannot
guard against it.  The seed and a
reproduction command are printed for each failure.
"""
import argparse
import concurrent.futures as cf
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

CATEGORIES = ["held up", "clean one-line error", "unclear error", "crash", "crash in HDF5",
              "hang", "partial output"]
FAILING = {"crash", "hang", "partial output"}


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gpa")
    ap.add_argument("mpiexec")
    ap.add_argument("src")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("GPA_FUZZ_SEED", "20261207")))
    ap.add_argument("--cases", type=int, default=int(os.environ.get("GPA_FUZZ_CASES", "200")))
    ap.add_argument("--jobs", type=int, default=6, help="cases run at once")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--keep", help="keep the cases in this directory")
    return ap.parse_args()


# ----------------------------------------------------------------------------- base inputs

def make_bases(root, src, gpa, mpiexec):
    """The unmutated inputs, in root/base; returns the deck texts by family."""
    base = os.path.join(root, "base")
    os.makedirs(base)
    subprocess.run([sys.executable, os.path.join(src, "tests", "make_integration_data.py"), base],
                   check=True)
    shutil.copy(os.path.join(src, "tests", "data", "samples.h5"), base)
    rng = np.random.default_rng(1)
    # Fashion-MNIST-shaped IDX files: 30 images of 28 x 28, labels 0 and 1.
    images = rng.integers(0, 256, size=(30, 28, 28), dtype=np.uint8)
    labels = np.array([i % 2 for i in range(30)], dtype=np.uint8)
    idx_img = b"\x00\x00\x08\x03" + b"".join(int(d).to_bytes(4, "big") for d in images.shape)
    idx_lab = b"\x00\x00\x08\x01" + int(30).to_bytes(4, "big")
    open(os.path.join(base, "img-images-idx3-ubyte"), "wb").write(idx_img + images.tobytes())
    open(os.path.join(base, "img-labels-idx1-ubyte"), "wb").write(idx_lab + labels.tobytes())
    import gzip
    for name in ("img-images-idx3-ubyte", "img-labels-idx1-ubyte"):
        data = open(os.path.join(base, name), "rb").read()
        open(os.path.join(base, name + ".gz"), "wb").write(gzip.compress(data, mtime=0))
    # A transport input [40, 2] (gzip-chunked) and the field to move it.
    with h5py.File(os.path.join(base, "points.h5"), "w") as f:
        f.create_dataset("X", data=rng.normal(size=(40, 2)), chunks=(8, 2), compression="gzip")
    deck = os.path.join(src, "tests", "decks", "restart.yml")
    subprocess.run([mpiexec, "-q", "-n", "1", gpa, "run", deck, "-P", "transport.max_steps=3",
                    "-P", "output.checkpoint_every=0", "-P", "output.trajectory_every=0",
                    "--output", os.path.join(base, "field.h5"), "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    return base


# ----------------------------------------------------------------------------- mutations

def data_spans(path):
    """(offset, size) of the raw data of every dataset in an HDF5 file."""
    spans = []

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        try:
            if obj.chunks:
                for i in range(obj.id.get_num_chunks()):
                    c = obj.id.get_chunk_info(i)
                    spans.append((c.byte_offset, c.size))
            else:
                off = obj.id.get_offset()
                if off is not None:
                    spans.append((off, obj.id.get_storage_size()))
        except Exception:
            pass
    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return [s for s in spans if s[1] > 0]


def flip(path, rnd, region):
    b = bytearray(open(path, "rb").read())
    if region == "superblock":
        lo, hi = 0, min(96, len(b))
    elif region == "data":
        spans = data_spans(path)
        if not spans:
            return "no data"
        off, size = rnd.choice(spans)
        lo, hi = off, off + size
    else:  # metadata: anywhere outside the raw data
        spans = data_spans(path)
        for _ in range(100):
            at = rnd.randrange(96, len(b))
            if not any(o <= at < o + s for o, s in spans):
                break
        lo, hi = at, min(at + 64, len(b))
    n = rnd.randint(1, 6)
    for _ in range(n):
        at = rnd.randrange(lo, hi)
        b[at] ^= 1 << rnd.randrange(8)
    open(path, "wb").write(b)
    return f"{n} bit flips in the {region}"


def truncate(path, rnd):
    size = os.path.getsize(path)
    keep = rnd.choice([0, 8, 100, 512, size // 4, size // 2, size * 9 // 10, size - 16,
                       size - 1])
    with open(path, "r+b") as f:
        f.truncate(max(keep, 0))
    return f"cut to {max(keep, 0)} of {size} bytes"


def datasets(f):
    out = []
    f.visititems(lambda n, o: out.append(n) if isinstance(o, h5py.Dataset) else None)
    return out


def replace(f, name, value, **kw):
    del f[name]
    f.create_dataset(name, data=value, **kw)


def structural(path, rnd, kind, x="X"):
    """h5py mutations of an HDF5 input; returns a description."""
    with h5py.File(path, "r+") as f:
        names = datasets(f)
        if kind == "nan":
            d = f[x]
            if isinstance(d, h5py.Group):
                d = f[x + "/data"]
            v = d[()]
            if not np.issubdtype(v.dtype, np.floating):
                return "no float data"
            pos = tuple(rnd.randrange(s) for s in v.shape)
            v[pos] = rnd.choice([np.nan, np.inf, -np.inf])
            d[...] = v
            return f"{v[pos]} at {pos} of {d.name}"
        if kind == "ids_short" or kind == "ids_long":
            cands = [n for n in names if n.endswith(("gene_ids", "sample_ids", "_index"))]
            if not cands:
                return "no ids"
            n = rnd.choice(cands)
            v = f[n][()]
            v = v[: rnd.randrange(len(v))] if kind == "ids_short" else np.concatenate([v, v[:7]])
            replace(f, n, v)
            return f"{n} now {len(v)} entries"
        if kind == "csr":
            if "X/indptr" not in f:
                return "not CSR"
            what = rnd.choice(["decreasing", "negative", "beyond", "data_short", "indices_short",
                               "indices_range", "indptr_short", "shape"])
            p = f["X/indptr"][()]
            if what == "decreasing":
                i = rnd.randrange(1, len(p) - 1)
                p[i] = p[i + 1] + rnd.randint(1, 50)
                f["X/indptr"][...] = p
            elif what == "negative":
                p[rnd.randrange(len(p))] = -rnd.randint(1, 100)
                f["X/indptr"][...] = p
            elif what == "beyond":
                p[-1] = f["X/data"].shape[0] + rnd.randint(1, 100)
                f["X/indptr"][...] = p
            elif what in ("data_short", "indices_short"):
                n = "X/" + what.split("_")[0]
                replace(f, n, f[n][: -rnd.randint(1, 200)])
            elif what == "indices_range":
                v = f["X/indices"][()]
                v[rnd.randrange(len(v))] = rnd.choice([-1, 10 ** 6])
                f["X/indices"][...] = v
            elif what == "indptr_short":
                replace(f, "X/indptr", p[:-3])
            else:
                f["X"].attrs["shape"] = np.array([rnd.randint(-5, 500), rnd.randint(0, 500)])
            return f"CSR {what}"
        if kind == "dtype":
            n = rnd.choice(names)
            v = f[n][()]
            new = rnd.choice(["str", "int8", "compound", "bool"])
            shape = np.shape(v)
            if new == "str":
                v = np.full(shape, b"abc", dtype="S3")
            elif new == "int8":
                v = np.zeros(shape, dtype=np.int8)
            elif new == "bool":
                v = np.ones(shape, dtype=bool)
            else:
                v = np.zeros(shape, dtype=[("a", "<f4"), ("b", "<i4")])
            replace(f, n, v)
            return f"{n} as {new}"
        if kind == "rank":
            n = rnd.choice(names)
            v = f[n][()]
            v = np.reshape(v, (-1,)) if np.ndim(v) > 1 else np.reshape(v, (1, -1, 1)) \
                if np.size(v) else v
            if rnd.random() < 0.3:
                v = np.asarray(v).ravel()[:1].reshape(()) if np.size(v) else v
            replace(f, n, v)
            return f"{n} reshaped to {np.shape(v)}"
        if kind == "dangling":
            n = rnd.choice(names)
            del f[n]
            f[n] = h5py.SoftLink("/nowhere/" + n.split("/")[-1])
            return f"{n} a dangling soft link"
        if kind == "external":
            n = rnd.choice(names)
            del f[n]
            f[n] = h5py.ExternalLink("no_such_file.h5", "/X")
            return f"{n} an external link to a missing file"
        if kind == "missing":
            n = rnd.choice(names)
            del f[n]
            return f"{n} deleted"
        if kind == "lzf":
            n = rnd.choice(names)
            v = f[n][()]
            if np.ndim(v) == 0 or v.dtype.kind in "OSU":
                return "not compressible"
            replace(f, n, v, compression="lzf", chunks=True)
            return f"{n} lzf-compressed"
        if kind == "empty":
            n = rnd.choice(names)
            v = f[n][()]
            replace(f, n, v[:0] if np.ndim(v) else v)
            return f"{n} emptied"
    raise ValueError(kind)


def idx_mutation(path, rnd):
    b = bytearray(open(path, "rb").read())
    kind = rnd.choice(["truncate", "header", "data", "trailing"])
    if kind == "truncate":
        keep = rnd.randrange(len(b))
        b = b[:keep]
    elif kind == "header":
        for _ in range(rnd.randint(1, 3)):
            b[rnd.randrange(min(16, len(b)))] ^= 1 << rnd.randrange(8)
    elif kind == "data":
        for _ in range(rnd.randint(1, 20)):
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
    elif kind == "trailing":
        b += bytes(rnd.randint(1, 100))
    open(path, "wb").write(b)
    return f"IDX {kind}"


# ----------------------------------------------------------------------------- cases

HDF5_MUTATIONS = ["truncate", "flip:superblock", "flip:metadata", "flip:data", "nan",
                  "ids_short", "ids_long", "csr", "dtype", "rank", "dangling", "external",
                  "missing", "lzf", "empty"]

# family: (base file, mutations, weight)
FAMILIES = {
    "integrate_v1": ("batches.h5", HDF5_MUTATIONS, 3),
    "integrate_csr": ("source.h5ad", HDF5_MUTATIONS + ["csr"] * 3, 3),
    "integrate_dense_h5ad": ("both.h5ad", HDF5_MUTATIONS, 2),
    "file_target": ("samples.h5", ["truncate", "flip:superblock", "flip:metadata", "flip:data",
                                   "nan", "dtype", "rank", "dangling", "missing", "lzf",
                                   "empty"], 2),
    "transport_input": ("points.h5", ["truncate", "flip:superblock", "flip:metadata",
                                      "flip:data", "nan", "dtype", "rank", "dangling",
                                      "missing", "lzf", "empty"], 2),
    "idx_plain": ("img-images-idx3-ubyte", ["idx"], 1),
    "idx_labels": ("img-labels-idx1-ubyte", ["idx"], 1),
    "idx_gzip": ("img-images-idx3-ubyte.gz", ["idx"], 1),
}


def command(family, d, src, gpa):
    """The gpa command line of a case in directory d (its mutated input already there)."""
    deck = os.path.join(src, "tests", "decks", "integrate.yml")
    fast = ["-P", "transport.max_steps=2", "-P", "optimizer.epochs=1"]
    if family == "integrate_v1":
        return [gpa, "integrate", deck, *fast, "-P", "integrate.source_file=batches.h5",
                "--output", "out.h5"]
    if family == "integrate_csr":
        return [gpa, "integrate", deck, *fast, "-P", "integrate.source_file=source.h5ad",
                "-P", "integrate.target_file=target.h5ad", "-P", "integrate.source_batch=[]",
                "-P", "integrate.target_batch=[]", "-P", "integrate.batch_key=",
                "-P", "integrate.label_key=cell_type", "--output", "out.h5"]
    if family == "integrate_dense_h5ad":
        return [gpa, "integrate", deck, *fast, "-P", "integrate.source_file=both.h5ad",
                "-P", "integrate.label_key=cell_type", "--output", "out.h5"]
    if family == "file_target":
        open(os.path.join(d, "deck.yml"), "w").write(
            "target:\n  kind: file\n  file: samples.h5\ntransport:\n  max_steps: 2\n"
            "output:\n  progress_every: 0\n")
        return [gpa, "run", "deck.yml", "--output", "out.h5"]
    if family == "transport_input":
        return [gpa, "transport", "--field", "field.h5", "--input", "points.h5:/X",
                "--output", "out.h5"]
    images = "img-images-idx3-ubyte" + (".gz" if family == "idx_gzip" else "")
    open(os.path.join(d, "deck.yml"), "w").write(
        "source:\n  kind: logistic\n  n: 20\n  dim: 784\n"
        f"target:\n  kind: fashion_mnist\n  n: 20\n  classes: [0, 1]\n  file: {images}\n"
        "  labels_file: img-labels-idx1-ubyte\n"
        "network:\n  widths: [8]\ntransport:\n  max_steps: 1\n"
        "output:\n  progress_every: 0\n  trajectory_every: 0\n")
    return [gpa, "run", "deck.yml", "--output", "out.h5"]


def prepare(case_dir, base, family, mutation, seed):
    """Copies the base inputs into case_dir and mutates the family's file; returns the
    description."""
    os.makedirs(case_dir)
    for name in os.listdir(base):
        shutil.copy(os.path.join(base, name), case_dir)
    target = os.path.join(case_dir, FAMILIES[family][0])
    rnd = random.Random(seed)
    if mutation == "idx":
        return idx_mutation(target.removesuffix(".gz"), rnd) if family != "idx_gzip" else \
            gzip_idx_mutation(target, rnd)
    if mutation == "truncate":
        return truncate(target, rnd)
    if mutation.startswith("flip:"):
        return flip(target, rnd, mutation[5:])
    try:
        return structural(target, rnd, mutation)
    except Exception as e:  # h5py refused the mutation itself: run the file as it is
        return f"{mutation} (not applied: {type(e).__name__})"


def gzip_idx_mutation(path, rnd):
    g = bytearray(open(path, "rb").read())
    kind = rnd.choice(["truncate", "flip", "trailing"])
    if kind == "truncate":
        g = g[: rnd.randrange(len(g))]
    elif kind == "flip":
        for _ in range(rnd.randint(1, 6)):
            at = rnd.randrange(len(g))
            g[at] ^= 1 << rnd.randrange(8)
    else:
        g += bytes(rnd.randint(1, 50))
    open(path, "wb").write(g)
    return f"gzip {kind}"


def in_hdf5(text):
    """True when the innermost frame of Open MPI's backtrace outside libc is in libhdf5: HDF5
    itself crashed on damaged metadata (1.10 does not check, e.g., global-heap object sizes
    of variable-length strings), which gpa cannot guard against short of its own HDF5 parser."""
    for line in text.splitlines():
        if "] [" in line and "(" in line:
            if "libc.so" in line:
                continue
            return "libhdf5" in line
    return False


def leftovers(d, before):
    return sorted(n for n in os.listdir(d) if n not in before and
                  (n.startswith("out") or n.endswith(".tmp")))


def run_case(c, args, src):
    d = c["dir"]
    cmd = [args.mpiexec, "-q", "-n", str(c["ranks"])] + command(c["family"], d, src, args.gpa)
    before = set(os.listdir(d))
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=d, capture_output=True, text=True, errors="replace",
                           timeout=args.timeout)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = None, "", (e.stderr or b"").decode(errors="replace") \
            if isinstance(e.stderr, bytes) else (e.stderr or "")
    c["seconds"] = time.time() - t0
    c["cmd"] = cmd
    lines = [l for l in err.splitlines() if l.strip()]
    left = leftovers(d, before)
    text = out + err
    signalled = rc is not None and (rc < 0 or rc > 128 or "exited on signal" in text or
                                    "Signal:" in text or "Segmentation fault" in text)
    if rc is None:
        cat = "hang"
    elif signalled:
        cat = "crash in HDF5" if in_hdf5(text) else "crash"
    elif rc == 0:
        cat = "held up"
    elif left:
        cat = "partial output"
    elif rc in (1, 4) and len(lines) == 1 and lines[0].startswith("error: ") and \
            c["file"].split(".")[0] in lines[0]:
        cat = "clean one-line error"
    else:
        cat = "unclear error"
    if rc not in (None, 0) and left and not cat.startswith(("hang", "crash")):
        cat = "partial output"
    c.update(category=cat, rc=rc, stderr=err.strip()[-600:], left=left)
    if cat in ("held up", "clean one-line error") and not args.keep:
        shutil.rmtree(d, ignore_errors=True)
    return c


def main():
    args = parse()
    args.gpa = os.path.realpath(args.gpa)
    src = os.path.realpath(args.src)
    root = args.keep or tempfile.mkdtemp(prefix="gpa-fuzz-")
    os.makedirs(root, exist_ok=True)
    t0 = time.time()
    print(f"fuzz_readers: seed {args.seed}, {args.cases} cases, in {root}", flush=True)
    base = make_bases(root, src, args.gpa, args.mpiexec)
    rnd = random.Random(args.seed)
    fams = [f for f, v in FAMILIES.items() for _ in range(v[2])]
    cases = []
    for i in range(args.cases):
        family = rnd.choice(fams)
        mutation = rnd.choice(FAMILIES[family][1])
        cseed = rnd.randrange(1 << 30)
        for ranks in [1, 2] + ([3] if i % 5 == 0 else []):
            cases.append(dict(id=i, family=family, mutation=mutation, seed=cseed, ranks=ranks,
                              file=FAMILIES[family][0]))
    for c in cases:
        c["dir"] = os.path.join(root, f"case{c['id']:04d}_{c['ranks']}")
        c["what"] = prepare(c["dir"], base, c["family"], c["mutation"], c["seed"])
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = list(pool.map(lambda c: run_case(c, args, src), cases))
    counts = {k: 0 for k in CATEGORIES}
    by_family = {}
    for c in done:
        counts[c["category"]] += 1
        by_family.setdefault(c["family"], {k: 0 for k in CATEGORIES})[c["category"]] += 1
    bad = [c for c in done if c["category"] in FAILING]
    unclear = [c for c in done if c["category"] == "unclear error"]
    for c in unclear:
        print(f"unclear: case {c['id']} ({c['family']}, {c['what']}, {c['ranks']} ranks, "
              f"exit {c['rc']}): {c['stderr'][:300]!r}")
    for c in bad + [c for c in done if c["category"] == "crash in HDF5"]:
        print(f"{'FAIL' if c in bad else 'note'} {c['category']}: case {c['id']} ({c['family']}, {c['what']}, "
              f"{c['ranks']} ranks, exit {c['rc']}, {c['seconds']:.1f} s)")
        if c["left"]:
            print(f"  left behind: {c['left']}")
        print(f"  stderr: {c['stderr'][:600]}")
        print(f"  reproduce: {sys.executable} {os.path.realpath(__file__)} {args.gpa} "
              f"{args.mpiexec} {src} --seed {args.seed} --cases {c['id'] + 1} --keep DIR; "
              f"then in DIR/case{c['id']:04d}_{c['ranks']}: {' '.join(c['cmd'])}")
    print(f"{'family':22s}" + "".join(f"{k:>22s}" for k in CATEGORIES))
    for fam, n in sorted(by_family.items()):
        print(f"{fam:22s}" + "".join(f"{n[k]:22d}" for k in CATEGORIES))
    print(f"{'all':22s}" + "".join(f"{counts[k]:22d}" for k in CATEGORIES))
    print(f"fuzz_readers: seed {args.seed}: {len(done)} runs of {args.cases} cases in "
          f"{time.time() - t0:.0f} s; {len(bad)} failures")
    if not args.keep and not bad:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

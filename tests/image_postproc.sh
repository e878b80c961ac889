#!/bin/bash
# The image post-processing scripts on a synthetic run file built from real Fashion-MNIST images:
# targets = 40 training sneakers, particles = the targets plus small noise (memorised),
# generated = 200 other training sneakers (as good as real data), a 3-snapshot trajectory from
# noise. image_metrics.py must pass its self-test, call the generated set real and the particles
# copies; both plots must give PNGs; bad inputs get one-line refusals. The Sinkhorn divergence
# comes from `gpa metrics`: the binary is the second argument, else ./gpa (meson runs the tests
# in the build folder).
# Skipped (77) without Debian's Fashion-MNIST files or Python packages.
set -u
src=$1
idx=/usr/share/datasets/fashion-mnist
python3=/usr/bin/python3
[ -r $idx/train-images-idx3-ubyte.gz ] && [ -r $idx/t10k-labels-idx1-ubyte.gz ] ||
  { echo "skip: no Fashion-MNIST IDX files in $idx"; exit 77; }
$python3 -c "import numpy, h5py, matplotlib" 2> /dev/null ||
  { echo "skip: $python3 lacks numpy, h5py or matplotlib"; exit 77; }
gpa=$(realpath "${2:-gpa}" 2> /dev/null)
[ -x "$gpa" ] || { echo "FAIL: no gpa binary (${2:-./gpa}): pass its path as the second argument"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
post=$src/postproc
png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]; }

$python3 "$post/image_metrics.py" --self-test --gpa "$gpa" > selftest.txt 2>&1 || { cat selftest.txt; fail "self-test"; }
cat selftest.txt

IDX=$idx $python3 - << 'PY' || fail "making the synthetic run file"
import gzip, os
import h5py
import numpy as np
idx = os.environ["IDX"]
def read(name, header):
    raw = gzip.open(f"{idx}/{name}", "rb").read()
    return np.frombuffer(raw, np.uint8, offset=header)
images = read("train-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
labels = read("train-labels-idx1-ubyte.gz", 8)
rng = np.random.default_rng(3)
rows = rng.permutation(np.flatnonzero(labels == 7))
target, generated = images[rows[:40]], images[rows[40:240]]
particles = target + rng.normal(0.0, 0.02, target.shape)
noise = rng.logistic(0.0, 0.1, (40, 784))
gnoise = rng.logistic(0.0, 0.1, (200, 784))
with h5py.File("run.h5", "w") as f:
    f.attrs["format"] = np.bytes_("gpa-run")
    f.attrs["format_version"] = np.int64(1)
    f.attrs["status"] = np.bytes_("completed: synthetic")
    f.attrs["steps"] = np.int64(100)
    f.create_group("code").attrs["version"] = np.bytes_("test")
    t = f.create_group("parameters/target")
    t.attrs["kind"] = np.bytes_("fashion_mnist")
    t.attrs["classes"] = np.int64(7)
    f.create_group("parameters/source").attrs["kind"] = np.bytes_("logistic")
    f["target"] = target
    f["particles/initial"], f["particles/final"] = noise, particles
    f["generated/initial"], f["generated/final"] = gnoise, generated
    for name, n in (("target", 40), ("particles", 40), ("generated", 200)):
        f[f"labels/{name}"] = np.full(n, 7, np.int32)
    f["trajectory/step"] = np.array([0, 50, 100])
    f["trajectory/positions"] = np.stack([noise, 0.5 * (noise + particles), particles])
    f["trajectory/generated"] = np.stack([gnoise, 0.5 * (gnoise + generated), generated])
    f["monitor/step"] = np.arange(1, 101)
    f["monitor/divergence"] = np.exp(-np.arange(100) / 30.0)
    f["monitor/kinetic_energy"] = np.exp(-np.arange(100) / 20.0)
with h5py.File("flat.h5", "w") as f:
    f.attrs["format"], f.attrs["format_version"] = np.bytes_("gpa-run"), np.int64(1)
    f["target"] = np.zeros((5, 2))
    f["particles/initial"] = f["particles/final"] = np.zeros((5, 2))
PY

$python3 "$post/image_metrics.py" run.h5 --per-step --json m.json --gpa "$gpa" > metrics.txt 2>&1 ||
  { cat metrics.txt; fail "image_metrics.py"; }
cat metrics.txt
$python3 - << 'PY' || fail "metric values"
import json
r = json.load(open("m.json"))
assert r["classes"] == [7] and r["targets"]["in_training_set"] == 40, (r["classes"], r["targets"])
assert r["heldout"]["n"] == 1000, r["heldout"]
g, p = r["sets"]["generated"], r["sets"]["particles"]
assert g["n"] == g["fresh_n"] == 200 and p["n"] == p["fresh_n"] == 40
assert 0.5 < g["sinkhorn_heldout"] / g["fresh_sinkhorn_heldout"] < 2.0, g
assert 0.5 < g["memorisation_ratio"] < 1.5 and g["near_copy_fraction"] < 0.2, g
assert p["memorisation_ratio"] < 0.5 and p["near_copy_fraction"] > 0.9, p
assert 0.5 < p["fresh_memorisation_ratio"] < 1.5, p
c = r["per_step"]
assert c["step"] == [0, 50, 100], c["step"]
for name in ("particles", "generated"):
    curve = c[name]
    assert all(len(curve[k]) == 3 for k in ("sinkhorn_heldout", "memorisation_ratio",
                                            "near_copy_fraction")), curve
    # The last snapshot is the final set: the same numbers.
    for k in ("sinkhorn_heldout", "memorisation_ratio", "near_copy_fraction"):
        assert abs(curve[k][-1] - r["sets"][name][k]) <= 1e-9 * abs(r["sets"][name][k]) + 1e-12
    assert curve["sinkhorn_heldout"][0] > 2 * curve["sinkhorn_heldout"][-1], curve
print(f"ok: generated S {g['sinkhorn_heldout']:.4g} vs fresh real {g['fresh_sinkhorn_heldout']:.4g},"
      f" memorisation {g['memorisation_ratio']:.3f}; particles memorisation "
      f"{p['memorisation_ratio']:.3f}, near copies {p['near_copy_fraction']:.2f}")
PY

$python3 "$post/plot_images.py" run.h5 -o images.png > plot.txt 2>&1 || { cat plot.txt; fail "plot_images"; }
png images.png || fail "plot_images: not a PNG"
$python3 "$post/plot_images.py" run.h5 --step 40 --n 6 -o step.png > plot.txt 2>&1 ||
  { cat plot.txt; fail "plot_images --step"; }
png step.png || fail "plot_images --step: not a PNG"
$python3 "$post/plot_image_metrics.py" m.json -o curves.png > plot.txt 2>&1 ||
  { cat plot.txt; fail "plot_image_metrics"; }
png curves.png || fail "plot_image_metrics: not a PNG"
echo "ok: three PNGs"

# The reader, postproc/gpafiles.py: monitor columns from /monitor's columns attribute (in its
# order) or, without it, from the datasets; /pca/components 2-D from either layout; the format
# of each file recognised, and foreign files refused.
POST=$post $python3 - << 'PY' || fail "gpafiles.py"
import os, shutil, sys
import h5py
import numpy as np
sys.path.insert(0, os.environ["POST"])
import gpafiles
shutil.copy("run.h5", "cols.h5")
with h5py.File("cols.h5", "a") as f:
    f["monitor"].attrs["columns"] = np.bytes_("step,kinetic_energy,divergence")
with gpafiles.RunFile("run.h5") as r, gpafiles.RunFile("cols.h5") as c:
    assert sorted(r.monitor_columns) == ["divergence", "kinetic_energy", "step"], r.monitor_columns
    assert c.monitor_columns == ["step", "kinetic_energy", "divergence"], c.monitor_columns
    assert list(c.monitor) == c.monitor_columns
    assert all(np.array_equal(r.monitor[k], c.monitor[k]) for k in r.monitor)
comps = np.arange(12.0).reshape(3, 4)
for name, flat in (("flat.int.h5", True), ("2d.int.h5", False)):
    with h5py.File(name, "w") as f:
        f.attrs["format"] = np.bytes_("gpa-integrated")
        f["pca/mean"] = np.zeros(4)
        f["pca/components"] = comps.ravel() if flat else comps
        if flat:
            f["pca/components"].attrs["shape"] = np.array([3, 4], np.int64)
    with gpafiles.open_file(name) as f:
        assert isinstance(f, gpafiles.IntegrateFile)
        assert np.array_equal(f.pca_components, comps), (name, f.pca_components)
for name, cls in (("run.h5", gpafiles.RunFile), ("flat.int.h5", gpafiles.IntegrateFile)):
    other = gpafiles.IntegrateFile if cls is gpafiles.RunFile else gpafiles.RunFile
    try:
        other(name)
        raise SystemExit(f"{other.__name__} accepted {name}")
    except gpafiles.GpaFileError as e:
        assert e.path == name and e.reason.startswith("not a gpa"), e
print("ok: gpafiles.py reads monitor columns and PCA components in both layouts")
PY

refuse() { # expected message, then the command
  local expect=$1
  shift
  "$@" > out.txt 2> err.txt && fail "accepted: $*"
  [ "$(wc -l < err.txt)" -eq 1 ] && grep -qF -- "$expect" err.txt || { cat err.txt; fail "message: $*"; }
  echo "ok: $(cat err.txt)"
}
mkdir empty bad
printf 'not an idx file' | gzip > bad/train-images-idx3-ubyte.gz
metrics() { $python3 "$post/image_metrics.py" --gpa "$gpa" "$@"; }
refuse "image metrics need 784" metrics flat.h5 --json x.json
refuse "train-images-idx3-ubyte.gz: no such file" \
  metrics run.h5 --idx-dir empty --json x.json
refuse "not an IDX file" metrics run.h5 --idx-dir bad --json x.json
refuse "--classes 12: need classes 0-9" \
  metrics run.h5 --classes 12 --json x.json
refuse "not an HDF5 file" metrics m.json
refuse "nothing: no gpa binary there" $python3 "$post/image_metrics.py" --self-test --gpa nothing
refuse "not 28 x 28 pixels" $python3 "$post/plot_images.py" flat.h5 -o x.png
refuse "not JSON" $python3 "$post/plot_image_metrics.py" selftest.txt -o x.png
metrics run.h5 --json final.json > metrics.txt 2>&1 ||
  { cat metrics.txt; fail "image_metrics.py without --per-step"; }
refuse "no per-step curves" $python3 "$post/plot_image_metrics.py" final.json -o x.png
[ ! -e x.png ] && [ ! -e x.json ] || fail "output left behind"
echo "all image post-processing tests passed"

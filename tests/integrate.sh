#!/bin/bash
# gpa integrate end to end on small data with a known batch effect (tests/make_integration_data
# .py): layout-v1 input on 1, 2 and 3 ranks (the same result and the same report), the report's
# figures against the independent evaluators' definitions (tests/check_integration.py, with
# shared/bench/integration_eval.py when the checkout has it beside), a label's recorded deck
# rerun by `gpa run` (the same particles), AnnData input (CSR and dense, genes matched by id
# across two files), and every kind of bad data refused with one line, a non-zero exit and no
# output.
set -u
gpa=$(realpath "$1") mpiexec=$2 compare=$(realpath "$3") src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
run() { "$mpiexec" -q "$@"; }
python3=/usr/bin/python3
$python3 "$src/tests/make_integration_data.py" . || fail "test data"
deck=$src/tests/decks/integrate.yml

bench=$src/../shared/bench
[ -e "$bench/integration_eval.py" ] || bench=""
for n in 1 2 3; do
  run -n $n "$gpa" integrate "$deck" -P integrate.pair_key=subject --output out$n.h5 \
    --report out$n.json > log$n.txt 2>&1 || { cat log$n.txt; fail "integrate on $n ranks"; }
  $python3 "$src/tests/check_integration.py" out$n.h5 batches.h5 out$n.json --pair-key subject \
    ${bench:+--bench "$bench"} || fail "check ($n)"
done
for n in 2 3; do
  "$compare" out1.h5 out$n.h5 1e-6 /X /latent /baseline/X /pca/singular_values ||
    fail "1 and $n ranks differ"
done
grep -q "^bar (issue 13): " log2.txt && grep -q "^  truth: distance to the twin" log2.txt ||
  { cat log2.txt; fail "no report printed"; }
# The reports of 1, 2 and 3 ranks: the same figures (a zero such as the latent R to rounding).
$python3 - out1.json out2.json out3.json << 'PY' || fail "the reports of 1, 2 and 3 ranks differ"
import json, sys
def flat(x, p=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from flat(v, p + "/" + k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from flat(v, f"{p}[{i}]")
    else:
        yield p, x
skip = ("_seconds", "_seconds_per_step", "run_file")
r = [dict(flat(json.load(open(f)))) for f in sys.argv[1:]]
for other in r[1:]:
    assert other.keys() == r[0].keys()
    for k, a in r[0].items():
        b = other[k]
        if k.endswith(skip) or a == b:
            continue
        assert isinstance(a, float) and isinstance(b, float) and \
            abs(a - b) <= 1e-6 * max(abs(a), abs(b)) + 1e-9, (k, a, b)
PY
echo "ok: 1, 2 and 3 ranks agree, reports included"

# Each label's run file records a deck that reproduces the run: its source and target are the
# label's rows in the output (/runs/LABEL, latent coordinates / latent_scale).  One label's
# recorded deck, run by `gpa run` on 1 rank as integrate ran it, moves the same particles
# bitwise (a latent scale other than 1 so that the scaling is part of what is checked).
run -n 1 "$gpa" integrate "$deck" -P integrate.latent_scale=2.5 --output scaled.h5 \
  --report scaled.json > logs.txt 2>&1 || { cat logs.txt; fail "integrate, latent_scale 2.5"; }
$python3 - scaled.h5 scaled.beta.h5 beta.yml << 'PY' || fail "the recorded deck"
import sys
import h5py
import numpy as np
out, run, deck = sys.argv[1:]
with h5py.File(run, "r") as r, h5py.File(out, "r") as f:
    text = r["/parameters"].attrs["deck"]
    open(deck, "w").write(text if isinstance(text, str) else text.decode())
    scale = float(np.ravel(f["/pca"].attrs["latent_scale"])[0])
    assert scale == 2.5, scale
    beta = [s.decode() for s in f["/obs/label_names"][()]].index("beta")
    rows = (f["/obs/label"][()] == beta) & (f["/obs/origin"][()] == 0)
    # The moved points of the output are the run's final particles, scaled back.
    assert np.array_equal(f["/latent"][()][rows], r["/particles/final"][()] * scale)
PY
grep -q "dataset: \"/runs/beta/source\"" beta.yml && grep -q "file: \"scaled.h5\"" beta.yml ||
  { cat beta.yml; fail "the recorded deck does not name /runs/beta"; }
run -n 1 "$gpa" run beta.yml --output rerun.h5 > logr.txt 2>&1 ||
  { cat logr.txt; fail "gpa run of a recorded deck"; }
$python3 - scaled.beta.h5 rerun.h5 << 'PY' || fail "the recorded deck does not reproduce the run"
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    for name in ("/particles/initial", "/target", "/particles/final", "/monitor/divergence"):
        assert np.array_equal(a[name][()], b[name][()]), name
print("ok: the recorded deck of label beta reproduces its particles bitwise with gpa run")
PY

# The Markdown report: the numbers of the stored report, one row per label; anything else refused.
$python3 "$src/postproc/integration_report.py" out2.h5 -o report.md > md.txt 2>&1 ||
  { cat md.txt; fail "integration_report"; }
$python3 - out2.h5 report.md <<'PY' || fail "integration_report content"
import h5py, json, sys
with h5py.File(sys.argv[1]) as f:
    r = json.loads(f.attrs["report"])
md = open(sys.argv[2]).read()
b = r["bar"]
assert f"Bar: {'PASS' if b['pass'] else 'FAIL'}, {b['checks_passed']} of " \
    f"{b['checks_passed'] + b['checks_failed']} checks pass" in md, md
for lab, v in list(r["labels"].items()) + [("pooled", r["pooled"])]:
    assert f"| {lab} | {v['source_samples']}/{v['target_samples']} | {v['gene']['D']:.4g} |" in md, lab
PY
$python3 "$src/postproc/integration_report.py" batches.h5 -o no.md > md.txt 2>&1 &&
  fail "integration_report accepted a data file"
grep -q "batches.h5: not a gpa integrate output" md.txt && [ ! -e no.md ] ||
  { cat md.txt; fail "integration_report message"; }
echo "ok: Markdown report"

# The PCA picture: a PNG from an integrate output, a one-line refusal of anything else.
if $python3 -c "import matplotlib" 2> /dev/null; then
  $python3 "$src/postproc/plot_integration.py" out2.h5 -o pca.png > plot.txt 2>&1 ||
    { cat plot.txt; fail "plot_integration"; }
  [ "$(head -c 8 pca.png | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] || fail "not a PNG"
  $python3 "$src/postproc/plot_integration.py" batches.h5 -o no.png > plot.txt 2>&1 &&
    fail "plot_integration accepted a data file"
  grep -q "not a gpa integrate output" plot.txt && [ ! -e no.png ] ||
    { cat plot.txt; fail "plot_integration message"; }
  echo "ok: PCA picture"
else
  echo "note: python3-matplotlib missing; the picture is not checked"
fi

if $python3 -c "import anndata" 2> /dev/null; then
  run -n 2 "$gpa" integrate "$deck" -P integrate.source_file=source.h5ad \
    -P integrate.target_file=target.h5ad -P integrate.source_batch=[] \
    -P integrate.target_batch=[] -P integrate.batch_key= -P integrate.label_key=cell_type \
    --output ad.h5 --report ad.json > logad.txt 2>&1 || { cat logad.txt; fail "h5ad"; }
  grep -q "note: 55 genes are in both files (source 60, target 58)" logad.txt ||
    { cat logad.txt; fail "gene matching note"; }
  $python3 - << 'PY' || fail "h5ad result"
import h5py, json
import numpy as np
f = h5py.File("ad.h5", "r")
assert f["/X"].shape == (120, 55), f["/X"].shape
genes = [g.decode() for g in f["/var/gene_ids"][()]]
assert genes == sorted(genes) and len(set(genes)) == 55 and "EXTRA1" not in genes
r = json.load(open("ad.json"))
assert sorted(r["labels"]) == ["alpha", "beta", "gamma"], r["labels"].keys()
print("ok: AnnData CSR source and dense target, 55 shared genes, labels matched by name")
PY
  run -n 2 "$gpa" integrate "$deck" -P integrate.source_file=both.h5ad \
    -P integrate.label_key=cell_type --output both_out.h5 > logboth.txt 2>&1 ||
    { cat logboth.txt; fail "h5ad, one file"; }
  $python3 - << 'PY' || fail "h5ad output"
import anndata
import numpy as np
a = anndata.read_h5ad("both_out.h5ad")
assert a.shape == (120, 60), a.shape
assert {"batch", "cell_type", "depth", "gpa_origin", "gpa_label"} <= set(a.obs.columns), a.obs.columns
orig = anndata.read_h5ad("both.h5ad")
assert np.allclose(a.obs["depth"].to_numpy(), np.r_[orig.obs["depth"][60:], orig.obs["depth"][:60]])
assert list(a.obs["batch"][:60].unique()) == ["b1"] and list(a.obs["batch"][60:].unique()) == ["b0"]
assert a.obsm["X_gpa"].shape == (120, 10) and a.obsm["X_pca"].shape == (120, 10)
assert "labels" in a.uns["gpa_report"]
print("ok: one AnnData file in, an .h5ad out with X corrected, obsm['X_gpa'] and the original obs")
PY
else
  echo "note: python3-anndata missing; the .h5ad part is skipped"
fi

refuse() { # expected message, then gpa options
  local expect=$1
  shift
  run -n 2 "$gpa" integrate "$deck" --output bad.h5 "$@" > out.txt 2> err.txt && fail "accepted: $*"
  [ "$(wc -l < err.txt)" -eq 1 ] && grep -qF -- "$expect" err.txt || { cat err.txt; fail "message: $*"; }
  ls bad.h5* > /dev/null 2>&1 && fail "output left behind: $*"
  echo "ok: $(cat err.txt)"
}
refuse "bad_nox.h5: no dataset /X (samples x genes)" -P integrate.source_file=bad_nox.h5
refuse "share no gene ids" -P integrate.target_file=bad_genes.h5 -P integrate.target_batch=[]
refuse "label 'gamma' has 20 source and 0 target samples" -P integrate.source_file=bad_label.h5
refuse "bad_nan.h5: /X of sample 70, gene 5 holds NaN or Inf" -P integrate.source_file=bad_nan.h5
refuse "integrate.components: 200 components need at least 201 samples" \
  -P integrate.components=200
refuse "integrate.source_batch: batches.h5 has no batch 7" -P integrate.source_batch=[7]
refuse "no obs column 'tissue'" -P integrate.label_key=tissue
refuse "labels 'a b' and 'a_b' have the same file name 'a_b'" \
  -P integrate.source_file=bad_label_names.h5
refuse "cannot open 'missing.h5': No such file or directory" -P integrate.source_file=missing.h5

# Id lists that do not match X, and inconsistent CSR matrices: one line on 1, 2 and 3 ranks,
# never a crash or a hang (a timeout fails the test).
refuse_on() { # ranks, expected message, then gpa options
  local n=$1 expect=$2
  shift 2
  timeout 120 "$mpiexec" -q -n "$n" "$gpa" integrate "$deck" --output bad.h5 "$@" > out.txt 2> err.txt
  local rc=$?
  [ $rc -eq 124 ] && fail "hang on $n ranks: $*"
  [ $rc -eq 0 ] && fail "accepted on $n ranks: $*"
  [ $rc -gt 128 ] && { cat err.txt; fail "signal $((rc - 128)) on $n ranks: $*"; }
  [ "$(wc -l < err.txt)" -eq 1 ] && grep -qF -- "$expect" err.txt ||
    { cat err.txt; fail "message on $n ranks: $*"; }
  ls bad.h5* > /dev/null 2>&1 && fail "output left behind: $*"
  echo "ok ($n ranks): $(cat err.txt)"
}
for n in 1 2 3; do
  refuse_on $n "bad_ids_short_genes.h5: /var/gene_ids has 10 ids for 60 genes" \
    -P integrate.source_file=bad_ids_short_genes.h5
  refuse_on $n "bad_ids_long_genes.h5: /var/gene_ids has 70 ids for 60 genes" \
    -P integrate.source_file=bad_ids_long_genes.h5
  refuse_on $n "bad_ids_short_samples.h5: /obs/sample_ids has 10 ids for 120 samples" \
    -P integrate.source_file=bad_ids_short_samples.h5 -P integrate.label_key=
done
if [ -e bad_indptr_negative.h5ad ]; then
  h5ad() { echo -P integrate.source_file=$1 -P integrate.target_file=target.h5ad \
    -P integrate.source_batch=[] -P integrate.target_batch=[] -P integrate.batch_key= \
    -P integrate.label_key=cell_type; }
  for n in 1 2 3; do
    refuse_on $n "bad_indptr_decreasing.h5ad: /X/indptr is not non-decreasing at row 17" \
      $(h5ad bad_indptr_decreasing.h5ad)
    refuse_on $n "bad_indptr_negative.h5ad: /X/indptr[5] is negative (-3)" \
      $(h5ad bad_indptr_negative.h5ad)
    refuse_on $n "bad_indptr_beyond.h5ad: /X/indptr: row 59 ends at 3650, beyond the 3600 values of /X/data" \
      $(h5ad bad_indptr_beyond.h5ad)
    refuse_on $n "bad_data_short.h5ad: /X/data has 3500 values but /X/indices has 3600" \
      $(h5ad bad_data_short.h5ad)
    refuse_on $n "bad_indices_short.h5ad: /X/data has 3600 values but /X/indices has 3500" \
      $(h5ad bad_indices_short.h5ad)
    refuse_on $n "bad_obs_index_short.h5ad: /obs/_index has 10 ids for 60 samples" \
      $(h5ad bad_obs_index_short.h5ad)
  done
fi
echo "all integration tests passed"

#!/bin/bash
# Each deck in tests/bad_inputs/ names the error it must produce on its first line
# ("# expect: ...").  On 1 and on 2 ranks (mpirun -q, which keeps mpirun's own notices quiet)
# gpa must print exactly one line on stderr, "error: ..." containing that text, exit non-zero,
# and leave no output file (nor a .tmp) behind.  The last checks run gpa without mpirun.
set -u
gpa=$(realpath "$1") mpiexec=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
fail=0 count=0
check() { # label, expected text, command...
  local label=$1 expect=$2
  shift 2
  rm -f "$tmp"/out.h5*
  "$@" > "$tmp/stdout" 2> "$tmp/stderr"
  local rc=$?
  local lines
  lines=$(wc -l < "$tmp/stderr")
  if [ "$rc" -eq 0 ]; then
    echo "FAIL $label: exit status 0"; fail=1
  elif [ "$lines" -ne 1 ]; then
    echo "FAIL $label: $lines lines on stderr:"; cat "$tmp/stderr"; fail=1
  elif ! grep -q '^error: ' "$tmp/stderr" || ! grep -qF -- "$expect" "$tmp/stderr"; then
    echo "FAIL $label: expected '$expect', got:"; cat "$tmp/stderr"; fail=1
  elif ls "$tmp"/out.h5* > /dev/null 2>&1; then
    echo "FAIL $label: left $(ls "$tmp"/out.h5*) behind"; fail=1
  else
    echo "ok   $label: $(grep '^error: ' "$tmp/stderr")"
  fi
  count=$((count + 1))
}
for deck in tests/bad_inputs/*.yml; do
  expect=$(sed -n '1s/^# expect: //p' "$deck")
  check "$deck (1 rank)" "$expect" "$mpiexec" -q -n 1 "$gpa" run "$deck" --output "$tmp/out.h5"
  check "$deck (2 ranks)" "$expect" "$mpiexec" -q -n 2 "$gpa" run "$deck" --output "$tmp/out.h5"
done
# Damaged data files for `kind: file` (a corrupt gzip chunk in the last rank's rows, a filter
# this HDF5 lacks, a dangling soft link): one line naming the file and the dataset on 1, 2 and 3
# ranks, never a hang (timeout).
for case in "gzip_damaged|gzip_damaged.h5:/X: cannot read rows|inflate() failed" \
    "lzf|lzf.h5: /X is compressed with HDF5 filter 32000 (lzf), which this HDF5 library does not have|" \
    "dangling|dangling.h5: /X is a soft link to '/no/such/X', which does not exist|"; do
  IFS='|' read -r name expect also <<< "$case"
  printf 'target:\n  kind: file\n  file: tests/data/%s.h5\n' "$name" > "$tmp/data_$name.yml"
  for n in 1 2 3; do
    check "tests/data/$name.h5 ($n ranks)" "$expect" \
      timeout 120 "$mpiexec" -q -n $n "$gpa" run "$tmp/data_$name.yml" --output "$tmp/out.h5"
    grep -qF -- "$also" "$tmp/stderr" || { echo "FAIL $name: no '$also'"; fail=1; }
  done
done
check "missing deck" "cannot read deck 'no/such/deck.yml': No such file or directory" \
  "$gpa" run no/such/deck.yml --output "$tmp/out.h5"
check "bad override" "-P transport.dt: must be > 0 (got 0)" \
  "$gpa" run inputs/mog2d.yml -P transport.dt=0 --output "$tmp/out.h5"
check "unknown override" "-P network.width: unknown key (did you mean 'network.widths'?)" \
  "$gpa" run inputs/mog2d.yml -P network.width=3 --output "$tmp/out.h5"
check "unwritable output" "output.file: cannot write '$tmp/no/such/dir/out.h5': directory $tmp/no/such/dir: No such file or directory" \
  "$gpa" run inputs/mog2d.yml --output "$tmp/no/such/dir/out.h5"
check "unknown option" "unknown option '--fast'" "$gpa" run inputs/mog2d.yml --fast
check "unknown command" "unknown command 'walk'" "$gpa" walk

# Exit statuses (1 bad input, 2 usage), one-line messages and no output for the deck limits,
# the CLI's -P syntax and deck files that are not decks.
check_status() { # label, exit status, expected text, command...
  local label=$1 status=$2
  shift 2
  check "$label" "$@"
  "${@:2}" > /dev/null 2>&1
  local rc=$?
  if [ "$rc" -ne "$status" ]; then echo "FAIL $label: exit status $rc, expected $status"; fail=1; fi
}
mkdir -p "$tmp/adir"
head -c 1100000 /dev/zero | tr '\0' ' ' > "$tmp/big.yml"
check_status "a directory as deck" 1 "cannot read deck '$tmp/adir': it is a directory" \
  "$gpa" run "$tmp/adir" --output "$tmp/out.h5"
check_status "/dev/null as deck" 1 "/dev/null: the deck is empty" \
  "$gpa" run /dev/null --output "$tmp/out.h5"
check_status "a 1.1 MB deck" 1 "larger than 1 MiB" "$gpa" run "$tmp/big.yml" --output "$tmp/out.h5"
check_status "-P value with a newline" 1 "-P transport.dt: expected a number, got '1\n2'" \
  "$gpa" run inputs/mog2d.yml -P "transport.dt=1
2" --output "$tmp/out.h5"
check_status "-P with three names" 2 "-P a.b.c=1: expected section.key=value" \
  "$gpa" run inputs/mog2d.yml -P a.b.c=1 --output "$tmp/out.h5"
check_status "-P without =" 2 "-P foo: expected section.key=value" \
  "$gpa" run inputs/mog2d.yml -P foo --output "$tmp/out.h5"
check_status "-P integrate key on run" 1 "-P integrate.components: the integrate section is for" \
  "$gpa" run inputs/mog2d.yml -P integrate.components=3 --output "$tmp/out.h5"
check_status "gpa run on an integrate deck" 1 \
  "inputs/bladderbatch.yml:19: integrate.source_file: the integrate section is for \`gpa integrate\`" \
  "$mpiexec" -q -n 2 "$gpa" run inputs/bladderbatch.yml --output "$tmp/out.h5"
check_status "gpa integrate on a run deck" 1 "integrate.source_file: gpa integrate needs a data file" \
  "$gpa" integrate inputs/mog2d.yml --output "$tmp/out.h5"
check_status "source.n too large for memory" 1 "huge_n.yml:3: source.n x source.dim" \
  "$mpiexec" -q -n 2 "$gpa" run tests/bad_inputs/huge_n.yml --output "$tmp/out.h5"
check_status "--overwrite for metrics" 2 "--overwrite is for gpa run, integrate, transport and sample" \
  "$gpa" metrics a.h5 b.h5 --overwrite
# The command table: each command takes its own options and arguments, and says what it needs.
check_status "an option of another command" 2 "--field is for gpa transport and sample" \
  "$gpa" run inputs/mog2d.yml --field x.h5
check_status "-P for transport" 2 "-P is for gpa run and integrate" \
  "$gpa" transport --field x.h5 --input y.h5 --output "$tmp/out.h5" -P run.seed=1
check_status "an option without its value" 2 "--output needs a file name" \
  "$gpa" run inputs/mog2d.yml --output
check_status "-P without its value" 2 "-P needs section.key=value" "$gpa" run inputs/mog2d.yml -P
check_status "--option=value of a flag" 2 "unknown option '--quiet=1'" \
  "$gpa" run inputs/mog2d.yml --quiet=1
check_status "gpa run without a deck" 2 "gpa run needs a deck file" "$gpa" run --quiet
check_status "two decks" 2 "unexpected argument 'b.yml'" "$gpa" run a.yml b.yml
check_status "an argument for version" 2 "unexpected argument 'now'" "$gpa" version now
check_status "transport without --field" 2 "gpa transport needs --field RUN.h5 and --output FILE" \
  "$gpa" transport --input y.h5 --output "$tmp/out.h5"
check_status "transport without --input" 2 "gpa transport needs --input FILE.h5[:/dataset]" \
  "$gpa" transport --field x.h5 --output "$tmp/out.h5"
check_status "sample without --n" 2 "gpa sample needs --n K" \
  "$gpa" sample --field x.h5 --output "$tmp/out.h5"
check_status "sample --n 0" 2 "--n: '0' is not a positive integer" \
  "$gpa" sample --field x.h5 --n 0 --output "$tmp/out.h5"
check_status "sample --seed=-2" 2 "--seed: '-2' is not a non-negative integer" \
  "$gpa" sample --field x.h5 --n 3 --seed=-2 --output "$tmp/out.h5"
check_status "metrics --scaling 1" 2 "--scaling: '1' is out of range" \
  "$gpa" metrics a.h5 b.h5 --scaling 1
check_status "metrics with one set" 2 "gpa metrics needs two sets" "$gpa" metrics a.h5
check_status "metrics --only foo" 2 "--only: 'foo' is not sinkhorn, energy, mmd or w2" \
  "$gpa" metrics a.h5 b.h5 --only sinkhorn,foo
check_status "--json for run" 2 "--json is for gpa metrics" "$gpa" run deck.yml --json
check_status "metrics with three sets" 2 "unexpected argument 'c.h5'" "$gpa" metrics a.h5 b.h5 c.h5
check_status "no command" 2 "no command given" "$gpa"
"$gpa" help > "$tmp/usage.txt"
for c in run integrate transport sample metrics reference version help; do
  grep -q "^ *\(usage: \)\?gpa $c " "$tmp/usage.txt" || { echo "FAIL gpa help: no gpa $c"; fail=1; }
done
if ! "$gpa" run inputs/mog2d.yml --dry-run --overwrite > /dev/null 2> "$tmp/stderr"; then
  echo "FAIL --overwrite: refused for gpa run:"; cat "$tmp/stderr"; fail=1
fi
if ! "$gpa" help | grep -q -- '--overwrite'; then echo "FAIL --overwrite: not in the usage"; fail=1; fi
echo "$count bad inputs checked"
exit $fail

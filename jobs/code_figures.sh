#!/bin/bash
# Figures of the source tree's discipline, for design reviews and closing notes:
#   jobs/code_figures.sh [ROOT]
# ROOT (default: this checkout) is a source tree with src/ flat or in layer folders. Prints
#   - the 15 longest functions (universal-ctags start and end lines);
#   - raw allocations (malloc, calloc, realloc, strdup called outside gpa_alloc's own file);
#   - MPI calls whose status nobody looks at (a statement that starts with MPI_..., leaving out
#     MPI_Wtime, which returns no status, and MPI_Abort, which does not return);
#   - direct HDF5 calls outside the I/O layer (io.c, and io_*.c in src/core);
#   - the error-propagation styles in use.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
mapfile -t files < <(find src -name '*.c' -o -name '*.h' | sort)
mapfile -t cfiles < <(find src -name '*.c' | sort)

echo "== 15 longest functions (lines, name, place)"
ctags --output-format=json --fields=+ne --c-kinds=f -f - "${files[@]}" |
  /usr/bin/python3 -c '
import json, sys
rows = []
for line in sys.stdin:
    t = json.loads(line)
    if "end" in t:
        rows.append((t["end"] - t["line"] + 1, t["name"], "%s:%d-%d" % (t["path"], t["line"], t["end"])))
rows.sort(key=lambda r: -r[0])
for r in rows[:15]:
    print("%5d  %-28s %s" % r)
print("functions: %d, over 80 lines: %d, over 60 lines: %d" % (len(rows), sum(r[0] > 80 for r in rows), sum(r[0] > 60 for r in rows)))
'

echo "== raw allocations outside error.c (file: count)"
alloc_total=0
for f in "${cfiles[@]}"; do
  case $f in */error.c) continue ;; esac
  n=$(grep -cE '(^|[^_a-z])(malloc|calloc|realloc|strdup)\(' "$f" || true)
  if [ "$n" -gt 0 ]; then echo "  $f: $n"; fi
  alloc_total=$((alloc_total + n))
done
echo "raw allocations: $alloc_total"

echo "== unchecked MPI calls (a statement that starts with MPI_)"
mpi=$(grep -nE '^\s*MPI_[A-Z][a-z_]+\(' "${cfiles[@]}" | grep -vE 'MPI_(Wtime|Abort)\(' || true)
if [ -n "$mpi" ]; then echo "$mpi" | sed 's/^/  /'; fi
echo "unchecked MPI calls: $(printf '%s' "$mpi" | grep -c . || true)"

echo "== direct HDF5 calls outside the I/O layer, src/core/io*.c (file: count)"
h5_total=0
for f in "${cfiles[@]}"; do
  case $f in */core/io.c | */core/io_*.c | src/io.c) continue ;; esac
  n=$( (grep -oE '\bH5[A-Z][A-Za-z_0-9]*\(' "$f" || true) | wc -l)
  if [ "$n" -gt 0 ]; then echo "  $f: $n"; fi
  h5_total=$((h5_total + n))
done
echo "direct HDF5 calls outside the I/O layer: $h5_total"

echo "== error-propagation styles"
echo "GPA_CHECK: $(cat "${cfiles[@]}" | grep -o 'GPA_CHECK(' | wc -l)"
echo "GPA_CHECK_GOTO: $(cat "${cfiles[@]}" | grep -o 'GPA_CHECK_GOTO(' | wc -l)"
echo "if (rc == GPA_OK) ladders: $(cat "${cfiles[@]}" | grep -c 'if (rc == GPA_OK' || true)"
echo "local TRY macros: $(cat "${cfiles[@]}" | grep -c '#define TRY' || true)"

#!/bin/bash
# The layers of src/ (core < nn < particles < run < integrate < cmd): a file may include the
# headers of its own layer and of the layers below, never one above.  A public header
# include/gpa/NAME.h belongs to the layer of src/*/NAME.c (a header without a .c is listed
# below); a header's own includes obey the same rule.  Prints every violation and fails.
set -u
src=$1
cd "$src" || exit 1
layers=(core nn particles run integrate cmd)
declare -A rank_of=()
for i in "${!layers[@]}"; do rank_of[${layers[$i]}]=$i; done
declare -A header_layer=() # headers without a .c of the same name: NAME=LAYER
for c in src/*/*.c; do
  layer=${c#src/}
  header_layer[$(basename "$c" .c)]=${layer%%/*}
done
# The layer of include/gpa/NAME.h.
layer_of_header() { echo "${header_layer[$1]:-}"; }
bad=0 checked=0
check() { # FILE LAYER
  local file=$1 layer=$2 inc h hl
  for inc in $(sed -n 's/^#include "gpa\/\([a-z_0-9]*\)\.h".*/\1/p' "$file"); do
    hl=$(layer_of_header "$inc")
    if [ -z "$hl" ]; then
      echo "$file: gpa/$inc.h has no layer (no src/*/$inc.c; list it in tests/layers.sh)"
      bad=$((bad + 1))
    elif [ "${rank_of[$hl]}" -gt "${rank_of[$layer]}" ]; then
      echo "$file ($layer) includes gpa/$inc.h of the higher layer $hl"
      bad=$((bad + 1))
    fi
    checked=$((checked + 1))
  done
}
for f in src/*/*.c src/*/*.h; do
  layer=${f#src/}
  check "$f" "${layer%%/*}"
done
for h in include/gpa/*.h; do
  name=$(basename "$h" .h)
  hl=$(layer_of_header "$name")
  [ -n "$hl" ] || { echo "$h has no layer"; bad=$((bad + 1)); continue; }
  check "$h" "$hl"
done
# Private headers are only included from their own folder.
for f in src/*/*.c src/*/*.h; do
  dir=$(dirname "$f")
  for inc in $(sed -n 's/^#include "\([a-z_0-9]*\.h\)".*/\1/p' "$f"); do
    case $inc in gpa_config.h | version.h) continue ;; esac
    [ -f "$dir/$inc" ] || { echo "$f includes $inc, which is not in $dir"; bad=$((bad + 1)); }
  done
done
echo "layers: $checked includes of gpa/*.h checked in $(ls src/*/*.[ch] include/gpa/*.h | wc -l) files; $bad violations"
[ "$bad" -eq 0 ]

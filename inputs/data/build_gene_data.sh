#!/usr/bin/env bash
# Rebuild bladderbatch.h5 and hsmm_singlecell.h5 (gpa HDF5 layout v1) from Debian packages.
#
#   bash inputs/data/build_gene_data.sh [OUTDIR]        (default OUTDIR: inputs/data)
#
# 1. installs r-base-core, r-bioc-bladderbatch, r-bioc-hsmmsinglecell, python3-h5py and
#    python3-numpy with apt-get when dpkg says they are missing (sudo when not root);
# 2. export_debian_datasets.R dumps the R objects (values as shipped) to a temporary folder;
# 3. build_layout_v1.py (/usr/bin/python3) writes OUTDIR/<name>.h5.tmp and renames it to
#    OUTDIR/<name>.h5 when complete.
# Set SOURCE_DATE_EPOCH to fix the created_utc attribute.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
outdir="${1:-$here}"                 # default: this folder, inputs/data
pkgs=(r-base-core r-bioc-bladderbatch r-bioc-hsmmsinglecell python3-h5py python3-numpy)

missing=()
for p in "${pkgs[@]}"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "error: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    echo "installing: ${missing[*]}"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gene_data.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$outdir"

/usr/bin/Rscript "$here/export_debian_datasets.R" "$tmp"     # Debian R reads the Debian packages
/usr/bin/python3 "$here/build_layout_v1.py" "$tmp" "$outdir"

for f in bladderbatch.h5 hsmm_singlecell.h5; do
    printf '%s  %s bytes\n' "$outdir/$f" "$(stat -c %s "$outdir/$f")"
done

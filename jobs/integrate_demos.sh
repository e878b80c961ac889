#!/bin/bash
# The two batch-correction demonstrations on real gene-expression data (paper section 5.4):
#   jobs/integrate_demos.sh [RANKS]
# builds inputs/data/bladderbatch.h5 and hsmm_singlecell.h5 from Debian's R packages when they
# are missing (inputs/data/build_gene_data.sh), runs inputs/bladderbatch.yml and inputs/hsmm.yml,
# and writes NAME.h5 (corrected matrix, latent coordinates, baseline), NAME.json (the report),
# NAME.pca.png (the PCA picture) and NAME.log in the current directory, then
# integration-results.md: both reports side by side (postproc/integration_report.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/env.sh"
ranks=${1:-2}
out=$(pwd)
if [ ! -e "$root/inputs/data/bladderbatch.h5" ] || [ ! -e "$root/inputs/data/hsmm_singlecell.h5" ]; then
  bash "$root/inputs/data/build_gene_data.sh"
fi
for name in bladderbatch hsmm; do
  # The decks name their data relative to the repository root.
  (cd "$root" && mpirun -q -n "$ranks" build/gpa integrate "inputs/$name.yml" \
      -P output.trajectory_every=0 --output "$out/$name.h5" --report "$out/$name.json") |
    tee "$name.log"
  /usr/bin/python3 "$root/postproc/plot_integration.py" "$name.h5" -o "$name.pca.png"
done
/usr/bin/python3 "$root/postproc/integration_report.py" bladderbatch.h5 hsmm.h5 --figures . \
  -o integration-results.md

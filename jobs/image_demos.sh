#!/bin/bash
# The two Fashion-MNIST image demonstrations (paper section 5.4, Fig. 5):
#   jobs/image_demos.sh [RANKS]
# runs inputs/fmnist.yml (200 sneakers) and inputs/fmnist_conditional.yml (20 images of each
# class, class-conditional phi), each 1000 noise particles plus 200 generated, and writes in the
# current directory NAME.h5 (run file), NAME.log, NAME_image_metrics.json (Sinkhorn to held-out
# images and memorisation, per trajectory step), NAME.png (image grid) and NAME_metrics.png
# (metric curves). About 8 minutes per run on 2 cores. Needs `dataset-fashion-mnist`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/env.sh"
ranks=${1:-2}
for name in fmnist fmnist_conditional; do
  mpirun -q -n "$ranks" "$root/build/gpa" run "$root/inputs/$name.yml" --output "$name.h5" |
    tee "$name.log"
  /usr/bin/python3 "$root/postproc/image_metrics.py" "$name.h5" --per-step \
    --json "${name}_image_metrics.json"
  /usr/bin/python3 "$root/postproc/plot_images.py" "$name.h5" -o "$name.png"
  /usr/bin/python3 "$root/postproc/plot_image_metrics.py" "${name}_image_metrics.json" \
    -o "${name}_metrics.png"
done

#!/bin/bash
# Installs the Debian 12 packages that gpa needs to build, test and plot (apt-get, as root or
# through sudo).  Packages already installed are skipped, so repeated runs are quick.
set -euo pipefail
packages=(
  build-essential pkg-config meson ninja-build          # compiler and build
  clang-format                                          # the format test (.clang-format)
  libopenmpi-dev openmpi-bin                            # MPI
  libblis-dev liblapack-dev libscalapack-openmpi-dev    # BLAS, LAPACK, ScaLAPACK
  libhdf5-openmpi-dev hdf5-tools                        # parallel HDF5
  libyaml-dev librandom123-dev                          # decks, counter-based random numbers
  zlib1g-dev dataset-fashion-mnist                      # IDX (gzip) images, Fashion-MNIST
  libcmocka-dev procps                                  # unit tests; pkill for the fault tests
  python3-h5py python3-matplotlib python3-numpy         # postproc/
  python3-anndata                                       # .h5ad files in the integration tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

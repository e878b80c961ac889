# Sourced by the job scripts: mpirun settings for workstations and CI machines.
# mpirun refuses to run as root unless told; CI runs as root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Shared-memory runs start twice as fast with the ob1 messaging layer; more ranks than cores
# are allowed (they share the cores).
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}
export HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--x86}

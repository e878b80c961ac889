#!/usr/bin/python3
"""Reader for gpa run files (HDF5, format "gpa-run", format_version 1).

Layout of a run file, as written by the solver:

    /                      attributes format, format_version, status, steps
    /parameters            attribute deck: the resolved deck as YAML text
    /parameters/<section>  one attribute per deck key (run, source, target,
                           network, divergence, optimizer, transport, output)
    /code                  attributes version, git_revision, compiler, ...,
                           mpi_ranks
    /target                [M, d] target samples
    /particles/initial     [N, d] particles before the first step
    /particles/final       [N, d] particles after the last step
    /monitor/<name>        [T] per step: step, divergence, kinetic_energy,
                           max_speed, wall_time
    /trajectory/positions  [F, N, d] stored frames (absent when trajectories
    /trajectory/step       [F]       are off)
    /generated/initial     [G, d] extra particles moved by the field but never
    /generated/final       [G, d] trained on (absent when there are none)
    /trajectory/generated  [F, G, d] the generated particles at the same frames
    /labels/<set>          [rows] int32 class of each row of target, particles,
                           generated (labelled targets, e.g. Fashion-MNIST)
    /discriminator/theta   [n_params] final network parameters

Strings are fixed-length and come back from h5py as bytes; this module
decodes them.  Typical use:

    from gparun import RunFile
    with RunFile("mog2d.h5") as run:
        print(run.summary())
        d = run.monitor["divergence"]

Run as a script, it prints the summary line of each file given.
"""

import os
import sys

import h5py
import numpy as np

FORMAT = "gpa-run"
FORMAT_VERSION = 1
MONITOR_NAMES = ("step", "divergence", "kinetic_energy", "max_speed",
                 "wall_time")


def _value(v):
    """Converts an HDF5 attribute value to a plain Python value."""
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace").rstrip("\0")
    if isinstance(v, np.ndarray):
        return [_value(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, h5py.Empty):  # a null dataspace: an empty list
        return []
    return v


def _attrs(obj):
    return {k: _value(v) for k, v in obj.attrs.items()}


class RunFile:
    """A gpa run file opened read-only; use it as a context manager."""

    def __init__(self, path):
        self.path = path
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
        if not h5py.is_hdf5(path):
            raise ValueError(f"{path}: not an HDF5 file")
        self._h5 = h5py.File(path, "r")
        try:
            if _value(self._h5.attrs.get("format")) != FORMAT:
                raise ValueError(f"{path}: not a gpa run file")
            version = _value(self._h5.attrs.get("format_version"))
            if version != FORMAT_VERSION:
                raise ValueError(f"{path}: unsupported {FORMAT} format_version"
                                 f" {version} (expected {FORMAT_VERSION})")
        except ValueError:
            self._h5.close()
            raise

    def close(self):
        self._h5.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self, name):
        """Returns dataset `name` as a numpy array, or None if absent."""
        return self._h5[name][()] if name in self._h5 else None

    @property
    def status(self):
        return _value(self._h5.attrs.get("status", b""))

    @property
    def steps(self):
        return _value(self._h5.attrs.get("steps", 0))

    @property
    def parameters(self):
        """Dict "section.key" -> value for every deck key."""
        params = {}
        for section, group in self._h5.get("parameters", {}).items():
            for key, value in _attrs(group).items():
                params[f"{section}.{key}"] = value
        return params

    def param(self, section_key, default=None):
        """One deck value, e.g. param("transport.dt")."""
        section, _, key = section_key.partition(".")
        group = self._h5.get(f"parameters/{section}")
        if group is None or key not in group.attrs:
            return default
        return _value(group.attrs[key])

    @property
    def code(self):
        return _attrs(self._h5["code"]) if "code" in self._h5 else {}

    @property
    def deck(self):
        return _value(self._h5["parameters"].attrs.get("deck", b""))

    @property
    def target(self):
        return self._read("target")

    @property
    def initial(self):
        return self._read("particles/initial")

    @property
    def final(self):
        return self._read("particles/final")

    @property
    def monitor(self):
        """Dict of the per-step monitor arrays that the file holds."""
        return {name: self._read(f"monitor/{name}") for name in MONITOR_NAMES
                if f"monitor/{name}" in self._h5}

    def trajectory(self):
        """Returns (steps [F], positions [F, N, d]), or (None, None)."""
        if "trajectory/positions" not in self._h5:
            return None, None
        return (self._read("trajectory/step"),
                self._read("trajectory/positions"))

    @property
    def generated_initial(self):
        return self._read("generated/initial")

    @property
    def generated_final(self):
        return self._read("generated/final")

    def trajectory_generated(self):
        """Returns (steps [F], generated [F, G, d]), or (None, None)."""
        if "trajectory/generated" not in self._h5:
            return None, None
        return (self._read("trajectory/step"),
                self._read("trajectory/generated"))

    def labels(self, which):
        """Class of each row of "target", "particles" or "generated" (int
        array), or None when the file has no /labels/<which>."""
        x = self._read(f"labels/{which}")
        return None if x is None else np.asarray(x).astype(np.int64)

    def dataset(self, name):
        """The h5py dataset `name` itself, to read slices of it (e.g. one
        trajectory frame), or None if absent; valid while the file is open."""
        obj = self._h5.get(name)
        return obj if isinstance(obj, h5py.Dataset) else None

    def attribute(self, name, default=None):
        """A root attribute as a plain Python value."""
        if name not in self._h5.attrs:
            return default
        return _value(self._h5.attrs[name])

    @property
    def dim(self):
        """Dimension d of the samples, or None if the file holds none."""
        for name in ("particles/initial", "target"):
            if name in self._h5:
                return self._h5[name].shape[1]
        return None

    @property
    def theta(self):
        return self._read("discriminator/theta")

    def summary(self):
        """One line: code version, sizes, main parameters, steps, status."""
        code = self.code
        n, m = (len(self._h5[name]) if name in self._h5 else "?"
                for name in ("particles/initial", "target"))
        p = self.param
        return (f"gpa {code.get('version', '?')} "
                f"({code.get('git_revision', '?')}) | "
                f"N={n} M={m} d={self.dim or '?'} | "
                f"{p('divergence.kind', '?')} L={p('divergence.L', '?')} "
                f"{p('transport.integrator', '?')} "
                f"dt={p('transport.dt', '?')} | "
                f"{self.steps} steps | {self.status}")


def read_rows(spec, default_dataset="/X"):
    """Reads "file.h5" or "file.h5:/dataset" into a numpy array.

    Without a dataset, reads default_dataset (the deck's default, /X).
    """
    path, sep, dataset = spec.rpartition(":")
    if not sep or os.path.isfile(spec):
        path, dataset = spec, ""
    dataset = dataset or default_dataset
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    with h5py.File(path, "r") as f:
        if not isinstance(f.get(dataset), h5py.Dataset):
            raise ValueError(f"{path}: no dataset {dataset}")
        return f[dataset][()]


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        try:
            with RunFile(arg) as run:
                print(f"{arg}: {run.summary()}")
        except (OSError, ValueError) as err:
            sys.exit(f"gparun.py: {err}")


def save_figure(fig, out, prog, dpi=110):
    """Writes a matplotlib figure to `out` and says so; a write error is one line and exit 1."""
    try:
        fig.savefig(out, dpi=dpi)
    except OSError as err:
        sys.exit(f"{prog}: {err}")
    print(f"wrote {out}")

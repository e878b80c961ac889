#!/usr/bin/python3
"""Reader for every file gpa writes; the postproc scripts open gpa files only through it.

Run files (`gpa run`; format "gpa-run", format_version 1):

    /                      attributes format, format_version, status, steps
    /parameters            attribute deck: the resolved deck as YAML text
    /parameters/<section>  one attribute per deck key (run, source, target,
                           network, divergence, optimizer, transport, output)
    /code                  attributes version, git_revision, compiler, ...,
                           mpi_ranks
    /target                [M, d] target samples
    /particles/initial     [N, d] particles before the first step
    /particles/final       [N, d] particles after the last step
    /monitor/<name>        [T] per step, one dataset per column; the group's
                           attribute columns (comma-separated) names them in
                           table order: step, divergence, kinetic_energy,
                           max_speed, wall_time (files without it: the
                           datasets /monitor holds)
    /trajectory/positions  [F, N, d] stored frames (absent when trajectories
    /trajectory/step       [F]       are off)
    /generated/initial     [G, d] extra particles moved by the field but never
    /generated/final       [G, d] trained on (absent when there are none)
    /trajectory/generated  [F, G, d] the generated particles at the same frames
    /labels/<set>          [rows] int32 class of each row of target, particles,
                           generated (labelled targets, e.g. Fashion-MNIST)
    /field/theta           [T, stages, n_params] phi of every step (when the
                           field is stored); attributes dt, L, integrator,
                           stages, stored_stages, layer_widths
    /discriminator/theta   [n_params] final network parameters

Transport outputs (`gpa transport`, `gpa sample`; format "gpa-transport"):
attributes field (the run file), input (FILE:/dataset, or for `gpa sample`
the source distribution and seed), steps; /code; /particles/initial and
/particles/final [K, d]; /labels [K] int32 when the points have classes.

Integrate outputs (`gpa integrate`; format "gpa-integrated"): attributes
layout_version, source_file, target_file, description and report (the JSON
report, also written by --report FILE.json); /parameters, /code; /X and
/baseline/X [samples, genes] float32 (corrected source rows, then target
rows); /latent and /latent_before [samples, k]; /obs/label, /obs/origin
(0 source, 1 target), /obs/batch int32 with /obs/<name>_names strings, and
/obs/sample_ids; /var/gene_ids; /pca/mean [genes], /pca/components [k, genes]
(older outputs: flat [k * genes] with a shape attribute),
/pca/singular_values and /pca/explained_variance_ratio [k]; /labels/run_files.

`gpa metrics` prints one line per measure ("sinkhorn  2.625000e+00  (...)");
read_metrics and parse_metrics read it, and metrics() runs it on two arrays.

Strings are fixed-length and come back from h5py as bytes; this module
decodes them.  Typical use:

    from gpafiles import RunFile
    with RunFile("mog2d.h5") as run:
        print(run.summary())
        d = run.monitor["divergence"]

Run as a script, it prints the summary line of each gpa file given.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GpaFileError(ValueError):
    """A file that is not the gpa file asked for; str() is "PATH: REASON"."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def plain(v):
    """An HDF5 attribute or string value as a plain Python value."""
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace").rstrip("\0")
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, h5py.Empty):  # a null dataspace: an empty list
        return []
    return v


def _attrs(obj):
    return {k: plain(v) for k, v in obj.attrs.items()}


class GpaFile:
    """A gpa HDF5 file opened read-only; use it as a context manager.
    Subclasses name the format (and version) they accept."""

    FORMAT = None          # the root attribute format; None: any gpa file
    FORMAT_VERSION = None  # the root attribute format_version, when checked
    NOT_THIS = "not a gpa file"

    def __init__(self, path):
        self.path = path
        if not os.path.isfile(path):
            raise GpaFileError(path, "no such file")
        if not h5py.is_hdf5(path):
            raise GpaFileError(path, "not an HDF5 file")
        self._h5 = h5py.File(path, "r")
        try:
            self._check_format()
        except ValueError:
            self._h5.close()
            raise

    def _check_format(self):
        fmt = self.format
        if (self.FORMAT is None and fmt not in FORMATS) or \
                (self.FORMAT is not None and fmt != self.FORMAT):
            raise GpaFileError(self.path, self.NOT_THIS)
        if self.FORMAT_VERSION is not None:
            version = self.attribute("format_version")
            if version != self.FORMAT_VERSION:
                raise GpaFileError(self.path, f"unsupported {self.FORMAT} format_version "
                                   f"{version} (expected {self.FORMAT_VERSION})")

    def close(self):
        self._h5.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def format(self):
        return plain(self._h5.attrs.get("format", b""))

    def attribute(self, name, default=None, obj="/"):
        """Attribute `name` of the root (or of group/dataset `obj`) as a
        plain Python value, or default."""
        node = self._h5.get(obj)
        if node is None or name not in node.attrs:
            return default
        return plain(node.attrs[name])

    def attributes(self, obj="/"):
        """All attributes of `obj` as a dict of plain values ({} if absent)."""
        node = self._h5.get(obj)
        return {} if node is None else _attrs(node)

    def has(self, name):
        return name in self._h5

    def read(self, name):
        """Dataset `name` as a numpy array, or None if absent."""
        return self._h5[name][()] if name in self._h5 else None

    def need(self, name):
        """Dataset `name` as a numpy array; GpaFileError if absent."""
        return self.need_dataset(name)[()]

    def need_dataset(self, name):
        """The h5py dataset `name` (see dataset()); GpaFileError if absent."""
        ds = self.dataset(name)
        if ds is None:
            raise GpaFileError(self.path, f"no dataset /{name}")
        return ds

    def dataset(self, name):
        """The h5py dataset `name` itself, to read slices of it (e.g. one
        trajectory frame), or None if absent; valid while the file is open."""
        obj = self._h5.get(name)
        return obj if isinstance(obj, h5py.Dataset) else None

    def strings(self, name):
        """A dataset of strings as a list of str, or None if absent."""
        x = self.read(name)
        return None if x is None else [plain(s) for s in x]

    @property
    def code(self):
        return self.attributes("code")

    @property
    def sections(self):
        """Dict section -> {key: value} of the stored deck."""
        group = self._h5.get("parameters")
        return {} if group is None else {s: _attrs(g) for s, g in group.items()}

    @property
    def parameters(self):
        """Dict "section.key" -> value for every deck key."""
        return {f"{section}.{key}": value
                for section, keys in self.sections.items() for key, value in keys.items()}

    def param(self, section_key, default=None):
        """One deck value, e.g. param("transport.dt")."""
        section, _, key = section_key.partition(".")
        return self.attribute(key, default, obj=f"parameters/{section}")

    @property
    def deck(self):
        return self.attribute("deck", "", obj="parameters")

    def summary(self):
        """One line: the format and the code version."""
        code = self.code
        return (f"{self.format} | gpa {code.get('version', '?')} "
                f"({code.get('git_revision', '?')})")


class MovedPoints(GpaFile):
    """What a run file and a transport output share: points moved for a number of steps,
    /particles/initial and /particles/final."""

    @property
    def steps(self):
        return self.attribute("steps", 0)

    @property
    def initial(self):
        return self.read("particles/initial")

    @property
    def final(self):
        return self.read("particles/final")


class RunFile(MovedPoints):
    """A run file of `gpa run`."""

    FORMAT, FORMAT_VERSION = "gpa-run", 1
    NOT_THIS = "not a gpa run file"

    @property
    def status(self):
        return self.attribute("status", "")

    @property
    def target(self):
        return self.read("target")

    @property
    def monitor_columns(self):
        """The monitor's column names in table order: the /monitor attribute
        columns, or (files written before it) the datasets /monitor holds."""
        group = self._h5.get("monitor")
        if group is None:
            return []
        if "columns" in group.attrs:
            return [c.strip() for c in plain(group.attrs["columns"]).split(",") if c.strip()]
        return [name for name, obj in group.items() if isinstance(obj, h5py.Dataset)]

    @property
    def monitor(self):
        """Dict of the per-step monitor arrays that the file holds."""
        return {name: self.read(f"monitor/{name}") for name in self.monitor_columns
                if f"monitor/{name}" in self._h5}

    def trajectory(self):
        """Returns (steps [F], positions [F, N, d]), or (None, None)."""
        if "trajectory/positions" not in self._h5:
            return None, None
        return self.read("trajectory/step"), self.read("trajectory/positions")

    @property
    def generated_initial(self):
        return self.read("generated/initial")

    @property
    def generated_final(self):
        return self.read("generated/final")

    def trajectory_generated(self):
        """Returns (steps [F], generated [F, G, d]), or (None, None)."""
        if "trajectory/generated" not in self._h5:
            return None, None
        return self.read("trajectory/step"), self.read("trajectory/generated")

    def labels(self, which):
        """Class of each row of "target", "particles" or "generated" (int
        array), or None when the file has no /labels/<which>."""
        x = self.read(f"labels/{which}")
        return None if x is None else np.asarray(x).astype(np.int64)

    @property
    def field(self):
        """The stored field: (attributes of /field, the /field/theta dataset),
        or (None, None) when the run did not store it."""
        theta = self.dataset("field/theta")
        return (None, None) if theta is None else (self.attributes("field"), theta)

    @property
    def dim(self):
        """Dimension d of the samples, or None if the file holds none."""
        for name in ("particles/initial", "target"):
            if name in self._h5:
                return self._h5[name].shape[1]
        return None

    @property
    def theta(self):
        return self.read("discriminator/theta")

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


class TransportFile(MovedPoints):
    """An output of `gpa transport` or `gpa sample`: points moved through a
    run's stored field."""

    FORMAT = "gpa-transport"
    NOT_THIS = "not a gpa transport output (no format = gpa-transport attribute)"

    @property
    def field_file(self):
        return self.attribute("field", "")

    @property
    def input(self):
        return self.attribute("input", "")

    @property
    def labels(self):
        x = self.read("labels")
        return None if x is None else np.asarray(x).astype(np.int64)

    def summary(self):
        x = self.dataset("particles/final")
        size = "?" if x is None else " x ".join(map(str, x.shape))
        return (f"{super().summary()} | {size} points from "
                f"{self.input or 'the run source'} through {self.field_file}, "
                f"{self.steps} steps")


class IntegrateFile(GpaFile):
    """An output of `gpa integrate`."""

    FORMAT = "gpa-integrated"
    NOT_THIS = "not a gpa integrate output (no format = gpa-integrated attribute)"

    @property
    def report(self):
        """The stored report (the JSON of --report) as a dict."""
        text = self.attribute("report")
        if text is None:
            raise GpaFileError(self.path, "no report attribute")
        return json.loads(text)

    @property
    def source_file(self):
        return self.attribute("source_file", "")

    @property
    def target_file(self):
        return self.attribute("target_file", "")

    @property
    def X(self):
        return self.need("X")

    @property
    def baseline(self):
        """The /baseline/X dataset itself, to read in chunks of rows."""
        return self.need_dataset("baseline/X")

    @property
    def latent(self):
        return self.need("latent")

    @property
    def latent_before(self):
        return self.need("latent_before")

    def obs(self, name):
        """/obs/<name>: int codes (label, origin, batch) or ids."""
        return self.need(f"obs/{name}")

    def obs_names(self, name):
        """/obs/<name>_names as a list of str."""
        return [plain(v) for v in self.need(f"obs/{name}_names")]

    @property
    def run_files(self):
        """The run file of each label's transport (index: label code)."""
        return self.strings("labels/run_files") or []

    @property
    def pca_mean(self):
        return self.need("pca/mean")

    @property
    def pca_components(self):
        """Principal axes [k, genes], from the 2-D dataset or from the flat
        one with its shape attribute (outputs written before)."""
        comps = self.need("pca/components")
        if comps.ndim == 1:
            shape = self.attribute("shape", None, obj="pca/components")
            genes = shape[1] if shape else self.pca_mean.size
            comps = comps.reshape(-1, genes)
        return comps

    @property
    def explained_variance_ratio(self):
        return self.need("pca/explained_variance_ratio")

    @property
    def singular_values(self):
        return self.need("pca/singular_values")

    def summary(self):
        x = self.dataset("X")
        size = "?" if x is None else " x ".join(map(str, x.shape))
        return (f"{super().summary()} | X {size} | {os.path.basename(self.source_file)} -> "
                f"{os.path.basename(self.target_file)}")


FORMATS = {cls.FORMAT: cls for cls in (RunFile, TransportFile, IntegrateFile)}


def open_file(path):
    """Any gpa file, as the class of its format."""
    with GpaFile(path) as f:
        fmt = f.format
    return FORMATS[fmt](path)


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


def read_json(path):
    """The JSON report of `gpa integrate --report` (or any JSON file) as a dict."""
    with open(path) as f:
        return json.load(f)


# ------------------------------------------------------------------ gpa metrics

METRIC_NAMES = ("sinkhorn", "energy", "mmd", "w2_exact")


def parse_metrics(text):
    """`gpa metrics` output -> {"sinkhorn": x, "energy": x, "mmd": x,
    "w2_exact": x or None}; a "-" (not computed) reads as None."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"(sinkhorn|energy|mmd|w2_exact)\s+(\S+)", line)
        if m:
            try:
                out[m.group(1)] = float(m.group(2))
            except ValueError:  # "-": not computed (sizes differ or too large)
                out[m.group(1)] = None
    return out


def read_metrics(path):
    """A saved `gpa metrics` output (NAME.metrics.txt), parsed; {} if absent."""
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return parse_metrics(f.read())


def find_gpa(path=None):
    """The gpa binary: `path` when given, else build/gpa in the repository,
    else `gpa` on PATH."""
    if path:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise FileNotFoundError(f"{path}: no gpa binary there")
        return path
    built = os.path.join(REPO, "build", "gpa")
    if os.path.isfile(built) and os.access(built, os.X_OK):
        return built
    found = shutil.which("gpa")
    if found is None:
        raise FileNotFoundError(f"no gpa binary: not at {built} nor on PATH "
                                "(build it, or give its path)")
    return found


def metrics(a, b, gpa=None, blur=0.05, scaling=0.5, only=("sinkhorn",)):
    """Runs `gpa metrics --json` (one process, one rank) on the rows of a [n, d]
    and b [m, d], written to a temporary HDF5 file that is removed afterwards;
    returns {"sinkhorn": x, "energy": x, "mmd": x, "w2_exact": x} to full
    precision, None for a figure not computed (`only` names those computed).
    `gpa` as for find_gpa."""
    exe = find_gpa(gpa)
    with tempfile.TemporaryDirectory(prefix="gpa-metrics-") as tmp:
        sets = os.path.join(tmp, "sets.h5")
        with h5py.File(sets, "w") as f:
            f["a"] = np.ascontiguousarray(a, np.float64)
            f["b"] = np.ascontiguousarray(b, np.float64)
        cmd = [exe, "metrics", f"{sets}:/a", f"{sets}:/b", "--blur", repr(blur),
               "--scaling", repr(scaling), "--only", ",".join(only), "--json"]
        done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        err = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise ValueError(f"gpa metrics failed (status {done.returncode})"
                         + (f": {err[-1]}" if err else ""))
    try:
        out = json.loads(done.stdout)
    except ValueError:
        raise ValueError(f"gpa metrics printed no JSON: {done.stdout.strip()!r}") from None
    if out.get(only[0]) is None:
        raise ValueError(f"gpa metrics gave no {only[0]}: {done.stdout.strip()!r}")
    return out


def save_figure(fig, out, prog, dpi=110):
    """Writes a matplotlib figure to `out` and says so; a write error is one line and exit 1."""
    try:
        fig.savefig(out, dpi=dpi)
    except OSError as err:
        sys.exit(f"{prog}: {err}")
    print(f"wrote {out}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        try:
            with open_file(arg) as gf:
                print(f"{arg}: {gf.summary()}")
        except (OSError, ValueError) as err:
            sys.exit(f"gpafiles.py: {err}")

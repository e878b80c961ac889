#!/usr/bin/python3
"""Helpers for postproc/paper_figures.py: the runs of jobs/paper_suite.sh.

Not a script.  `Suite(outdir)` loads OUTDIR/NAME.h5 on demand (through gpafiles.RunFile) into a
`Run` that holds every array the figures need, with the run's `gpa metrics` output
(NAME.metrics.txt), its exact command (NAME.cmd) and its wall time (timings.tsv).  The other
functions are small numerical measures (nearest-neighbour distances, tail means, the
"settles" test) and the stamps that put a run's code version and parameters on a figure.
"""

import os
import re

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gpafiles import RunFile, read_metrics

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TAIL = 0.1         # "the end of a run": its last 10% of steps
SETTLE_DROP = 1e-2  # a run settles when its tail KE is below 1% of its peak KE


class Run:
    """Everything one run file holds that the figures use, read once."""

    def __init__(self, outdir, name):
        self.name = name
        self.path = os.path.join(outdir, name + ".h5")
        with RunFile(self.path) as f:
            self.summary = f.summary()
            self.status = f.status
            self.steps = f.steps
            self.params = f.parameters
            self.code = f.code
            self.monitor = f.monitor
            self.target = f.target
            self.initial = f.initial
            self.final = f.final
            self.traj_step, self.traj = f.trajectory()
            self.generated_initial = f.generated_initial
            self.generated_final = f.generated_final
        self.metrics = read_metrics(os.path.join(outdir, name + ".metrics.txt"))
        self.command = read_command(os.path.join(outdir, name + ".cmd"), outdir)

    def p(self, key):
        """One deck value, e.g. run.p("transport.dt")."""
        return self.params.get(key)

    @property
    def diverged_at(self):
        """The step of "diverged at step n", or None."""
        m = re.match(r"diverged at step (\d+)", self.status or "")
        return int(m.group(1)) if m else None

    @property
    def version(self):
        return f"gpa {self.code.get('version', '?')} ({self.code.get('git_revision', '?')})"

    def ke(self):
        return self.monitor["kinetic_energy"]

    def div(self):
        return self.monitor["divergence"]

    def step(self):
        return self.monitor["step"]


class Suite:
    """The output folder of jobs/paper_suite.sh; suite[name] is a Run (loaded once)."""

    def __init__(self, outdir):
        self.outdir = outdir
        self._runs = {}
        self.timings = read_timings(os.path.join(outdir, "timings.tsv"))

    def __getitem__(self, name):
        if name not in self._runs:
            self._runs[name] = Run(self.outdir, name)
        return self._runs[name]

    def loaded(self):
        return list(self._runs.values())

    def metrics(self, name):
        return read_metrics(os.path.join(self.outdir, name + ".metrics.txt"))


def read_command(path, outdir):
    """The exact command of a run, with $OUT for the output folder and $REPO for the checkout."""
    if not os.path.isfile(path):
        return None
    cmd = open(path).read().strip()
    return cmd.replace(os.path.abspath(outdir), "$OUT").replace(REPO, "$REPO")


def read_timings(path):
    """timings.tsv -> {name: seconds}; "TOTAL" is the whole suite's run time."""
    out = {}
    if os.path.isfile(path):
        for line in open(path).read().splitlines()[1:]:
            name, seconds, _ = line.split("\t")
            out[name] = float(seconds)
    return out


def deck_note(name):
    """The "Chosen by us: ..." sentence of inputs/paper/NAME.yml's header comment."""
    path = os.path.join(REPO, "inputs", "paper", name + ".yml")
    if not os.path.isfile(path):
        return ""
    text = []
    for line in open(path):
        if not line.startswith("#"):
            break
        text.append(line[1:].strip())
    text = " ".join(text)
    m = re.search(r"chosen by us[^:]*:\s*(.*)", text, re.IGNORECASE)
    return m.group(1) if m else ""


def nearest(a, b, exclude_self=False, chunk=2048):
    """Distance from each row of a to its nearest row of b ([len(a)])."""
    out = np.empty(len(a))
    b2 = (b * b).sum(1)
    for s in range(0, len(a), chunk):
        x = a[s:s + chunk]
        d2 = (x * x).sum(1)[:, None] + b2[None, :] - 2.0 * x @ b.T
        if exclude_self:
            idx = np.arange(s, s + len(x))
            d2[np.arange(len(x)), idx] = np.inf
        out[s:s + chunk] = np.sqrt(np.maximum(d2.min(1), 0.0))
    return out


def tail(x, frac=TAIL):
    """The last frac of the array (at least one element)."""
    x = np.asarray(x)
    return x[-max(1, int(round(frac * len(x)))):]


def settles(run):
    """(settles, tail KE, peak KE): the run ended without diverging and its mean KE over the
    last 10% of steps is below 1% of its peak KE."""
    ke = run.ke()
    peak = float(np.max(ke)) if len(ke) else float("nan")
    end = float(np.mean(tail(ke))) if len(ke) else float("nan")
    ok = run.diverged_at is None and np.isfinite(end) and end < SETTLE_DROP * peak
    return ok, end, peak


def flat_from(run):
    """The step from which the kinetic energy is exactly 0 to the end of the run (phi has gone
    flat at every particle: a dead ReLU network), or None."""
    ke = run.ke()
    if len(ke) == 0 or ke[-1] != 0.0:
        return None
    nonzero = np.nonzero(ke != 0.0)[0]
    first = nonzero[-1] + 1 if len(nonzero) else 0
    return int(run.step()[first])


def fmt(x, digits=3):
    """A number for the report: 3 significant digits, '-' for None/NaN."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    ax = abs(x)
    if ax != 0 and (ax < 1e-3 or ax >= 1e5):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def stamp(fig, runs, keys=(), extra=""):
    """Writes the code version(s) and each run's parameters (its summary line and the deck
    keys named in keys) at the foot of a figure; returns the number of lines."""
    versions = sorted({r.version for r in runs})
    lines = ["code: " + ", ".join(versions) + (f"   {extra}" if extra else "")]
    for r in runs:
        more = " ".join(f"{k.split('.')[-1]}={r.p(k)}" for k in keys)
        lines.append(f"{r.name}: " + r.summary.split("| ", 1)[1] + (f" | {more}" if more else ""))
    fig.text(0.005, 0.003, "\n".join(lines), fontsize=6.5, family="monospace",
             va="bottom", ha="left", color="0.25")
    return len(lines)


def save(fig, figdir, name, footer_lines):
    """Leaves room for the footer stamp, writes figdir/name.png, returns its docs-relative path."""
    height = fig.get_size_inches()[1]
    fig.subplots_adjust(bottom=(0.45 + 0.105 * footer_lines) / height, top=0.93)
    fig.savefig(os.path.join(figdir, name + ".png"), dpi=110)
    plt.close(fig)
    return f"paper/{name}.png"


def mark_divergence(ax, run, y, colour):
    """An x where a diverged run stopped."""
    if run.diverged_at is not None:
        ax.plot([run.diverged_at], [y], "x", color=colour, ms=9, mew=2)


def settings_line(r, integrator=True, activation=True):
    """The main settings of a run, read from its file, as one line of text."""
    L = r.p("divergence.L")
    div = r.p("divergence.kind") + (f" (alpha {r.p('divergence.alpha'):g})"
                                    if r.p("divergence.kind") == "alpha" else "")
    parts = [f"N = {len(r.initial)}, M = {len(r.target)}, d = {r.target.shape[1]}", div,
             "L = inf" if not np.isfinite(L) else f"L = {L:g}"]
    if integrator:
        parts.append(r.p("transport.integrator"))
    parts += [f"dt = {r.p('transport.dt'):g}", f"{r.p('transport.max_steps')} steps"]
    net = f"phi {r.p('network.widths')}"
    if activation:
        net += " " + r.p("network.activation")
        if r.p("network.last_activation") not in ("same", r.p("network.activation")):
            net += f" (last hidden: {r.p('network.last_activation')}, eps " \
                   f"{r.p('network.smooth_eps'):g})"
    parts.append(net)
    parts.append(f"{r.p('optimizer.kind')} lr {r.p('optimizer.lr'):g} x "
                 f"{r.p('optimizer.epochs')} updates per step"
                 + (" and stage" if r.p("transport.integrator") != "euler" else ""))
    return ", ".join(parts)


def versions_line(runs):
    """'gpa 0.1.0 (rev)' for the report, listing every distinct version among runs."""
    return ", ".join(f"`{v}`" for v in sorted({r.version for r in runs}))


def table(header, rows):
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)

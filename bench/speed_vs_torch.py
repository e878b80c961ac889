#!/usr/bin/python3
"""Seconds per particle step of gpa beside the PyTorch reference implementation, on the same
problems, network and thread count, measured in one run.

gpa runs on R MPI ranks with one BLIS thread each; gpa_torch.py runs with R threads.  Both
figures are the wall time of the step loop divided by the number of steps (set-up excluded).
gpa is timed twice: in double precision (its default) and with network.precision single,
the float32 arithmetic that gpa_torch.py uses.

    bench/speed_vs_torch.py [--gpa build/gpa] [--torch ../shared/bench/gpa_torch.py]
                            [--ranks 2] [--steps 300] [--repeat 3] [--only fmnist]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROBLEMS = [  # name, deck, gpa_torch.py arguments, steps (None: --steps)
    ("mog2d N=M=1000", "mog2d_n1000.yml", ["--problem", "mog2d", "--N", "1000", "--M", "1000"],
     None),
    ("mog12d N=M=600", "mog12d_n600.yml", ["--problem", "mog12d", "--N", "600", "--M", "600"],
     None),
    # about 365 GFLOP per step: a few steps give a steady figure
    ("fmnist N=M=200", "fmnist_n200.yml", ["--problem", "fmnist", "--N", "200", "--M", "200"],
     8),
]


def gpa_seconds_per_step(a, deck, out, precision, steps):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", HWLOC_COMPONENTS="-x86")
    cmd = [a.mpirun, "-q", "-n", str(a.ranks), a.gpa, "run", os.path.join(HERE, deck),
           "-P", f"transport.max_steps={steps}", "-P", f"network.precision={precision}",
           "--output", out, "--quiet"]
    subprocess.run(cmd, check=True, env=env)
    with h5py.File(out, "r") as f:
        wall = f["/monitor/wall_time"][()]
    return wall[-1] / len(wall)      # like gpa_torch.py: the whole step loop, first step included


def torch_seconds_per_step(a, extra, steps):
    cmd = ["/usr/bin/python3", a.torch, *extra, "--threads", str(a.ranks), "--steps",
           str(steps), "--sn", "spectral", "--skip-metric"]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])["s_per_step"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gpa", default=os.path.join(ROOT, "build", "gpa"))
    p.add_argument("--torch", default=os.path.join(ROOT, "..", "shared", "bench", "gpa_torch.py"))
    p.add_argument("--mpirun", default=shutil.which("mpirun") or "mpirun")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--repeat", type=int, default=3, help="best of this many runs of each")
    p.add_argument("--only", help="comma-separated problem names to run (e.g. fmnist)")
    a = p.parse_args()
    have_torch = os.path.exists(a.torch)
    if have_torch:
        try:
            subprocess.run(["/usr/bin/python3", "-c", "import torch"], check=True,
                           capture_output=True)
        except subprocess.CalledProcessError:
            have_torch = False
    if not have_torch:
        print(f"note: PyTorch reference not available ({a.torch}, python3-torch); "
              "printing gpa's figures only")
    print(f"{a.ranks} gpa ranks x 1 thread vs {a.ranks} torch threads, {a.steps} steps "
          "(fmnist: 8), "
          f"best of {a.repeat}")
    print(f"{'problem':<16} {'torch float32':>14} {'gpa double':>20} {'gpa single':>20}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, deck, extra, steps in PROBLEMS:
            if a.only and not any(o in name for o in a.only.split(",")):
                continue
            steps = steps or a.steps
            out = os.path.join(tmp, "run.h5")
            ours = {prec: min(gpa_seconds_per_step(a, deck, out, prec, steps)
                              for _ in range(a.repeat))
                    for prec in ("double", "single")}
            ref = (min(torch_seconds_per_step(a, extra, steps) for _ in range(a.repeat))
                   if have_torch else None)
            cells = []
            for prec in ("double", "single"):
                ratio = f" ({ref / ours[prec]:5.1f}x)" if ref else ""
                cells.append(f"{ours[prec] * 1e3:8.3f} ms{ratio}")
            ref_text = f"{ref * 1e3:8.3f} ms" if ref else "-"
            print(f"{name:<16} {ref_text:>14} {cells[0]:>20} {cells[1]:>20}", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()

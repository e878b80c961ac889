#!/usr/bin/python3
"""Cost of trajectory output and checkpoints: N = 100k particles in d = 2 on 2 ranks.

1. Seconds per step with /trajectory written every 10 steps, beside the same run without it
   (goal: under 5% more).
2. Checkpoint write bandwidth (gpa's own report: file size / time from the first byte to the
   rename), beside `dd` writing a file of the same size with fsync, in the same directory, for
   N = M = 100k and N = M = 1M.

    bench/io_cost.py [--gpa build/gpa] [--ranks 2] [--n 100000] [--steps 40] [--dir DIR]
"""
import argparse
import os
import re
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def gpa(a, out, *extra, n=None, steps=None):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", HWLOC_COMPONENTS="-x86")
    cmd = [a.mpirun, "-q", "-n", str(a.ranks), a.gpa, "run", os.path.join(ROOT, "inputs", "mog2d.yml"),
           "-P", f"source.n={n or a.n}", "-P", f"target.n={n or a.n}",
           "-P", f"transport.max_steps={steps or a.steps}",
           "-P", "output.progress_every=0", "-P", "output.store_field=off", "--output", out,
           *extra]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return res.stdout


def seconds_per_step(text):
    m = re.search(r"after (\d+) steps in ([0-9.]+) s", text)
    return float(m.group(2)) / int(m.group(1))


def output_seconds(text):
    """Average over ranks of the `output` timer (trajectory frames, run file, checkpoints)."""
    return float(re.search(r"^  output\s+([0-9.]+)\s+([0-9.]+)", text, re.M).group(2))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gpa", default=os.path.join(ROOT, "build", "gpa"))
    p.add_argument("--mpirun", default=shutil.which("mpirun") or "mpirun")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--n", type=int, default=100000)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--ckpt-n", dest="ckpt_n", type=int, default=1000000,
                   help="particles (and targets) of the larger checkpoint")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--dir", default=None, help="where to write (default: a temporary folder here)")
    a = p.parse_args()
    work = tempfile.mkdtemp(dir=a.dir or os.getcwd(), prefix="gpa-io-")
    try:
        out = os.path.join(work, "run.h5")
        runs = {every: [gpa(a, out, "-P", f"output.trajectory_every={every}")
                        for _ in range(a.repeat)] for every in (0, 10)}
        base = min(seconds_per_step(t) for t in runs[0])
        traj = min(seconds_per_step(t) for t in runs[10])
        io0 = min(output_seconds(t) for t in runs[0]) / a.steps
        io10 = min(output_seconds(t) for t in runs[10]) / a.steps
        frame_mb = a.n * 2 * 8 / 1e6
        print(f"N = {a.n} particles, d = 2, {a.ranks} ranks, {a.steps} steps, best of {a.repeat}")
        print(f"  without trajectory      {base * 1e3:9.2f} ms/step   (output timer "
              f"{io0 * 1e3:.3f} ms/step)")
        print(f"  trajectory_every = 10   {traj * 1e3:9.2f} ms/step   (output timer "
              f"{io10 * 1e3:.3f} ms/step; a frame is {frame_mb:.1f} MB)")
        print(f"  trajectory cost: {(io10 - io0) / base * 100:.2f}% of the step time by the output "
              f"timer; {(traj / base - 1) * 100:+.1f}% by wall time (noise of the machine)")
        for n in (a.n, a.ckpt_n):
            text = gpa(a, out, "-P", "output.trajectory_every=0", "-P",
                       "output.checkpoint_every=1", n=n, steps=2)
            rates = re.findall(r"checkpoint at step \d+: \S+, ([0-9.]+) MB in ([0-9.]+) s", text)
            size_mb = float(rates[-1][0])
            best = max(float(mb) / float(s) for mb, s in rates)
            ddfile = os.path.join(work, "dd.bin")
            count = max(1, round(size_mb))
            dd = subprocess.run(["dd", "if=/dev/zero", f"of={ddfile}", "bs=1M", f"count={count}",
                                 "conv=fsync"], capture_output=True, text=True, check=True).stderr
            m = re.search(r"copied, ([0-9.]+) s, ([0-9.]+) ([MG])B/s", dd)
            dd_rate = float(m.group(2)) * (1000 if m.group(3) == "G" else 1)
            os.remove(ddfile)
            print(f"  checkpoint of N = M = {n}: {size_mb:.1f} MB at {best:.0f} MB/s (written, "
                  f"synced, renamed); dd of {count} MB with fsync: {dd_rate:.0f} MB/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

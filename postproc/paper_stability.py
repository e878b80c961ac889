#!/usr/bin/python3
"""Sections 1, 2 and 7 of docs/paper-results.md (not a script; postproc/paper_figures.py calls
them): how the particles move. The Lipschitz constant and stability (paper Figs. 2-3), Euler,
Heun and RK4 in R^12 (Fig. 11), smooth against plain ReLU with a small dt (SM3.2).

Each function takes the Suite and the figure folder, draws one PNG and returns
(Markdown text, a dict of the numbers the summary table needs).
"""

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from paper_common import (SETTLE_DROP, flat_from, fmt, mark_divergence, nearest,  # noqa: E402
                          save, settings_line, settles, stamp, table, tail)

NEAR = 0.5  # "near the targets": median nearest-target distance below the mixture's std
SEEDS = (1, 2)


def _lstudy_label(r):
    L = r.p("divergence.L")
    s = "L = inf" if not np.isfinite(L) else f"L = {L:g}"
    return s + (" (Frobenius)" if r.p("network.normalization") == "frobenius"
                and np.isfinite(L) else "")


def _lstudy_row(r):
    ok, end, peak = settles(r)
    near = float(np.median(nearest(r.final, r.target)))
    return ok, end, peak, near


def lstudy(suite, figdir):
    names = ["lstudy_L1", "lstudy_L10", "lstudy_L100", "lstudy_Linf", "lstudy_L100_frobenius"]
    runs = [suite[n] for n in names]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig = plt.figure(figsize=(14, 9.5))
    gs = fig.add_gridspec(2, len(runs), height_ratios=[1.15, 1], hspace=0.38, wspace=0.3)
    ax = fig.add_subplot(gs[0, :])
    for r, c in zip(runs, colours):
        ax.semilogy(r.step(), r.ke(), lw=0.5, color=c, alpha=0.85, label=_lstudy_label(r))
        mark_divergence(ax, r, r.ke()[-1], c)
    ax.set_ylim(bottom=1e-12)
    ax.set_xlabel("step")
    ax.set_ylabel("kinetic energy  mean |grad phi|^2")
    ax.set_title("Paper Fig. 2: kinetic energy over steps, 2-D mixture, seed 0 (x: diverged)")
    ax.legend(fontsize="small", ncol=5, loc="lower center", bbox_to_anchor=(0.5, 1.06))
    for k, (r, c) in enumerate(zip(runs, colours)):
        a = fig.add_subplot(gs[1, k])
        a.scatter(r.target[:, 0], r.target[:, 1], s=3, color="0.6", lw=0)
        if r.traj is not None:
            for i in range(0, r.traj.shape[1], 10):
                a.plot(r.traj[:, i, 0], r.traj[:, i, 1], lw=0.4, color=c, alpha=0.7)
        a.scatter(r.final[:, 0], r.final[:, 1], s=4, color="k", lw=0)
        a.set_title(f"Fig. 3: {_lstudy_label(r)}\n{r.status.split(':')[0]}", fontsize=8)
        a.tick_params(labelsize=7)
    n = stamp(fig, runs, keys=("network.normalization", "optimizer.kind", "optimizer.lr",
                               "optimizer.epochs"), extra="paths of every 10th particle")
    png = save(fig, figdir, "lstudy", n)

    claims = {
        "lstudy_L1": "KE decreases, particles slow down and stop near the targets",
        "lstudy_L10": "the same",
        "lstudy_L100": "the same",
        "lstudy_Linf": "particles keep relatively high speeds; the algorithm fails to converge",
        "lstudy_L100_frobenius": "(not in the paper: the reference code's normalization)",
    }
    rows, res = [], {}
    for r in runs:
        ok, end, peak, near = _lstudy_row(r)
        others = []
        for s in SEEDS:
            rs = suite[f"{r.name}_seed{s}"]
            oks, _, _, nears = _lstudy_row(rs)
            others.append(f"{'yes' if oks else 'no'}, {fmt(nears)}"
                          + (f" (diverged at {rs.diverged_at})" if rs.diverged_at else ""))
            res[rs.name] = (oks, nears)
        res[r.name] = (ok, near)
        rows.append([_lstudy_label(r), claims[r.name], r.status.split(":")[0], fmt(peak),
                     fmt(end), "yes" if ok else "no", fmt(near),
                     fmt(r.metrics.get("w2_exact")), "; ".join(others)])
    t = table(["run (seed 0)", "paper (Figs. 2-3)", "status", "KE peak", "KE, last 10%",
               "settles", "median distance to nearest target", "exact W2",
               "seeds 1; 2: settles, median distance"], rows)
    r0 = runs[0]

    def verdict(name):
        ok, near = res[name]
        return "settles near the targets" if ok and near < NEAR else \
            "settles far from the targets" if ok else "does not settle"

    lines = [f"- {_lstudy_label(suite[n])}: " + ", ".join(
        f"seed {s}: {verdict(n if s == 0 else f'{n}_seed{s}')}" for s in (0,) + SEEDS)
        for n in names]
    text = f"""## 1. The Lipschitz constant and stability (paper Figs. 2-3)

**Paper.** 2-D Gaussian mixture, the same dt for every L: "For L = 1, 10, 100 the kinetic
energy decreases and particles eventually stop" near the target particles; "without Lipschitz
regularization the particles keep (relatively) high speeds", and Fig. 3 shows that the
algorithm then fails to converge.

**Settings** (from the run files): {settings_line(r0)}; L = 1, 10, 100 with spectral
normalization (the solver's default: the network's Lipschitz constant is at most L), L = inf,
and an extra L = 100 run with the Frobenius normalization of the reference code. Every run is
repeated with seeds 1 and 2 (other samples and initial network).

**Measured.** "Settles": no divergence, and the mean kinetic energy over the last 10% of steps
is below {SETTLE_DROP:g} of its peak. "Near the targets": the median distance from a final
particle to its nearest target is below {NEAR} (the std of a mixture component).

{t}

{chr(10).join(lines)}

![L study]({png})
"""
    bad = [n for n in ("lstudy_L100",) if res[n][0] and res[n][1] >= NEAR]
    if bad:
        r100 = suite["lstudy_L100"]
        text += f"""
**Where we differ from the paper.** With spectral normalization, L = 100 settles (its KE falls
to {fmt(settles(r100)[1])}) but far from the data: the median distance to the nearest target
is {fmt(res['lstudy_L100'][1])} (seed 0). In the first steps the particles move up to L dt per
step and leave the data's region; there the ReLU discriminator is flat and they stop. With the
reference code's Frobenius normalization (its true Lipschitz constant stays well below 100),
L = 100 ends near the targets, as the paper's curve does. So the paper's L = 100 result seems to
rely on that normalization, which keeps the true constant below L.
"""
    return text, {"lstudy": res, "lstudy_names": names, "lstudy_label": _lstudy_label,
                  "lstudy_verdict": verdict}


# -------------------------------------------------------------------------------------------
def _r12_measures(r):
    """(spread curve [F], spread end, RMS step end, oscillation index, mixture std ratio)."""
    off = r.p("target.offset")
    extra = [k for k in range(r.target.shape[1]) if k not in (off, off + 1)]
    spread = np.sqrt((r.traj[:, :, extra] ** 2).mean(axis=(1, 2)))
    s_end = float(np.mean(tail(spread)))
    l_end = float(np.sqrt(np.mean(tail(r.ke())))) * r.p("transport.dt")
    mix = float(np.mean(r.final[:, off:off + 2].std(0) / r.target[:, off:off + 2].std(0)))
    return spread, s_end, l_end, l_end / s_end, mix, extra


def r12(suite, figdir):
    runs = [suite[f"r12_{s}"] for s in ("euler", "heun", "rk4")]
    colours = ["tab:red", "tab:blue", "tab:green"]
    fig = plt.figure(figsize=(14, 9.5))
    gs = fig.add_gridspec(2, 4, hspace=0.3, wspace=0.3)
    a_spread = fig.add_subplot(gs[0, :2])
    a_step = fig.add_subplot(gs[0, 2:])
    meas = {}
    for r, c in zip(runs, colours):
        m = meas[r.name] = _r12_measures(r)
        lab = r.p("transport.integrator")
        a_spread.semilogy(r.traj_step, m[0], color=c, lw=0.8, label=lab)
        a_step.semilogy(r.step(), r.p("transport.dt") * np.sqrt(r.ke()), color=c, lw=0.5,
                        label=lab)
    a_spread.set_title("spread of the 10 extra coordinates (RMS; the target's value is 0)",
                       fontsize=9)
    a_step.set_title("RMS displacement per step, dt sqrt(KE)", fontsize=9)
    for a in (a_spread, a_step):
        a.set_xlabel("step")
        a.legend(fontsize="small")
    lim = 1.1 * max(float(np.abs(r.final[:, meas[r.name][5]]).max()) for r in runs)
    for k, (r, c) in enumerate(zip(runs, colours)):
        a = fig.add_subplot(gs[1, k])
        i, j = meas[r.name][5][0], meas[r.name][5][-1]
        a.scatter(r.traj[-2][:, i], r.traj[-2][:, j], s=3, color="0.6", lw=0,
                  label=f"step {r.traj_step[-2]}")
        a.scatter(r.final[:, i], r.final[:, j], s=3, color=c, lw=0, label=f"step {r.steps}")
        a.set_xlim(-lim, lim)
        a.set_ylim(-lim, lim)
        a.set_aspect("equal")
        a.set_title(f"{r.p('transport.integrator')}: extra coordinates x[{i}], x[{j}]",
                    fontsize=8)
        a.legend(fontsize=6, loc="upper right", markerscale=2)
    a = fig.add_subplot(gs[1, 3])
    off = runs[0].p("target.offset")
    a.scatter(runs[0].target[:, off], runs[0].target[:, off + 1], s=3, color="0.6", lw=0,
              label="target")
    for r, c in zip(runs, colours):
        a.scatter(r.final[:, off], r.final[:, off + 1], s=2, color=c, lw=0,
                  label=r.p("transport.integrator"))
    a.set_title(f"mixture coordinates x[{off}], x[{off + 1}] at the end", fontsize=8)
    a.legend(fontsize=6, markerscale=2)
    a.set_aspect("equal")
    n = stamp(fig, runs, keys=("optimizer.lr", "optimizer.epochs", "transport.stages",
                               "output.trajectory_every"), extra="seed 0")
    png = save(fig, figdir, "r12_integrators", n)

    rows, res = [], {}
    for scheme in ("euler", "heun", "rk4"):
        for seed in (0,) + SEEDS:
            name = f"r12_{scheme}" + (f"_seed{seed}" if seed else "")
            r = suite[name]
            _, s, l, o, mix, _ = meas.get(name) or _r12_measures(r)
            flat = flat_from(r)
            state = (f"frozen: phi flat (KE = 0) from step {flat}" if flat is not None
                     else "stuck between the components" if mix < 0.5
                     else "oscillates" if o > 1 else "settled")
            res[name] = (o, mix, state)
            rows.append([scheme, seed, r.steps, fmt(s), fmt(l), fmt(o), fmt(mix),
                         fmt(r.metrics.get("w2_exact")), state])
    t = table(["integrator", "seed", "steps", "spread of extra coords, last 10%",
               "RMS step, last 10%", "oscillation index (step / spread)",
               "mixture-coordinate std / target's", "exact W2 to targets", "end state"], rows)
    names = {sch: [f"r12_{sch}" + (f"_seed{k}" if k else "") for k in (0,) + SEEDS]
             for sch in ("euler", "heun", "rk4")}
    count = {sch: {st: sum(res[n][2].startswith(st) for n in ns)
                   for st in ("oscillates", "settled", "stuck", "frozen")}
             for sch, ns in names.items()}
    osc = {sch: [res[n][0] for n in ns] for sch, ns in names.items()}
    nseeds = len(SEEDS) + 1
    summary = "; ".join(
        f"{sch}: " + ", ".join(f"{k} {v}" for k, v in c.items() if v) for sch, c in count.items())
    heun_osc = count["heun"]["oscillates"]
    verdict = (f"Euler oscillates in {count['euler']['oscillates']} of {nseeds} seeds, Heun in "
               f"{heun_osc}: " + ("the oscillation is Euler's, as the paper says. "
                                  if count["euler"]["oscillates"] and not heun_osc else
                                  "not the paper's picture. ")
               + f"But Heun settles near the target in {count['heun']['settled']} of {nseeds} "
               "seeds only, so \"a convergent approximation\" holds for "
               + ("every seed." if count["heun"]["settled"] == nseeds else "some seeds, not all.")
               )
    r0 = runs[0]
    text = f"""## 2. Euler, Heun and RK4 on the mixture embedded in R^12 (paper Fig. 11)

**Paper.** "Forward Euler produces an oscillatory pattern in the orthogonal 10D subspace while
[Heun] produces a convergent approximation" (SM3.2); RK4 is named as a further option.

**Settings:** {settings_line(r0, integrator=False)}, each Runge-Kutta stage retraining phi
(stages {r0.p('transport.stages')}); positions stored every {r0.p('output.trajectory_every')}
steps. Seeds 1 and 2 repeat each run (other samples and initial network).

**Measured.** The spread is the RMS of the 10 coordinates in which the target is 0; the RMS
step is dt sqrt(KE), the mean displacement of a particle in one step; their ratio over the last
10% of steps is the oscillation index. Above 1, particles jump further each step than their
distance from the mixture's plane: they oscillate around it. The mixture-coordinate std ratio
checks that the 4 components were found (1: as spread as the targets). End state: "frozen" when
the kinetic energy is exactly 0 to the end (every ReLU of phi is dead at the particles, so
D = 0 and nothing moves); "stuck" when the std ratio is below 0.5; "oscillates" when the index
is above 1; "settled" otherwise.

{t}

End states: {summary}. {verdict} The bottom panels (seed 0) show two stored frames an odd
number of steps apart: Euler's cloud flips between two positions from one step to the next.
"""
    if count["heun"]["stuck"] + count["rk4"]["stuck"] + count["heun"]["frozen"] + \
            count["rk4"]["frozen"]:
        text += """
**Not in the paper.** Two ways of stopping short show up with the higher-order schemes. "Stuck":
the cloud stops at the centre of the square between the 4 components with a nearly flat
discriminator and never splits.
"Frozen": phi's ReLUs all die at the particles; the kinetic energy and the divergence estimate
are then exactly 0, which `transport.ke_tol` or `div_tol` would read as convergence, while the
particles are still away from the target (their spread in the table).
"""
    text += f"\n![R^12 integrators]({png})\n"
    return text, {"r12": res, "r12_osc": osc, "r12_states": summary}


# -------------------------------------------------------------------------------------------
def smooth(suite, figdir):
    runs = [suite["relu_small_dt"], suite["smooth_small_dt"]]
    fig, axes = plt.subplots(2, 2, figsize=(12, 9.5))
    rows, res = [], {}
    for r, c in zip(runs, ("tab:red", "tab:blue")):
        lab = r.p("network.activation")
        axes[0, 0].semilogy(r.step(), r.ke(), lw=0.5, color=c, label=lab)
        axes[0, 1].semilogy(r.step(), np.maximum(r.div(), 1e-7), lw=0.5, color=c, label=lab)
        ok, end, peak = settles(r)
        d_end = float(np.mean(tail(r.div())))
        res[lab] = (end, d_end, r.metrics.get("w2_exact"), r.metrics.get("sinkhorn"))
        rows.append([lab, fmt(peak), fmt(end), "yes" if ok else "no", fmt(d_end),
                     fmt(r.metrics.get("w2_exact")), fmt(r.metrics.get("sinkhorn")),
                     fmt(suite.timings.get(r.name))])
    axes[0, 0].set_ylim(bottom=1e-8)
    axes[0, 0].set_title("kinetic energy (axis cut at 1e-8)", fontsize=9)
    axes[0, 1].set_title("divergence estimate D (clipped at 1e-7)", fontsize=9)
    for a in axes[0]:
        a.set_xlabel("step")
        a.legend(fontsize=7)
    for a, r in zip(axes[1], runs):
        a.scatter(r.target[:, 0], r.target[:, 1], s=6, color="0.6", lw=0, label="targets")
        a.scatter(r.final[:, 0], r.final[:, 1], s=4, color="k", lw=0, label="particles")
        a.set_aspect("equal")
        a.set_title(f"{r.p('network.activation')}, dt {r.p('transport.dt')}: step {r.steps}",
                    fontsize=9)
        a.legend(fontsize=7, markerscale=2)
    n = stamp(fig, runs, keys=("network.activation", "network.smooth_eps"))
    png = save(fig, figdir, "smooth_relu", n)
    tab = table(["activation", "KE peak", "KE, last 10%", "settles", "D, last 10%",
                 "exact W2 to targets", "Sinkhorn", "wall time (s)"], rows)
    (ke_r, d_r, w_r, s_r), (ke_s, d_s, w_s, s_s) = res["relu"], res["smooth_relu"]
    start = {r.p("network.activation"): int(r.step()[np.argmax(r.ke() > 1e-2 * r.ke().max())])
             for r in runs}
    t_r, t_s = (suite.timings.get(r.name) for r in runs)
    cost = t_s / t_r if t_r and t_s else None
    closer = ("the smooth ReLU's particles come closer to rest" if ke_s < ke_r else
              "the smooth ReLU does not bring the particles closer to rest")
    r = runs[1]
    text = f"""## 7. Smooth against plain ReLU with a small dt (paper SM3.2)

**Paper.** "Smoother discriminators allow us to take smaller time step sizes so that the
algorithm can slow down and eventually stop, avoiding oscillations around the target", with the
smooth ReLU of its eq. 50. No numbers are given.

**Settings:** {settings_line(r, activation=False)}; every hidden layer plain ReLU or the smooth
ReLU (eps {r.p('network.smooth_eps')}).

**Measured** ("settles" as in section 1):

{tab}

Smooth ReLU against plain ReLU over the last 10% of steps: kinetic energy {fmt(ke_s)} against
{fmt(ke_r)} (ratio {fmt(ke_s / ke_r)}), divergence estimate {fmt(d_s)} against {fmt(d_r)};
at the end, exact W2 to the targets {fmt(w_s)} against {fmt(w_r)}, Sinkhorn {fmt(s_s)} against
{fmt(s_r)}: {closer}. The smooth ReLU costs {fmt(cost)}x the wall time. The kinetic energy
first reaches 1% of its peak at step {start['relu']} with ReLU and {start['smooth_relu']} with
the smooth ReLU, whose gradients at initialisation are tiny.

![Smooth ReLU]({png})
"""
    return text, {"smooth": res}

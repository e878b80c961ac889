#!/usr/bin/python3
"""Issue-13 study: integration methods scored against the issue's bar.

    OMP_NUM_THREADS=2 /usr/bin/python3 study.py DATASET METHOD [METHOD ...] [--out DIR]

DATASET: bladder, hsmm, syn6k, syn20k, syn20k_s7 (see DATASETS).  METHOD: see METHODS.
Writes DIR/DATASET.METHOD.json (bar figures) and, for synthetic data, runs truth_eval.py on a
gpa-layout file (written, scored, removed)."""
import os
os.environ.setdefault("OMP_NUM_THREADS", "2")
import argparse
import json
import math
import subprocess
import sys
import time

import h5py
import numpy as np
import torch

sys.path.insert(0, "/work/shared/bench")
import integration_eval as ie  # noqa: E402

torch.set_num_threads(2)

DATASETS = {
    "bladder": dict(path="/work/shared/data/bladderbatch.h5", batch="batch", src=[1], tgt=[4],
                    label="is_cancer", k_deck=35, L_deck=1.0, dt_deck=1.0, steps_deck=100),
    "hsmm": dict(path="/work/shared/data/hsmm_singlecell.h5", batch="hours", src=[24], tgt=[48],
                 label="label", k_deck=152, L_deck=0.2, dt_deck=1.0, steps_deck=150),
    "syn6k": dict(path="/tmp/study/syn6k_s3.h5", batch="batch", src=[1], tgt=[0], label="label",
                  k_deck=50, L_deck=0.3, dt_deck=0.5, steps_deck=100),
    "syn20k": dict(path="/tmp/study/syn_s3.h5", batch="batch", src=[1], tgt=[0], label="label",
                   k_deck=50, L_deck=0.3, dt_deck=0.5, steps_deck=100),
    "syn20k_s7": dict(path="/tmp/study/syn_s7_nl12.h5", batch="batch", src=[1], tgt=[0],
                      label="label", k_deck=50, L_deck=0.3, dt_deck=0.5, steps_deck=100),
}

CAP = 1000          # Sinkhorn: at most this many points per side and label (as metric_samples)
N_HALVINGS = 5


# ------------------------------------------------------------------------------ affine methods

def paper_baseline(Xs, Xt, ls, lt):
    return ie.meanstd_baseline(Xs, Xt, ls, lt)


def _label_stats(Xs, Xt, ls, lt):
    labs = [c for c in np.unique(ls) if c >= 0 and (lt == c).any()]
    st = []
    for c in labs:
        a, b = Xs[ls == c], Xt[lt == c]
        st.append((c, len(a), len(b), a.mean(0), b.mean(0), ((a - a.mean(0)) ** 2).sum(0),
                   ((b - b.mean(0)) ** 2).sum(0)))
    return st


def combat_shared(Xs, Xt, ls, lt, eb=True, per_label=False, info=None):
    """Label-agnostic per-gene affine map (ComBat-type, reference batch = target), labels as
    covariates: x' = mu_s + gamma + b (x - mu_s).  b: ratio of within-label sds (pooled over
    labels); gamma: weighted mean over labels of (target mean - source mean), weights
    n_s n_t / (n_s + n_t).  eb: empirical-Bayes shrinkage over genes of log b and of the
    standardised gamma toward their cross-gene means (prior variance by moments).
    per_label: then each label's remaining mean mismatch d_cg is added back, shrunk by
    tau_c^2 / (tau_c^2 + v_cg) (tau_c^2 by moments over genes)."""
    st = _label_stats(Xs, Xt, ls, lt)
    C = len(st)
    ns = sum(s[1] for s in st)
    nt = sum(s[2] for s in st)
    dfs, dft = max(ns - C, 1), max(nt - C, 1)
    vs = sum(s[5] for s in st) / dfs
    vt = sum(s[6] for s in st) / dft
    ok = (vs > 1e-12) & (vt > 1e-12)
    lb = np.zeros(Xs.shape[1])
    lb[ok] = 0.5 * np.log(vt[ok] / vs[ok])
    w = np.array([s[1] * s[2] / (s[1] + s[2]) for s in st])
    sw = w.sum()
    mu_s = sum(wi * s[3] for wi, s in zip(w, st)) / sw
    mu_t = sum(wi * s[4] for wi, s in zip(w, st)) / sw
    gamma = mu_t - mu_s
    v = 0.5 * (vs + vt)
    sd = np.sqrt(np.where(v > 1e-12, v, 1.0))
    shr = {}
    if eb:
        sv = 0.5 / dfs + 0.5 / dft                   # sampling variance of log sd ratio
        m = lb[ok].mean()
        tau2 = max(lb[ok].var() - sv, 0.0)
        lam = tau2 / (tau2 + sv)
        lb[ok] = m + lam * (lb[ok] - m)
        g = gamma / sd
        svg = 1.0 / sw                                # sampling variance of the standardised gamma
        mg = g.mean()
        tg = max(g.var() - svg, 0.0)
        lamg = tg / (tg + svg)
        gamma = (mg + lamg * (g - mg)) * sd
        shr = {"scale_lambda": lam, "shift_lambda": lamg}
    b = np.exp(lb)
    Xc = mu_s + gamma + b * (Xs - mu_s)
    if per_label:
        for (c, n_s, n_t, ms, mt, _, _) in st:
            d = mt - (mu_s + gamma + b * (ms - mu_s))
            vc = vt / n_t + b * b * vs / n_s
            tau2 = max(float(np.mean(d * d - vc)), 0.0)
            lam = np.divide(tau2, tau2 + vc, out=np.zeros_like(vc), where=(tau2 + vc) > 0)
            Xc[ls == c] += lam * d
            shr[f"label{c}_tau2_over_v"] = float(tau2 / np.mean(vc))
            shr[f"label{c}_lambda_mean"] = float(lam.mean())
    if info is not None:
        info.update(shr)
    return Xc


# ------------------------------------------------------------------------------ the flow

class MLP:
    def __init__(self, d, widths, L, g):
        self.W, self.b = [], []
        fan = d
        for out in list(widths) + [1]:
            self.W.append((torch.randn(fan, out, generator=g) / math.sqrt(fan / 2)).requires_grad_())
            self.b.append(torch.zeros(1, out).requires_grad_())
            fan = out
        self.c = L ** (1.0 / len(self.W))
        self.project()

    def params(self):
        return self.W + self.b

    @torch.no_grad()
    def project(self):
        for w in self.W:
            w.mul_(self.c / torch.linalg.matrix_norm(w, ord=2))

    def __call__(self, x):
        h = x
        for l in range(len(self.W) - 1):
            h = torch.relu(h @ self.W[l] + self.b[l])
        return (h @ self.W[-1] + self.b[-1])[:, 0]


def train(phi, Y, X, epochs, lr, state):
    ps = phi.params()
    m = [torch.zeros_like(p) for p in ps]
    v = [torch.zeros_like(p) for p in ps]
    J = None
    for t in range(1, epochs + 1):
        out = phi(torch.cat([Y, X]))
        gy, gx = out[: len(Y)], out[len(Y):]
        J = gy.mean() - (torch.logsumexp(gx, 0) - math.log(len(X)))
        grads = torch.autograd.grad(J, ps)
        with torch.no_grad():
            for p, gr, mm, vv in zip(ps, grads, m, v):
                mm.mul_(0.9).add_(gr, alpha=0.1)
                vv.mul_(0.999).addcmul_(gr, gr, value=0.001)
                p.add_(lr * (mm / (1 - 0.9 ** t)) / ((vv / (1 - 0.999 ** t)).sqrt() + 1e-8))
        phi.project()
    return float(J)


def grad_phi(phi, Y):
    Y = Y.detach().requires_grad_(True)
    g, = torch.autograd.grad(phi(Y).sum(), Y)
    return g


def smoother(Y0, k_s):
    """Fixed kNN graph on the starting positions: Gaussian weights, bandwidth = median distance
    to the k_s-th neighbour; self included."""
    from sklearn.neighbors import NearestNeighbors
    n = len(Y0)
    k_s = min(k_s, n)
    d, idx = NearestNeighbors(n_neighbors=k_s).fit(Y0).kneighbors(Y0)   # includes self
    h = np.median(d[:, -1]) if k_s > 1 else 1.0
    w = np.exp(-0.5 * (d / max(h, 1e-12)) ** 2)
    w /= w.sum(1, keepdims=True)
    return torch.as_tensor(idx), torch.as_tensor(w, dtype=torch.float32), float(h)


def halvings(rng, nt, ns, cap):
    """N_HALVINGS target halvings (capped) and the source subsets at equal size."""
    out = []
    for _ in range(N_HALVINGS):
        p = rng.permutation(nt)
        if nt > 2 * cap:
            p = p[: 2 * cap]
        h = len(p) // 2
        q = rng.permutation(ns)[: min(h, ns)]
        out.append((p[:h], p[h:], q))
    return out


def floor_and_half(Yn, Xn, hv):
    F = np.mean([ie.sinkhorn_divergence(Xn[a], Xn[b]) for a, b, _ in hv])
    G = np.mean([ie.sinkhorn_divergence(Yn[q], Xn[b]) for _, b, q in hv])
    return float(F), float(G)


def flow_label(Y0, X, cfg, seed, log):
    """One label's flow from Y0 onto X (numpy, flow units).  Returns the moved points."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    d = Y0.shape[1]
    phi = MLP(d, cfg["widths"], cfg["L"], g)
    Y = torch.as_tensor(Y0, dtype=torch.float32).clone()
    Xt = torch.as_tensor(X, dtype=torch.float32)
    sm = None
    if cfg.get("k_smooth"):
        if cfg["k_smooth"] == "mean":
            sm = "mean"
        else:
            ks = cfg["k_smooth"](len(Y0)) if callable(cfg["k_smooth"]) else cfg["k_smooth"]
            sm = smoother(Y0, ks)
            log["smooth_k"], log["smooth_h"] = int(min(ks, len(Y0))), sm[2]
    stop = cfg.get("stop_floor", False)
    hv = halvings(rng, len(X), len(Y0), CAP) if stop else None
    every = cfg.get("check_every") or (1 if len(Y0) + len(X) <= 400 else 5)
    curve = []
    F = None
    if stop:
        F, G = floor_and_half(Y0, X, hv)
        log["F_flow"], log["G_half0"] = F, G
        curve.append((0, G))
        thr = F + cfg.get("stop_gap", 0.0) * max(G - F, 0.0)
        log["threshold"] = thr
        if G <= thr:
            log["steps"] = 0
            log["stopped"] = "at start"
            return Y0.copy()
    ke = []
    steps = cfg["max_steps"]
    for n in range(1, cfg["max_steps"] + 1):
        train(phi, Y, Xt, cfg["epochs"], cfg["lr"], None)
        gr = grad_phi(phi, Y)
        ke.append(float((gr * gr).sum(1).mean()))
        if sm == "mean":
            gr = gr.mean(0, keepdim=True).expand_as(gr)
        elif sm is not None:
            idx, w, _ = sm
            gr = (w[:, :, None] * gr[idx]).sum(1)
        with torch.no_grad():
            Y -= cfg["dt"] * gr
        if stop and n % every == 0:
            _, G = floor_and_half(Y.numpy().astype(np.float64), X, hv)
            curve.append((n, G))
            if G <= thr:
                steps = n
                log["stopped"] = "floor"
                break
    log["steps"] = steps
    log["ke"] = ke
    log["G_curve"] = curve
    return Y.numpy().astype(np.float64)


def flow_method(Xs, Xt, ls, lt, cfg, Xstart=None, seed=0, info=None):
    """Pooled PCA of (start source, target), per-label flow, decode keeping the residual."""
    X0 = Xs if Xstart is None else Xstart
    n = len(X0) + len(Xt)
    k = min(cfg["k"](n) if callable(cfg["k"]) else cfg["k"], n - 1)
    pooled = np.vstack([X0, Xt])
    mu = pooled.mean(0)
    if pooled.shape[0] > 5000:
        from sklearn.utils.extmath import randomized_svd
        _, s, vt = randomized_svd(pooled - mu, k, n_iter=4, random_state=0)
    else:
        _, s, vt = np.linalg.svd(pooled - mu, full_matrices=False)
    V = vt[:k].T
    Zs, Zt = (X0 - mu) @ V, (Xt - mu) @ V
    if cfg.get("scale") == "deck":
        sc = 10.0
    else:   # data: the within-label RMS per coordinate of the target
        ss = sum(((Zt[lt == c] - Zt[lt == c].mean(0)) ** 2).sum() for c in np.unique(lt))
        sc = math.sqrt(ss / (len(Zt) * k))
    Zc = Zs.copy()
    logs = {"k": int(k), "scale": sc}
    for c in np.unique(ls):
        if c < 0 or not (lt == c).any():
            continue
        lg = {"n_source": int((ls == c).sum()), "n_target": int((lt == c).sum())}
        t0 = time.time()
        Zc[ls == c] = flow_label(Zs[ls == c] / sc, Zt[lt == c] / sc, cfg, seed + int(c), lg) * sc
        lg["seconds"] = time.time() - t0
        logs[f"label{c}"] = lg
    if info is not None:
        info.update(logs)
    return X0 + (Zc - Zs) @ V.T


# ------------------------------------------------------------------------------ methods

def rule_k(n):            # latent components from the data: 50, at most samples - 1
    return min(50, n - 1)


def rule_sqrt(n):         # smoothing neighbours: sqrt(n), at least 5
    return max(5, int(round(math.sqrt(n))))


FLOW = dict(widths=(32, 32, 32), L=1.0, dt=0.1, epochs=3, lr=1e-3, max_steps=400, k=rule_k,
            stop_floor=True, stop_gap=0.2)


def m_paper(d, Xs, Xt, ls, lt, meta, info):
    cfg = dict(widths=(32, 32, 32), L=meta["L_deck"], dt=meta["dt_deck"], epochs=3, lr=1e-3,
               max_steps=meta["steps_deck"], k=meta["k_deck"], scale="deck")
    return flow_method(Xs, Xt, ls, lt, cfg, info=info)


METHODS = {
    "none": lambda d, Xs, Xt, ls, lt, meta, info: Xs.copy(),
    "baseline": lambda d, Xs, Xt, ls, lt, meta, info: paper_baseline(Xs, Xt, ls, lt),
    "combat": lambda d, Xs, Xt, ls, lt, meta, info: combat_shared(Xs, Xt, ls, lt, True, False, info),
    "combat_noeb": lambda d, Xs, Xt, ls, lt, meta, info: combat_shared(Xs, Xt, ls, lt, False, False, info),
    "combat_lab": lambda d, Xs, Xt, ls, lt, meta, info: combat_shared(Xs, Xt, ls, lt, True, True, info),
    "paper": m_paper,
    # floor-aware flow from the raw latent points, no smoothing
    "flow_floor": lambda d, Xs, Xt, ls, lt, meta, info: flow_method(Xs, Xt, ls, lt, dict(FLOW), info=info),
    # floor-aware, smoothed (k = sqrt n) from the raw points
    "flow_floor_sm": lambda d, Xs, Xt, ls, lt, meta, info: flow_method(
        Xs, Xt, ls, lt, dict(FLOW, k_smooth=rule_sqrt), info=info),
    # shared affine start, then floor-aware flow (no smoothing / kNN smoothing / mean shift)
    "cb_flow": lambda d, Xs, Xt, ls, lt, meta, info: flow_method(
        Xs, Xt, ls, lt, dict(FLOW), Xstart=combat_shared(Xs, Xt, ls, lt, True, False, info), info=info),
    "cb_flow_sm": lambda d, Xs, Xt, ls, lt, meta, info: flow_method(
        Xs, Xt, ls, lt, dict(FLOW, k_smooth=rule_sqrt),
        Xstart=combat_shared(Xs, Xt, ls, lt, True, False, info), info=info),
    "cb_flow_sm10": lambda d, Xs, Xt, ls, lt, meta, info: flow_method(
        Xs, Xt, ls, lt, dict(FLOW, k_smooth=10),
        Xstart=combat_shared(Xs, Xt, ls, lt, True, False, info), info=info),
    "cbl_flow_sm": lambda d, Xs, Xt, ls, lt, meta, info: flow_method(
        Xs, Xt, ls, lt, dict(FLOW, k_smooth=rule_sqrt),
        Xstart=combat_shared(Xs, Xt, ls, lt, True, True, info), info=info),
    "cbl_flow_sm_fixed300": lambda d, Xs, Xt, ls, lt, meta, info: flow_method(
        Xs, Xt, ls, lt, dict(FLOW, k_smooth=rule_sqrt, stop_floor=False, max_steps=300),
        Xstart=combat_shared(Xs, Xt, ls, lt, True, True, info), info=info),
    "cbl_flow_fixed300": lambda d, Xs, Xt, ls, lt, meta, info: flow_method(
        Xs, Xt, ls, lt, dict(FLOW, stop_floor=False, max_steps=300),
        Xstart=combat_shared(Xs, Xt, ls, lt, True, True, info), info=info),
    "cb_flow_fixed_sm": lambda d, Xs, Xt, ls, lt, meta, info: flow_method(
        Xs, Xt, ls, lt, dict(FLOW, k_smooth=rule_sqrt, stop_floor=False, max_steps=200),
        Xstart=combat_shared(Xs, Xt, ls, lt, True, False, info), info=info),
}


# ------------------------------------------------------------------------------ scoring

def _nn_idx(X, k, Q=None):
    from sklearn.neighbors import NearestNeighbors
    nn = NearestNeighbors(n_neighbors=k + (Q is None)).fit(X)
    d, i = nn.kneighbors(X if Q is None else Q)
    return (d[:, 1:], i[:, 1:]) if Q is None else (d, i)


def memo_ratio(Zc, Zt):
    dc, _ = _nn_idx(Zt, 1, Zc)
    dt, _ = _nn_idx(Zt, 1)
    return float(np.median(dc[:, 0]) / np.median(dt[:, 0]))


def neigh_kept(A, B, k=5):
    if len(A) <= 3000:
        return ie.neighbour_preservation(A, B, k)
    _, i0 = _nn_idx(A, k)
    _, i1 = _nn_idx(B, k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(i0, i1)]))


def mixing(A, B, rng, cap=2000):
    if len(A) > cap:
        A = A[rng.choice(len(A), cap, replace=False)]
    if len(B) > cap:
        B = B[rng.choice(len(B), cap, replace=False)]
    return ie.loo_batch_mixing(A, B, 5, n_perm=200)


def score(Xs, Xt, Xc, ls, lt, pca, names):
    Zs, Zt, Zc = pca.encode(Xs), pca.encode(Xt), pca.encode(Xc)
    rep = {"per_label": {}}
    for c in np.unique(ls):
        if c < 0 or not (lt == c).any():
            continue
        r = {}
        for sp, (S, T, Cc) in {"latent": (Zs, Zt, Zc), "gene": (Xs, Xt, Xc)}.items():
            s, t, cc = S[ls == c], T[lt == c], Cc[ls == c]
            hv = halvings(np.random.default_rng(100 + int(c)), len(t), len(s), CAP)
            F = np.mean([ie.sinkhorn_divergence(t[a], t[b]) for a, b, _ in hv])
            Dh = np.mean([ie.sinkhorn_divergence(s[q], t[b]) for _, b, q in hv])
            Gh = np.mean([ie.sinkhorn_divergence(cc[q], t[b]) for _, b, q in hv])
            r[sp] = {"F": F, "D_half": Dh, "G_half": Gh, "G_over_F": Gh / F,
                     "gap_closed": (Dh - Gh) / (Dh - F) if Dh > 1.1 * F else None}
        r["memo"] = memo_ratio(Zc[ls == c], Zt[lt == c])
        r["memo_before"] = memo_ratio(Zs[ls == c], Zt[lt == c])
        rep["per_label"][names[int(c)]] = r
    rng = np.random.default_rng(0)
    rep["mixing_latent"] = mixing(Zc, Zt, rng)
    rep["mixing_gene"] = mixing(Xc, Xt, np.random.default_rng(0))
    rep["neigh_kept_gene"] = neigh_kept(Xs, Xc)
    rep["neigh_kept_latent"] = neigh_kept(Zs, Zc)
    return rep


def truth(path_orig, data, src, tgt, Xs, Xt, Xc, Xb, pca, tag, outdir):
    """Write the gpa output layout and run truth_eval.py on it."""
    p = os.path.join(outdir, f"tmp_{tag}.h5")
    with h5py.File(p, "w") as f:
        f["X"] = np.vstack([Xc, Xt]).astype(np.float32)
        f["baseline/X"] = np.vstack([Xb, Xt]).astype(np.float32)
        ids = data_ids(path_orig)
        f["obs/sample_ids"] = np.concatenate([ids[src], ids[tgt]])
        f["obs/origin"] = np.r_[np.zeros(len(src), np.int32), np.ones(len(tgt), np.int32)]
        f["pca/components"] = pca.V.T
        f["pca/mean"] = pca.mu
        f["pca/singular_values"] = np.ones(pca.k)
    r = subprocess.run(["/usr/bin/python3", "/work/shared/bench/truth_eval.py", path_orig, p],
                       capture_output=True, text=True)
    os.remove(p)
    if r.returncode:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def data_ids(path):
    with h5py.File(path, "r") as h:
        return h["obs/sample_ids"][()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("methods", nargs="+")
    ap.add_argument("--out", default="/tmp/study/results")
    ap.add_argument("--write", action="store_true", help="also write OUT/DATASET.METHOD.h5 (evaluator layout)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    meta = DATASETS[a.dataset]
    data = ie.Dataset(meta["path"])
    src, tgt, lab, names = ie.select(data, meta["batch"], meta["src"], meta["tgt"], meta["label"])
    Xs, Xt, ls, lt = data.X[src], data.X[tgt], lab[src], lab[tgt]
    pca = ie.PCA(np.vstack([Xs, Xt]), ie.K_PCA)
    Xb = paper_baseline(Xs, Xt, ls, lt)
    base_nk = {"gene": neigh_kept(Xs, Xb), "latent": neigh_kept(pca.encode(Xs), pca.encode(Xb))}
    synthetic = "syn" in a.dataset
    for m in a.methods:
        info = {}
        t0 = time.time()
        torch.manual_seed(0)
        Xc = METHODS[m](a.dataset, Xs, Xt, ls, lt, meta, info)
        sec = time.time() - t0
        if a.write:
            ie.write_corrected(os.path.join(a.out, f"{a.dataset}.{m}.h5"), Xc, data, src, m)
        rep = score(Xs, Xt, Xc, ls, lt, pca, names)
        rep.update(method=m, dataset=a.dataset, seconds=sec, info=info, baseline_neigh_kept=base_nk)
        if synthetic:
            rep["truth"] = truth(meta["path"], data, src, tgt, Xs, Xt, Xc, Xb, pca, m, a.out)
        rep["bar"] = bar(rep, synthetic)
        with open(os.path.join(a.out, f"{a.dataset}.{m}.json"), "w") as f:
            json.dump(rep, f, indent=1, default=float)
        print(summary(rep), flush=True)


def bar(rep, synthetic):
    b = {}
    pl = rep["per_label"].values()
    b["1_memo"] = all(r["memo"] >= 0.9 for r in pl)
    b["2_floor"] = all(r[s]["G_half"] >= 0.9 * r[s]["F"] for r in pl for s in ("latent", "gene"))
    ml, mg = rep["mixing_latent"], rep["mixing_gene"]
    b["3_mixing"] = all(m["null_q05"] <= m["balanced_acc"] <= m["null_q95"] for m in (ml, mg))
    b["4_neigh"] = rep["neigh_kept_gene"] >= 0.9 * rep["baseline_neigh_kept"]["gene"]
    b["5_gap"] = all(r[s]["gap_closed"] is None or r[s]["gap_closed"] >= 0.7
                     for r in pl for s in ("latent", "gene"))
    if synthetic and "truth" in rep:
        t = rep["truth"]
        b["6_truth"] = (t["gpa"][2] <= t["baseline"][2] - 0.5 * (t["baseline"][2] - t["oracle"])
                        and t["gpa"][0] < t["baseline"][0])
    return b


def summary(rep):
    L = [f"== {rep['dataset']} {rep['method']} ({rep['seconds']:.1f}s) bar: "
         + " ".join(f"{k}={'ok' if v else 'FAIL'}" for k, v in rep["bar"].items())]
    for n, r in rep["per_label"].items():
        L.append(f"  {n:10s} memo {r['memo']:.2f} (before {r['memo_before']:.2f}) | "
                 + " | ".join(f"{s}: F {r[s]['F']:.4g} Dh/F {r[s]['D_half'] / r[s]['F']:.2f} "
                              f"Gh/F {r[s]['G_over_F']:.2f} gap "
                              + (f"{r[s]['gap_closed']:.2f}" if r[s]['gap_closed'] is not None else "-")
                              for s in ("latent", "gene")))
    ml, mg = rep["mixing_latent"], rep["mixing_gene"]
    L.append(f"  mixing lat {ml['balanced_acc']:.3f} [{ml['null_q05']:.3f},{ml['null_q95']:.3f}] "
             f"gene {mg['balanced_acc']:.3f} [{mg['null_q05']:.3f},{mg['null_q95']:.3f}]  "
             f"neigh kept gene {rep['neigh_kept_gene']:.3f} lat {rep['neigh_kept_latent']:.3f} "
             f"(baseline {rep['baseline_neigh_kept']['gene']:.3f}/{rep['baseline_neigh_kept']['latent']:.3f})")
    if "truth" in rep:
        t = rep["truth"]
        L.append(f"  truth: TNE {t['gpa'][2]:.3f} (base {t['baseline'][2]:.3f}, before {t['before'][2]:.3f},"
                 f" oracle {t['oracle']:.3f}, bar {t['baseline'][2] - 0.5 * (t['baseline'][2] - t['oracle']):.3f})"
                 f" latdist {t['gpa'][0]:.3f} (base {t['baseline'][0]:.3f}, before {t['before'][0]:.3f})")
    inf = rep["info"]
    for k, v in inf.items():
        if isinstance(v, dict):
            L.append(f"  {k}: steps {v.get('steps')} {v.get('stopped', '')} F_flow {v.get('F_flow', float('nan')):.4g}"
                     f" G0 {v.get('G_half0', float('nan')):.4g} smooth k {v.get('smooth_k')} {v.get('seconds', 0):.1f}s")
        elif k not in ("k", "scale"):
            L.append(f"  {k}: {v:.3g}")
    return "\n".join(L)


if __name__ == "__main__":
    main()

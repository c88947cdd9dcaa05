#!/usr/bin/python3
"""Which readout of the field model's fixed point validates best?

Model: --model, a field checkpoint with alpha 1 (BENCHMARKS.md used the
epoch-1 model of the 55,000-image run there: C = 16, pool 7, gain 0.9,
modReLU), run with the PyTorch anchor bench/field_torch.py (imported from
this file's folder). Fit set: the first --fit training images
(20000); validation: training images 55000-59999. The test set is never read.

Stage 1 (cached in --cache as float32 .npy, one file per set and source):
  trained : |z*| of the checkpoint's model, naive iteration (alpha 1) to
            relative residual 1e-4 (at most 500 evaluations), batch 32
  inject  : |u| (the encoder's output, no fixed point)
  random  : |z*| with the kernel replaced by N(0,1) of the trained kernel's
            Frobenius norm (encoder, biases, gain, exact torus norm kept)
Stage 2: each readout = a pooling of those maps -> features, standardised on
  the fit set, ridge regression on one-hot targets with an intercept,
  lambda = lam_rel * n_fit (lam_rel from a grid; since features are
  standardised, n_fit is the mean diagonal of X^T X, as the C library's
  --ridge convention), lambda chosen by validation accuracy.

Run (one thread, niced):
    nice -n 10 /usr/bin/python3 bench/field_readouts.py --model M.safetensors [--fit 20000] [--extra 20000]
        [--cache DIR (default /tmp/field_readouts_cache, about 5.5 GB with --extra 20000; delete it after)]
Prints a markdown table and writes results.json into the cache folder.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import field_torch as ft  # noqa: E402

VAL0, VAL1 = 55000, 60000
LAMS = [1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]


# ------------------------------------------------------------------ stage 1

def mag_maps(model, x, solve, batch=32, seed_log=""):
    """(N, C, H, W) float32 maps of |z*| (solve) or |u| (not solve), and stats"""
    N, C, H, W = x.shape[0], model.C, model.H, model.W
    out = np.empty((N, C, H, W), np.float32)
    cfg = ft.SolverCfg("naive", 1.0, 1e-4, 500)
    iters, res = [], []
    with torch.no_grad():
        w = model.weights()[0]
        t0 = time.perf_counter()
        for i in range(0, N, batch):
            xb = x[i:i + batch]
            if solve:
                z, info = ft.forward_solve(model, xb, cfg, w=w)
                iters.append(info["iters"])
                res.append(info["res"])
            else:
                z = model.encode(xb)
            v = z.view(-1, H, W, 2, C)
            m = torch.sqrt(v[..., 0, :] ** 2 + v[..., 1, :] ** 2)  # (B, H, W, C)
            out[i:i + batch] = m.permute(0, 3, 1, 2).numpy()
            if solve and (i // batch) % 100 == 0:
                print(f"  {seed_log} {i + xb.shape[0]}/{N} {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
        secs = time.perf_counter() - t0
    st = {"seconds": round(secs, 1), "images": N}
    if solve:
        it, rs = torch.cat(iters).double(), torch.cat(res)
        st.update(mean_evals=round(float(it.mean()), 2), max_evals=int(it.max()),
                  max_residual=float(rs.max()), unconverged=int((rs >= 1e-4).sum()))
    return out, st


def get_maps(cache, src, model, x, a, b, solve, stats):
    """maps of images a..b-1 of x (the training set), cached as src_a_b"""
    name = f"{src}_{a}_{b}"
    x = x[a:b]
    p = os.path.join(cache, name + ".npy")
    sp = os.path.join(cache, name + ".json")
    if os.path.exists(p) and os.path.exists(sp):
        stats[name] = json.load(open(sp))
        return np.load(p, mmap_mode="r")
    arr, st = mag_maps(model, x, solve, seed_log=name)
    np.save(p, arr)
    json.dump(st, open(sp, "w"))
    stats[name] = st
    print(f"[stage1] {name}: {st}", file=sys.stderr, flush=True)
    return arr


# ------------------------------------------------------------------ stage 2: poolings

def circ(t, p):
    return F.pad(t, (p, p, p, p), mode="circular") if p else t


def pool(t, kind, grid=None, k=None, s=None, pad=0):
    """t (B, C, H, W) -> (B, F). kind avg|max. grid: adaptive PxP cells
    (exact 28/P-pixel cells when P divides 28); else windows k, stride s on
    the circularly padded torus"""
    if grid is not None:
        f = F.adaptive_avg_pool2d if kind == "avg" else F.adaptive_max_pool2d
        return f(t, grid).flatten(1)
    f = F.avg_pool2d if kind == "avg" else F.max_pool2d
    return f(circ(t, pad), k, s).flatten(1)


def transform(t, tr):
    if tr == "abs":
        return t
    if tr == "sq":
        return t * t
    if tr == "sqrt":
        return torch.sqrt(t)
    if tr == "log":
        return torch.log1p(t / 0.05)
    raise ValueError(tr)


def features(maps, spec, chunk=1000, pre=None):
    """spec: list of (transform, kind, pool kwargs); concatenated"""
    outs = []
    for i in range(0, maps.shape[0], chunk):
        t = torch.from_numpy(np.ascontiguousarray(maps[i:i + chunk]))
        if pre is not None:
            t = pre(t)
        parts = [pool(transform(t, tr), kind, **kw) for tr, kind, kw in spec]
        outs.append(torch.cat(parts, 1).double().numpy())
    return np.concatenate(outs)


# ------------------------------------------------------------------ stage 3: ridge

def ridge_eval(Xf, yf, Xv, yv, lams=LAMS):
    mu = Xf.mean(0)
    sd = Xf.std(0)
    sd[sd < 1e-8 * max(1e-30, sd.max())] = np.inf  # constant features contribute nothing
    Xf = (Xf - mu) / sd
    Xv = (Xv - mu) / sd
    n = Xf.shape[0]
    Y = np.eye(10)[yf]
    ym = Y.mean(0)
    G = Xf.T @ Xf
    s, V = np.linalg.eigh(G)
    B = V.T @ (Xf.T @ (Y - ym))
    XvV = Xv @ V
    XfV = Xf @ V
    res = []
    for lr in lams:
        lam = lr * n
        Wc = B / (s + lam)[:, None]
        acc_v = float(((XvV @ Wc).argmax(1) == yv).mean())
        acc_f = float(((XfV @ Wc).argmax(1) == yf).mean())
        res.append((lr, acc_v, acc_f))
    best = max(res, key=lambda r: (r[1], r[0]))  # ties: the larger lambda
    return best, res


# ------------------------------------------------------------------ candidates

def G(P):
    return {"grid": P}


def W(k, s, pad):
    return {"k": k, "s": s, "pad": pad}


# name -> (spec, note)
CANDIDATES = {
    "avg|z| 7x7 (current)": [("abs", "avg", G(7))],
    "max|z| 7x7": [("abs", "max", G(7))],
    "avg|z|^2 7x7": [("sq", "avg", G(7))],
    "avg sqrt|z| 7x7": [("sqrt", "avg", G(7))],
    "avg log(1+|z|/.05) 7x7": [("log", "avg", G(7))],
    "avg+max|z| 4x4 (7px cells)": [("abs", "avg", G(4)), ("abs", "max", G(4))],
    "avg+max|z| 5x5 (adaptive 5-6px cells)": [("abs", "avg", G(5)), ("abs", "max", G(5))],
    "avg+max|z| 6x6 (adaptive 4-5px cells)": [("abs", "avg", G(6)), ("abs", "max", G(6))],
    "avg|z| 7x7, 8x8 windows stride 4 (circular)": [("abs", "avg", W(8, 4, 2))],
    "avg|z| 7x7, 12x12 windows stride 4 (circular)": [("abs", "avg", W(12, 4, 4))],
    "avg|z| 6x6, 8x8 windows stride 4 (no pad)": [("abs", "avg", W(8, 4, 0))],
    "avg|z| 9x9 (adaptive 3-4px cells)": [("abs", "avg", G(9))],
    "avg sqrt|z| 9x9": [("sqrt", "avg", G(9))],
    "avg|z| 9x9, 6x6 windows stride 3 (circ.)": [("abs", "avg", W(6, 3, 1))],
    "avg sqrt|z| 9x9, 6x6 windows stride 3 (circ.)": [("sqrt", "avg", W(6, 3, 1))],
    "avg|z| 8x8 (adaptive 3-4px cells)": [("abs", "avg", G(8))],
    "avg sqrt|z| 8x8": [("sqrt", "avg", G(8))],
    "PCA 16->7 ch of sqrt|z|, avg 14x14": {"pca": 7, "tr": "sqrt", "grid": 14},
    "PCA 16->7 ch of |z|, avg 14x14": {"pca": 7, "tr": "abs", "grid": 14},
    "PCA 16->8 ch of sqrt|z|, avg 13x13": {"pca": 8, "tr": "sqrt", "grid": 13},
    "PCA 16->10 ch of sqrt|z|, avg 12x12": {"pca": 10, "tr": "sqrt", "grid": 12},
    "PCA 16->12 ch of sqrt|z|, avg 11x11": {"pca": 12, "tr": "sqrt", "grid": 11},
    "avg|z| + avg|z|^2 6x6": [("abs", "avg", G(6)), ("sq", "avg", G(6))],
    "avg sqrt|z| + max|z| 6x6": [("sqrt", "avg", G(6)), ("abs", "max", G(6))],
    # over budget, for reference only
    "[over] avg+max|z| 7x7": [("abs", "avg", G(7)), ("abs", "max", G(7))],
    "[over] avg|z| 14x14": [("abs", "avg", G(14))],
    "[over] avg sqrt|z| 14x14": [("sqrt", "avg", G(14))],
}
# what is also run on the injection and on the random kernel
SECONDARY = ["avg|z| 7x7 (current)", "avg sqrt|z| 7x7", "avg+max|z| 6x6 (adaptive 4-5px cells)",
             "avg|z| 9x9 (adaptive 3-4px cells)", "avg sqrt|z| 9x9", "PCA 16->7 ch of sqrt|z|, avg 14x14",
             "[over] avg|z| 14x14"]
# refitted on --fit + --extra images (learning curve)
CURVE = ["avg|z| 7x7 (current)", "avg sqrt|z| 9x9", "avg sqrt|z| 9x9, 6x6 windows stride 3 (circ.)",
         "PCA 16->7 ch of sqrt|z|, avg 14x14", "[over] avg|z| 14x14"]
BUDGET = 20000 - 4944  # kernel 4608 + encoder 288 + enc bias 32 + act bias 16 (C = 16)


def pca_proj(fit_maps, tr, k, n_img=2000):
    """(k, C) top principal directions of the per-pixel channel vectors of
    transform(maps) over the first n_img fit images (unsupervised)"""
    t = transform(torch.from_numpy(np.array(fit_maps[:n_img])).double(), tr)
    v = t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])
    v = v - v.mean(0)
    evals, evecs = torch.linalg.eigh(v.T @ v)
    return evecs[:, -k:].T.float().contiguous()


def cand_features(name, fit_maps, *sets):
    """features of each map set for candidate name, and the readout's weight count"""
    c = CANDIDATES[name]
    if isinstance(c, dict):
        Pm = pca_proj(fit_maps, c["tr"], c["pca"])
        pre = lambda t: torch.einsum("bchw,kc->bkhw", transform(t, c["tr"]), Pm)
        spec = [("abs", "avg", G(c["grid"]))]
        X = [features(m, spec, pre=pre) for m in sets]
        return X, 10 * X[0].shape[1] + 10 + Pm.numel()
    X = [features(m, c) for m in sets]
    return X, 10 * X[0].shape[1] + 10


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="a field checkpoint (alpha 1)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--fit", type=int, default=20000)
    ap.add_argument("--cache", default="/tmp/field_readouts_cache")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random kernel")
    ap.add_argument("--no-random", action="store_true")
    ap.add_argument("--extra", type=int, default=0,
                    help="also solve training images fit..fit+extra-1 and refit the CURVE readouts on all of them")
    ap.add_argument("--only", default="", help="comma-separated substrings of candidate names")
    args = ap.parse_args()
    DATA, CKPT = args.data, args.model
    torch.set_num_threads(1)
    os.makedirs(args.cache, exist_ok=True)
    T0 = time.perf_counter()

    xall, yall = ft.load(DATA, "train", 0)
    yall = yall.numpy()
    yf, yv = yall[:args.fit], yall[VAL0:VAL1]
    model, alpha = ft.load_checkpoint(CKPT)
    assert alpha == 1.0
    stats = {}
    maps = {}
    maps["trained"] = (get_maps(args.cache, "trained", model, xall, 0, args.fit, True, stats),
                       get_maps(args.cache, "trained", model, xall, VAL0, VAL1, True, stats))
    # the checkpoint's own readout (ridge fitted by the C library on 55000 images), on validation
    with torch.no_grad():
        mv = torch.from_numpy(np.array(maps["trained"][1]))
        feat = F.adaptive_avg_pool2d(mv, 7).permute(0, 2, 3, 1).reshape(mv.shape[0], -1)  # (gy, gx, c)
        own = float(((feat @ model.readout.t() + model.readout_bias).argmax(1).numpy() == yv).mean())
        del mv, feat
    print(f"[check] checkpoint's own readout on validation: {own:.4f}", file=sys.stderr, flush=True)
    maps["inject"] = (get_maps(args.cache, "inject", model, xall, 0, args.fit, False, stats),
                      get_maps(args.cache, "inject", model, xall, VAL0, VAL1, False, stats))
    if not args.no_random:
        rmodel, _ = ft.load_checkpoint(CKPT)
        g = torch.Generator().manual_seed(args.seed)
        with torch.no_grad():
            r = torch.randn(rmodel.kernel.shape, generator=g)
            rmodel.kernel.copy_(r * (model.kernel.norm() / r.norm()))
            stats["random_sigma_over_trained_sigma"] = float(rmodel.sigma() / model.sigma())
        maps["random"] = (get_maps(args.cache, f"random{args.seed}", rmodel, xall, 0, args.fit, True, stats),
                          get_maps(args.cache, f"random{args.seed}", rmodel, xall, VAL0, VAL1, True, stats))
    extra = None
    if args.extra:
        extra = get_maps(args.cache, "trained", model, xall, args.fit, args.fit + args.extra, True, stats)
    t_solve = time.perf_counter() - T0

    rows = []
    only = [s for s in args.only.split(",") if s]

    def record(src, name, Xf, Xv, yfit, weights, note=""):
        t0 = time.perf_counter()
        (lr, acc, accf), allres = ridge_eval(Xf, yfit, Xv, yv)
        label = name.replace("|z|", "|u|") if src == "inject" else name
        row = {"source": src, "readout": label, "features": Xf.shape[1], "readout_weights": weights,
               "within_budget": weights <= BUDGET, "fit_images": Xf.shape[0], "lam_rel": lr,
               "val_acc": acc, "fit_acc": accf, "grid": [(a, round(b, 4)) for a, b, _ in allres],
               "seconds": round(time.perf_counter() - t0, 1)}
        rows.append(row)
        print(f"| {src} | {label} | {Xf.shape[1]} | {weights} | {Xf.shape[0]} | {lr:g} | {100 * acc:.2f} | {100 * accf:.2f} |",
              flush=True)

    print("| source | readout | features | readout weights | fit images | lam_rel | val % | fit % |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for src in maps:
        names = list(CANDIDATES) if src == "trained" else SECONDARY
        for name in names:
            if only and not any(s in name for s in only):
                continue
            (Xf, Xv), wts = cand_features(name, maps[src][0], maps[src][0], maps[src][1])
            record(src, name, Xf, Xv, yf, wts)
            if src == "trained" and extra is not None and name in CURVE:
                (Xe,), _ = cand_features(name, maps[src][0], extra)
                record("trained", name, np.concatenate([Xf, Xe]), Xv,
                       yall[:args.fit + args.extra], wts)
    out = {"fit": args.fit, "extra": args.extra, "val": [VAL0, VAL1], "checkpoint": CKPT, "own_readout_val_acc": own,
           "solve_stats": stats, "stage1_seconds": round(t_solve, 1),
           "total_seconds": round(time.perf_counter() - T0, 1), "rows": rows}
    with open(os.path.join(args.cache, "results.json" if not only else "results_partial.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}), flush=True)


if __name__ == "__main__":
    main()

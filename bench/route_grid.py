#!/usr/bin/python3
"""bench/route_grid.py - how `eval --route R1:KEEP:EXACT` was chosen (docs/sparse.md).

A numpy replica of the one-block pixel-space tower's forward pass (soft top-s,
phases, codebook readout) loaded from a checkpoint, scoring routed selection
for a grid of R1 (coordinates for every neuron), KEEP, R (the basis rank) and
EXACT (neurons scored on pixels). Multiply-adds are counted as the C code
counts them, both skipping the raw image's zero pixels (what eval --route
does) and touching every pixel. With --basis weights the routing basis is the
top eigenvectors of P^T P (the weights alone) instead of the data's; with
--basis separable it is the 2-D principal components of rows and columns.

Usage: /usr/bin/python3 bench/route_grid.py --model pixels.safetensors [--data DIR] [--basis data|weights|separable]
  (train the model with: phasetower train --seed 1 --layers 2048:0.015625 --subspace 0)
Prints one line per setting, best first, for settings under --budget (5%) of
the dense count when zero pixels are skipped.
"""
import argparse, gzip, json, struct
import numpy as np


def load(fn):
    b = open(fn, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    T = {}
    for k, v in h.items():
        if k != "__metadata__":
            s, e = v["data_offsets"]
            T[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=np.float32).reshape(v["shape"])
    return h["__metadata__"], T


def idx(fn):
    b = gzip.open(fn).read()
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def pre(X):
    X = X - X.mean(1, keepdims=True)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--basis", default="data", choices=["data", "weights", "separable"])
    ap.add_argument("--budget", type=float, default=5.0)
    a = ap.parse_args()
    meta, T = load(a.model)
    if "subspace" in meta or "," in meta["layers"]:
        raise SystemExit("route_grid.py: needs a one-block pixel-space tower (--subspace 0)")
    P = T["block0.p"].astype(np.float64)
    phi = T["block0.phi"].astype(np.float64)
    C = T["codebook"][..., 0] + 1j * T["codebook"][..., 1]
    K, n_in = P.shape
    s = max(1, int(round(K * float(meta["layers"].split(":")[1]))))
    D = a.data.rstrip("/") + "/"
    X = idx(D + "t10k-images-idx3-ubyte.gz").reshape(-1, n_in).astype(np.float64) / 255.0
    Y = idx(D + "t10k-labels-idx1-ubyte.gz")
    Xtr = idx(D + "train-images-idx3-ubyte.gz").reshape(-1, n_in)[:20000].astype(np.float64) / 255.0
    Xt = pre(X)
    nnz = (X != 0).sum(1).mean()
    ncls = C.shape[0]

    def predict(S):
        top = np.argpartition(-S, s, axis=1)[:, :s + 1]
        v = np.take_along_axis(S, top, 1)
        o = np.argsort(-v, 1)
        top, v = np.take_along_axis(top, o, 1), np.take_along_axis(v, o, 1)
        m = v[:, :s] - v[:, s:s + 1]
        act = top[:, :s]
        u = m * np.exp(1j * phi[act]) / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-30)
        Ca = C.T[act]  # (n, s, ncls)
        lg = np.einsum("na,nac->nc", u.real, Ca.real) + np.einsum("na,nac->nc", u.imag, Ca.imag)
        return lg.argmax(1)

    Sd = Xt @ P.T
    base = (predict(Sd) == Y).mean()
    dense = K * n_in + 2 * K * ncls
    if a.basis == "separable":
        side = int(round(np.sqrt(n_in)))
        Xp = pre(Xtr).reshape(-1, side, side)
        la, A = np.linalg.eigh(np.einsum("nij,nkj->ik", Xp, Xp))
        mu, B = np.linalg.eigh(np.einsum("nji,njk->ik", Xp, Xp))
        A, B, la, mu = A[:, ::-1].T[:14], B[:, ::-1].T[:14], la[::-1][:14], mu[::-1][:14]
        order = np.argsort(-np.outer(la, mu).ravel())
        coef = lambda Z: np.einsum("ai,nij,bj->nab", A, Z.reshape(-1, side, side), B).reshape(len(Z), -1)[:, order]
        Yall, Pall = coef(Xt), coef(P)
    else:
        G = pre(Xtr).T @ pre(Xtr) if a.basis == "data" else P.T @ P
        U = np.linalg.eigh(G)[1][:, ::-1].T[:64]
        Yall, Pall = Xt @ U.T, P @ U.T
    pd = predict(Sd)
    print(f"dense (exact selection): {100*base:.2f}%; {dense:,} multiply-adds; mean non-zero pixels {nnz:.1f}; basis {a.basis}")
    res = []
    for r1 in (8, 10, 12, 16):
        A1 = Yall[:, :r1] @ Pall[:, :r1].T
        for keep in (150, 200, 300, 400):
            c1 = np.argpartition(-A1, keep, axis=1)[:, :keep]
            for R in (32, 48, 64):
                A2 = np.einsum("nr,nmr->nm", Yall[:, :R], Pall[c1][:, :, :R])
                for ex in (33, 40, 48):
                    c2 = np.take_along_axis(c1, np.argpartition(-A2, ex, axis=1)[:, :ex], 1)
                    S = np.full_like(Sd, -np.inf)
                    np.put_along_axis(S, c2, np.take_along_axis(Sd, c2, 1), 1)
                    p = predict(S)
                    common = R + K * r1 + keep * (R - r1) + ex + 2 * s * ncls
                    zs = R * nnz + ex * nnz + common
                    full = R * n_in + ex * n_in + common
                    res.append(((p == Y).mean(), 100 * zs / dense, 100 * full / dense, (p == pd).mean(), r1, keep, R, ex))
    res.sort(reverse=True)
    print("R1:KEEP:EXACT R | accuracy | vs exact | same answer as exact | % of dense (zero pixels skipped) | % of dense (every pixel)")
    for acc, zs, full, same, r1, keep, R, ex in res:
        if zs <= a.budget:
            print(f"{r1}:{keep}:{ex} R={R} | {100*acc:.2f}% | {100*(acc-base):+.2f} | {100*same:.2f}% | {zs:.2f}% | {full:.2f}%")
    best = [r for r in res if r[2] <= a.budget and r[0] >= base - 0.01]
    print("every pixel counted, within a point and under the budget:",
          f"{best[0][4]}:{best[0][5]}:{best[0][7]} R={best[0][6]}" if best else "none")
    ok = [r for r in res if r[0] >= base - 0.01]
    if ok:
        r = min(ok, key=lambda r: r[2])
        print(f"every pixel counted, cheapest within a point: {r[4]}:{r[5]}:{r[7]} R={r[6]}, {100*r[0]:.2f}% at {r[2]:.2f}%")


if __name__ == "__main__":
    main()

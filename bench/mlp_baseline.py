#!/usr/bin/python3
"""MLP baseline for the PhaseTower benchmark (bench/bench_core.sh).

This is the model a user would pick instead of PhaseTower: a plain
784-512-512-10 ReLU MLP trained with backprop (Adam, lr 1e-3, batch 128,
cross-entropy), single-threaded so the comparison with the single-threaded
C library is fair.

Run it with Debian's interpreter, which has torch and numpy:

    /usr/bin/python3 bench/mlp_baseline.py --data /usr/share/datasets/fashion-mnist \
        --epochs-list 1,20 [--seed 1] [--train-limit N]

--data DIR must hold the four MNIST-format IDX files (gzip):
train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz. Nothing is downloaded.

Training runs once up to max(epochs-list); after each listed epoch count the
test set is evaluated (evaluation time is excluded from train_seconds) and
one JSON line is printed on stdout with:
  model, epochs, test_accuracy (0..1), train_seconds (cumulative, pure
  training), infer_us_per_image (test set in batches of 1000, total / 10000),
  infer_us_single (mean latency of 1000 single-image forwards), params,
  model_bytes (params * 4, float32), samples, seed, threads.

For the memory/robustness/OOD benchmark (bench/bench_memory.sh):
  --classes 0-4        train and test on these classes only
  --eval-dir NAME=DIR  also report accuracy on DIR's t10k split (for example the
                       images written by 'phasetower corrupt'), as eval_NAME
  --ood noise|heldout  maximum softmax probability (MSP) as the in-distribution
                       score; out-of-distribution: as many Gaussian-noise images
                       (N(0.5, 1) clipped to [0,1], numpy draws: the same
                       distribution as 'phasetower eval --ood noise', not the
                       same images) or the test images of the other classes;
                       reports ood_auroc and ood_fpr95, defined as in
                       src/core/metrics.c (ties count half; threshold keeping
                       95% of in-distribution scores).
  --turn-root ROOT --turn-sets a,b
                       the test-time de-rotation search with the maximum
                       softmax probability as the selector: ROOT/SET/plain and
                       ROOT/SET/<angle> hold the set and its copies turned by
                       each angle (written by 'phasetower corrupt --corrupt
                       turn:ANGLE'); for each margin of --turn-margins the
                       answer is the turn with the largest MSP if it beats the
                       unturned MSP by more than the margin. Reports
                       turn_<SET> = {margin: accuracy} and plain_<SET>, the
                       accuracy without the search.
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch")
    return arr.reshape(dims)


def load(data_dir, prefix):
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = x.reshape(x.shape[0], -1).astype(np.float32) / 255.0
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def parse_classes(spec):
    keep = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        keep.update(range(int(lo), int(hi or lo) + 1))
    return sorted(keep)


def auroc_fpr95(pos, neg):
    """AUROC (Mann-Whitney, ties count half) and FPR at 95% TPR."""
    s = np.concatenate([pos, neg])
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    _, start, counts = np.unique(s[order], return_index=True, return_counts=True)
    ranks[order] = np.repeat(start + (counts - 1) / 2.0 + 1.0, counts)
    n, m = len(pos), len(neg)
    auroc = (ranks[:n].sum() - n * (n + 1) / 2.0) / (n * m)
    t = np.sort(pos)[int(np.floor(0.05 * n))]
    return float(auroc), float((neg >= t).mean())


@torch.no_grad()
def msp(model, x):
    model.eval()
    out = torch.cat([torch.softmax(model(x[i:i + 1000]), 1) for i in range(0, x.shape[0], 1000)])
    model.train()
    return out.max(1).values.numpy()


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    ok = sum(int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum()) for i in range(0, x.shape[0], 1000))
    model.train()
    return ok / x.shape[0]


def knn_vote(q, keys, labels, k=5, chunk=1000):
    """PhaseTower's memory recall on real unit vectors: the k most similar keys
    (cosine) vote; the mode, ties to the label of the most similar key."""
    out = np.empty(q.shape[0], np.int64)
    for i in range(0, q.shape[0], chunk):
        s = q[i:i + chunk] @ keys.T
        top = torch.topk(s, k, dim=1)
        lab = labels[top.indices].numpy()
        for r in range(lab.shape[0]):
            vals, cnt = np.unique(lab[r], return_counts=True)
            best = set(vals[cnt == cnt.max()].tolist())
            out[i + r] = next(int(v) for v in lab[r] if int(v) in best)  # topk is sorted: most similar first
    return out


def guard(keys, ck, k, g, chunk=2000):
    """compose --guard g: the composites among the k most similar keys of a
    stored key (itself left out) of which g or more are composites are refused."""
    n = keys.shape[0]
    refuse = torch.zeros(ck.shape[0], dtype=torch.bool)
    for i in range(0, n, chunk):
        q = keys[i:i + chunk]
        s = torch.cat([q @ keys.T, q @ ck.T], 1)
        s[torch.arange(q.shape[0]), torch.arange(i, i + q.shape[0])] = -2.0
        top = torch.topk(s, k, dim=1).indices
        isc = top >= n
        hit = isc.sum(1) >= g
        refuse[top[hit][isc[hit]] - n] = True
    return refuse


@torch.no_grad()
def compose_eval(model, x_train, y_train, x_test, y_test, pairs, recipes=((1, 0),)):
    """The composition protocol of phasetower compose / eval --composite on the
    MLP's last hidden layer: a memory of every training image's features, the
    concept A+B added as normalize(f(a) + f(b)) for the i-th training exemplar
    of A and the ((i + r) mod n_B)-th of B, r < fanout (all of them; the
    features with their lengths, as the memory weighs parents by their stored
    lengths), less those a guard g > 0 refuses; recalled from the mean of the
    j-th test images of A and B; each concept added alone to the clean memory.
    One result list per (fanout, guard) recipe."""
    model.eval()
    feat = model[:-1]
    unit = lambda f: f / f.norm(dim=1, keepdim=True).clamp_min(1e-12)
    raw = torch.cat([feat(x_train[i:i + 1000]) for i in range(0, x_train.shape[0], 1000)])
    keys = unit(raw)
    q = unit(feat(x_test))
    base = knn_vote(q, keys, y_train)
    res = {"memory_clean": float((base == y_test.numpy()).mean()), "recipes": {}}
    for fan, g in recipes:
        out = res["recipes"][f"{fan}:{g}"] = []
        for spec in pairs:
            a, b = (int(v) for v in spec.split("+"))
            ia, ib = torch.where(y_train == a)[0], torch.where(y_train == b)[0]
            n = min(len(ia), len(ib))
            i = torch.arange(n * min(fan, len(ib)))
            ck = unit(raw[ia[i % n]] + raw[ib[(i % n + i // n) % len(ib)]])
            refused = 0
            if g > 0:
                r = guard(keys, ck, 5, g)
                refused, ck = int(r.sum()), ck[~r]
            k2 = torch.cat([keys, ck])
            l2 = torch.cat([y_train, torch.full((ck.shape[0],), 100, dtype=y_train.dtype)])
            ta, tb = torch.where(y_test == a)[0], torch.where(y_test == b)[0]
            m = min(len(ta), len(tb))
            comp = knn_vote(unit(feat((x_test[ta[:m]] + x_test[tb[:m]]) / 2)), k2, l2)
            clean = knn_vote(q, k2, l2)
            out.append({"concept": spec, "entries": int(ck.shape[0]), "refused": refused, "composite_samples": m,
                        "composite_accuracy": float((comp == 100).mean()),
                        "memory_clean_after": float((clean == y_test.numpy()).mean())})
    model.train()
    return res


def make_model():
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(),
        nn.Linear(512, 512), nn.ReLU(),
        nn.Linear(512, 10),
    )


@torch.no_grad()
def evaluate(model, x_test, y_test):
    model.eval()
    correct = 0
    t0 = time.perf_counter()
    for i in range(0, x_test.shape[0], 1000):
        out = model(x_test[i:i + 1000])
        correct += int((out.argmax(1) == y_test[i:i + 1000]).sum())
    batch_s = time.perf_counter() - t0
    n_single = min(1000, x_test.shape[0])
    t0 = time.perf_counter()
    for i in range(n_single):
        model(x_test[i:i + 1])
    single_s = time.perf_counter() - t0
    model.train()
    return (correct / x_test.shape[0],
            batch_s / x_test.shape[0] * 1e6,
            single_s / n_single * 1e6)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs-list", default="1,20",
                    help="comma-separated epoch counts to report at")
    ap.add_argument("--train-limit", type=int, default=0,
                    help="use only the first N training images (0 = all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--classes", default="")
    ap.add_argument("--eval-dir", action="append", default=[], metavar="NAME=DIR")
    ap.add_argument("--ood", choices=["noise", "heldout"])
    ap.add_argument("--turn-root", default="")
    ap.add_argument("--turn-sets", default="")
    ap.add_argument("--turn-margins", default="0,0.01,0.02,0.05,0.1,0.2,0.3,0.5,0.7,0.9,1")
    ap.add_argument("--compose", default="", metavar="A+B,...",
                    help="composition with a memory of the last hidden layer's features (see compose_eval)")
    ap.add_argument("--compose-recipes", default="1:0", metavar="R:G,...",
                    help="fanout:guard of each composition recipe (default 1:0, every exemplar pair once, no guard)")
    args = ap.parse_args()
    if args.ood == "heldout" and not args.classes:
        ap.error("--ood heldout needs --classes")

    checkpoints = sorted({int(e) for e in args.epochs_list.split(",") if e.strip()})
    if not checkpoints or checkpoints[0] < 1:
        ap.error("--epochs-list needs positive integers")

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    x_train, y_train = load(args.data, "train")
    x_test, y_test = load(args.data, "t10k")
    if args.train_limit > 0:
        x_train, y_train = x_train[:args.train_limit], y_train[:args.train_limit]
    x_out = None
    if args.classes:
        keep = torch.tensor(parse_classes(args.classes))
        tr = torch.isin(y_train, keep)
        te = torch.isin(y_test, keep)
        x_train, y_train = x_train[tr], y_train[tr]
        x_out = x_test[~te]
        x_test, y_test = x_test[te], y_test[te]
    if args.ood == "noise":
        rng = np.random.default_rng(args.seed)
        x_out = torch.from_numpy(np.clip(0.5 + rng.standard_normal(x_test.shape), 0, 1).astype(np.float32))
    extra = []
    for spec in args.eval_dir:
        name, _, d = spec.partition("=")
        ex, ey = load(d, "t10k")
        extra.append((name, ex, ey))
    turns = {}
    for name in [t for t in args.turn_sets.split(",") if t]:
        root = os.path.join(args.turn_root, name)
        sets = {}
        for sub in sorted(os.listdir(root)):
            sets[0.0 if sub == "plain" else float(sub)] = load(os.path.join(root, sub), "t10k")
        turns[name] = sets
    margins = [float(m) for m in args.turn_margins.split(",")]
    n = x_train.shape[0]

    model = make_model()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    train_s = 0.0
    for epoch in range(1, checkpoints[-1] + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, args.batch_size):
            idx = perm[i:i + args.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
        train_s += time.perf_counter() - t0
        if epoch in checkpoints:
            acc, us_batch, us_single = evaluate(model, x_test, y_test)
            rec = {}
            for name, ex, ey in extra:
                rec["eval_" + name] = accuracy(model, ex, ey)
            for name, sets in turns.items():
                y = sets[0.0][1]
                model.eval()
                with torch.no_grad():
                    probs = {a: torch.softmax(model(ex), 1) for a, (ex, _) in sets.items()}
                model.train()
                conf = {a: p.max(1) for a, p in probs.items()}
                angles = sorted(a for a in sets if a != 0.0)
                best_c = conf[0.0].values.clone()
                best_p = conf[0.0].indices.clone()
                for a in angles:  # the largest MSP over turns; the unturned image wins ties
                    better = conf[a].values > best_c
                    best_c = torch.where(better, conf[a].values, best_c)
                    best_p = torch.where(better, conf[a].indices, best_p)
                rec["plain_" + name] = float((conf[0.0].indices == y).float().mean())
                rec["turn_" + name] = {}
                for m in margins:
                    pred = torch.where(best_c > conf[0.0].values + m, best_p, conf[0.0].indices)
                    rec["turn_" + name][str(m)] = float((pred == y).float().mean())
            if args.compose:
                rec["compose"] = compose_eval(model, x_train, y_train, x_test, y_test,
                                              [c for c in args.compose.split(",") if c],
                                              [tuple(int(v) for v in r.split(":")) for r in args.compose_recipes.split(",")])
            if args.ood:
                rec["ood"] = args.ood
                rec["ood_auroc"], rec["ood_fpr95"] = auroc_fpr95(msp(model, x_test), msp(model, x_out))
            print(json.dumps({**rec,
                "model": "mlp-784-512-512-10",
                "epochs": epoch,
                "test_accuracy": acc,
                "train_seconds": round(train_s, 4),
                "infer_us_per_image": round(us_batch, 3),
                "infer_us_single": round(us_single, 3),
                "params": params,
                "model_bytes": params * 4,
                "samples": n,
                "seed": args.seed,
                "threads": torch.get_num_threads(),
            }), flush=True)
            print(f"[mlp] epoch {epoch}: acc {acc:.4f}, train {train_s:.1f}s",
                  file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

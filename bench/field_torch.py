#!/usr/bin/python3
"""PyTorch baseline ("anchor") of the PhaseTower `field` family: a complex
deep-equilibrium model on a torus, written independently of the C library
from the model's definition, as the number BENCHMARKS.md compares against and
as a cross-check of the C model's forward pass.

The model (exactly the C family's definition). An image x (H x W, pixels /255)
is encoded by a complex 3x3 torus convolution, u = E * x + b (C channels); the
state Z (H x W x C complex) solves Z = F(Z) = act(Wt * Z + u), with Wt * the
C -> C complex 3x3 convolution on the H x W torus (cross-correlation, periodic
padding) and Wt = gain K / sigma(K), sigma the exact operator norm of K* on
the torus: the largest singular value, over the H*W frequencies (ky, kx), of
the C x C matrix Khat = sum_{dy,dx} K[dy][dx] exp(2 pi i (ky (dy-1)/H +
kx (dx-1)/W)) (float64 svdvals of all of them; the gradient flows through
sigma; the 784 16x16 SVDs cost about 20-40 ms per training batch). act is
modReLU, max(0, |z| + beta_c) z/|z|, or cardioid, (1 + Re z/|z|)/2 z (both 0
at z = 0; 1/|z| is taken of max(|z|^2, 1e-24), exact for |z| >= 1e-12, so
that gradients stay finite where states underflow). Readout: the mean of |Z| over each of the
P x P cells (P = 1: global average), feature (gy*P + gx)*C + c, then a real
linear layer; mean softmax cross-entropy, Adam.

How the convolution is computed (measured on this machine, one thread, a batch
of 32 Fashion-MNIST states, C = 16): as ONE real convolution with 2C input and
output channels whose weight is the block matrix [[Kr, -Ki], [Ki, Kr]], on a
real state laid out (B, H, W, 2, C) (per pixel the C real parts, then the C
imaginary parts), passed to F.conv2d as a channels-last tensor after a
circular pad. Conv alone: 2.9 ms (channels-last) / 3.7 ms (NCHW) per batch,
against 9.2 ms for complex tensors with F.conv2d (PyTorch splits a complex
convolution into several real ones of C channels, each too small to use the
vector units well) and 9.0 ms for the FFT form (fft2, 784 batched C x C
products, ifft2). A whole evaluation of F (pad, conv, + u, modReLU) costs
about 6.5 ms per batch, 0.2 ms per image; a naive solver step 8 ms (with the
residual norms), an Anderson step (m = 5) about 16 ms: its two passes over
the (B, m, N) histories are memory-bound.

Run it with Debian's interpreter, which has torch and numpy (one thread):

    /usr/bin/python3 bench/field_torch.py --data /usr/share/datasets/fashion-mnist \\
        --train-limit 10000 --epochs 1 [options]

Data: --data DIR holds the four MNIST-format IDX files (gzip):
train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz. Nothing is downloaded.
  --train-limit N   the first N training images (0 = all 60000)
  --test-limit N    the first N test images (0 = all 10000)
  --val N           hold out the LAST N of the (limited) training images as a
                    validation split, evaluated after each epoch (0 = none)

Model:
  --channels C      complex channels (16)
  --pool P          readout cells per side, 1..min(H, W); 1 = global average;
                    row y is in cell floor(y P / H), column x in floor(x P / W) (1)
  --act modrelu|cardioid   activation (modrelu; act_bias starts at -0.1)
  --gain G          Wt = G K / sigma(K) (0.9; the seed configuration used 1)
  --alpha A         damping of the iteration, z <- (1-A) z + A F(z), in (0, 1]
                    (1.0); Anderson's damping too
Init (--seed S, torch.manual_seed): K and E real and imaginary parts
N(0, 1/(9 C_in)) (C_in = C for K, 1 for E), the readout N(0, 1/(F +
n_classes)) (complex Glorot, as the phasor family), biases 0 except act_bias
-0.1. The same distribution as the C library, not the same numbers.

Solver (the same conventions as src/solve/fixpoint.c, applied to each image
on its own: a batch only shares the work; evaluation runs in batches of
--batch too):
  --solver naive|anderson   (naive)
  --tol T           stop an image when ||F(z) - z|| / (||F(z)|| + 1e-30)
                    < T (1e-4)
  --max-iter N      at most N evaluations of F per image (30). The solver
                    returns the last iterate F was evaluated at, whose
                    residual it knows: the first z_t below tol, else z_{N-1}
                    (N evaluations, N - 1 updates from z_0 = u)
  --fixed-steps     no tolerance stop: exactly N evaluations for every image
                    (the seed configuration's 30 steps: z_29 is returned and
                    jfb's graph step F(z_29) = z_30 gives the training logits)
  --anderson-m M    Anderson memory: the last M residual differences (5)
  --anderson-lambda L   Tikhonov term L * mean(diag(G)) of each image's least
                    squares, G its Gram matrix of residual differences (1e-8)
  --anderson-double keep Anderson's differences in float64 as the C solver
                    does (default float32; the Gram matrix and its solve are
                    float64 either way)
Anderson is type II (Walker & Ni 2011) per image: with r = F(z) - z and
gamma = argmin ||r - dR gamma||^2 + reg ||gamma||^2 (batched Cholesky in
float64), z' = z + a r - sum_i gamma_i (dF_i - (1-a) dR_i); when an image's
normal equations cannot be factored its memory is dropped and the step is the
damped naive one. The first step is always naive.

Training:
  --grad jfb|implicit|unroll:N   (jfb)
        jfb       z* by the solver without a graph, the loss at F(z*) with
                  z* a constant (one step of backprop, Fung et al. 2022)
        implicit  the loss at z*; adjoint w = dL/dz* + J_F(z*)^T w by the
                  same solver (vector-Jacobian products by autograd), then
                  w is backpropagated through one application of F at z*
        unroll:N  backprop through exactly N damped steps from z_0 = u; the
                  loss at z_N (no solver in training; evaluation still uses it)
  --epochs E (1)  --lr (1e-3)  --batch (32)  --seed (1)
  --save CKPT     write the trained model in the C library's checkpoint format
  --init CKPT     start from a C checkpoint's parameters instead of drawing
                  them (write an untrained one with phasetower train --model
                  field ... --epochs 0 --out CKPT)
  --c-order       with --init: each epoch's shuffle is the C trainer's
                  (Fisher-Yates on its xoshiro256** generator, from the
                  checkpoint's 'rng' state), so that both sides see the same
                  images in the same batches

Cross-check of the C model (--check CKPT, --check-n 8): load a checkpoint
written by the C library (safetensors, parsed here with json + numpy:
tensors enc [3,3,C,2], enc_bias [C,2], kernel [3,3,C,C,2], act_bias [C]
(modrelu only), readout [n_classes, C*P*P], readout_bias [n_classes]; string
metadata channels, height, width, n_classes, act, gain, alpha, pool), run the
first check-n test images through the solver and print one JSON line:
{"check": path, "n", "sigma", "solver", "alpha", "tol" (null for fixed
steps), "evaluations", "logits": [[...]] (n x n_classes, at the returned
z), "residuals": [...] (per image, at the returned z), "iterations": [...]}.
Unless --solver or --max-iter is given this is naive iteration with the
checkpoint's alpha (--alpha overrides it) and exactly 200 evaluations
(z_199, as --fixed-steps). Nothing is trained. --save writes the same
format (metadata format=phasetower, version=1, model=field and the keys
above), so a model trained here can be read by the C library too.

Solver table (--solver-table, --table-max-iter N, default --max-iter): for the
model (the --check weights; else the trained one; --epochs 0: freshly
initialised) and the first --test-limit test images, naive (--alpha) and
Anderson are each run to residual 1e-5 (at most N evaluations) and one JSON
line reports, per solver and threshold 1e-3, 1e-4, 1e-5: mean_evals (over the
images that reached it), mean_evals_capped (the others counted as N) and
never_fraction, plus each solver's seconds, evaluations (of the rows still
iterating) and us_per_image_eval (seconds per evaluation and image, solver
overhead included). Anderson's numbers depend on --anderson-m, -lambda,
-double and --alpha.

--self-test: checks this file's numerics on small random models and exits
(torus convolution and encoder against explicit loops of the definition;
sigma against the SVD of the dense operator; a checkpoint write/read round
trip, bit for bit; Anderson and naive reaching the same fixed point; implicit
gradients against long unrolling).

Output: a progress line per epoch on stderr, then one JSON line on stdout:
  model ("field-torch"), test_accuracy (logits at the solver's result z*,
  same solver settings as training), val_accuracy (last epoch; null without
  --val), val_accuracy_epochs, train_seconds (pure training: no evaluation,
  no data loading), epoch_seconds (list), epoch_cpu_seconds (the process's
  CPU time per epoch: close to epoch_seconds on an idle machine, lower when
  other work shares the core), evals_per_image_train (mean F
  evaluations per training image and epoch: forward solver + the graph step
  + adjoint solver for implicit; N for unroll:N), train_unconverged_fraction
  (training images whose forward solve ended at or above tol),
  test_unconverged_fraction (test images whose final residual is not below
  tol), test_mean_iterations (mean F evaluations per test image),
  test_mean_residual, test_max_residual, test_seconds, test_cpu_seconds,
  us_per_image_eval (test_seconds / (images * mean evaluations): the cost of
  one F evaluation per image in a solve, solver overhead included), sigma
  (final), final_loss
  (mean training loss of the last epoch), params, threads (1), seed,
  train_samples, val_samples, test_samples, conv ("real-block-nhwc") and
  every setting (channels, pool, act, gain, alpha, solver, tol, max_iter,
  fixed_steps, anderson_m, anderson_lambda, anderson_double, grad, epochs,
  lr, batch). With --solver-table a second line follows (above).
"""

import argparse
import gzip
import json
import math
import os
import struct
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# |z|^2 is clamped here before 1/|z| is taken: exact for |z| >= 1e-12, and the
# backward of rsqrt (grad * inv^3) stays finite, where float32's smallest
# normal would overflow it to inf and turn underflowing states (cardioid on
# blank pixels decays towards 0) into NaN gradients
S_MIN = 1e-24
THRESHOLDS = (1e-3, 1e-4, 1e-5)


# ---------------------------------------------------------------- data

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


def load(data_dir, prefix, limit=0):
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    if limit > 0:
        x, y = x[:limit], y[:limit]
    if x.ndim != 3:
        raise ValueError(f"{data_dir}: {prefix} images are not a stack of 2-d images")
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


# ---------------------------------------------------------------- model

class Field(nn.Module):
    """Parameters are kept in the checkpoint's layout (complex = trailing 2),
    so saving and loading are plain copies and params counts the same floats
    as the C model. The state z of a batch is real (B, H, W, 2, C), flattened
    to (B, N) for the solver; the spec's layout (H, W, C, 2) is its
    transpose of the last two axes."""

    def __init__(self, channels=16, height=28, width=28, n_classes=10, act="modrelu", pool=1, gain=0.9):
        super().__init__()
        if act not in ("modrelu", "cardioid"):
            raise ValueError(f"act {act!r}: modrelu or cardioid")
        if pool < 1 or pool > min(height, width):
            raise ValueError(f"pool {pool} must be in 1..{min(height, width)}")
        C = channels
        self.C, self.H, self.W, self.n_classes = C, height, width, n_classes
        self.act, self.pool, self.gain = act, pool, float(gain)
        self.enc = nn.Parameter(torch.zeros(3, 3, C, 2))
        self.enc_bias = nn.Parameter(torch.zeros(C, 2))
        self.kernel = nn.Parameter(torch.zeros(3, 3, C, C, 2))
        self.act_bias = nn.Parameter(torch.full((C,), -0.1)) if act == "modrelu" else None
        self.readout = nn.Parameter(torch.zeros(n_classes, C * pool * pool))
        self.readout_bias = nn.Parameter(torch.zeros(n_classes))
        # the phases of Khat (float64): py[ky, dy] = exp(2 pi i ky (dy-1) / H)
        d = torch.arange(3, dtype=torch.float64) - 1
        self.register_buffer("py", torch.exp(2j * math.pi * torch.arange(height, dtype=torch.float64)[:, None] * d / height), False)
        self.register_buffer("px", torch.exp(2j * math.pi * torch.arange(width, dtype=torch.float64)[:, None] * d / width), False)

    @property
    def n_state(self):
        return self.H * self.W * 2 * self.C

    def init_(self):
        """the distribution of the definition; draws from torch's global RNG"""
        C, f = self.C, self.readout.shape[1]
        with torch.no_grad():
            self.kernel.normal_(0.0, math.sqrt(1.0 / (9 * C)))
            self.enc.normal_(0.0, math.sqrt(1.0 / 9))
            self.readout.normal_(0.0, math.sqrt(1.0 / (f + self.n_classes)))
            self.enc_bias.zero_()
            self.readout_bias.zero_()
            if self.act_bias is not None:
                self.act_bias.fill_(-0.1)
        return self

    def sigma(self):
        """exact operator norm of K* on the torus (float64, differentiable)"""
        K = torch.view_as_complex(self.kernel.double())  # (3, 3, C, C)
        khat = torch.einsum("ya,xb,abij->yxij", self.py, self.px, K)
        return torch.linalg.svdvals(khat.reshape(-1, self.C, self.C))[:, 0].max()

    def weights(self):
        """(block conv weight (2C, 2C, 3, 3) channels-last of Wt, sigma)"""
        sig = self.sigma()
        k = self.kernel * (self.gain / sig.float())
        kr, ki = k[..., 0].permute(2, 3, 0, 1), k[..., 1].permute(2, 3, 0, 1)  # (co, ci, dy, dx)
        w = torch.cat([torch.cat([kr, -ki], 1), torch.cat([ki, kr], 1)], 0)
        return w.contiguous(memory_format=torch.channels_last), sig

    def encode(self, x):
        """u (B, N) from images x (B, H, W)"""
        B, C = x.shape[0], self.C
        w = torch.cat([self.enc[..., 0], self.enc[..., 1]], 2).permute(2, 0, 1).unsqueeze(1)  # (2C, 1, 3, 3)
        xp = F.pad(x.unsqueeze(1), (1, 1, 1, 1), mode="circular")
        u = F.conv2d(xp, w).permute(0, 2, 3, 1).reshape(B, self.H, self.W, 2, C)
        u = u + self.enc_bias.t()  # (2, C) broadcast
        return u.reshape(B, -1)

    def torus_conv(self, z, w):
        """Wt * z for z (B, N) -> (B, H, W, 2, C)"""
        B, H, W, C = z.shape[0], self.H, self.W, self.C
        z = z.view(B, H, W, 2 * C)
        z = torch.cat([z[:, -1:], z, z[:, :1]], 1)  # circular pad, rows then columns
        z = torch.cat([z[:, :, -1:], z, z[:, :, :1]], 2)
        v = F.conv2d(z.permute(0, 3, 1, 2), w)  # channels-last in and out
        return v.permute(0, 2, 3, 1).reshape(B, H, W, 2, C)

    def activation(self, v):
        re, im = v[..., 0, :], v[..., 1, :]
        s = re * re + im * im
        inv = torch.rsqrt(s.clamp_min(S_MIN))  # 1/|z|; z = 0 gives a finite scale times 0
        if self.act == "modrelu":
            scale = F.relu(1.0 + self.act_bias * inv)  # max(0, |z| + b) / |z|
        else:
            scale = 0.5 + 0.5 * re * inv  # (1 + Re z / |z|) / 2
        return v * scale.unsqueeze(-2)

    def f(self, z, u, w):
        """F(z) = act(Wt * z + u), (B, N) -> (B, N)"""
        v = self.torus_conv(z, w) + u.view(z.shape[0], self.H, self.W, 2, self.C)
        return self.activation(v).reshape(z.shape[0], -1)

    def logits(self, z):
        B, P, C = z.shape[0], self.pool, self.C
        v = z.view(B, self.H, self.W, 2, C)
        s = v[..., 0, :] ** 2 + v[..., 1, :] ** 2
        mag = s * torch.rsqrt(s.clamp_min(S_MIN))  # |z|, exactly 0 at 0
        # cell floor(y P / H) P + floor(x P / W), each the mean of its pixels (as the C library)
        if not hasattr(self, "_pool_mat"):
            ys = torch.arange(self.H).repeat_interleave(self.W)
            xs = torch.arange(self.W).repeat(self.H)
            cell = (ys * P // self.H) * P + xs * P // self.W
            A = torch.zeros(P * P, self.H * self.W, dtype=mag.dtype)
            A[cell, torch.arange(self.H * self.W)] = 1.0
            self._pool_mat = A / A.sum(1, keepdim=True)
        feat = torch.einsum("qp,bpc->bqc", self._pool_mat, mag.reshape(B, self.H * self.W, C)).reshape(B, P * P * C)
        return feat @ self.readout.t() + self.readout_bias

    def param_count(self):
        return sum(p.numel() for p in self.parameters())


# ---------------------------------------------------------------- solver

class SolverCfg:
    def __init__(self, method="naive", alpha=1.0, tol=1e-4, max_iter=30, m=5, lam=1e-8, fixed=False, double=False):
        if method not in ("naive", "anderson"):
            raise ValueError(f"solver {method!r}: naive or anderson")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha {alpha} must be in (0, 1]")
        if max_iter < 1 or m < 1 or lam < 0 or not tol > 0:
            raise ValueError("max_iter and anderson_m must be >= 1, anderson_lambda >= 0, tol > 0")
        self.method, self.alpha, self.tol, self.max_iter = method, alpha, tol, max_iter
        self.m, self.lam, self.fixed, self.double = m, lam, fixed, double

    def replace(self, **kw):
        c = SolverCfg(self.method, self.alpha, self.tol, self.max_iter, self.m, self.lam, self.fixed, self.double)
        for k, v in kw.items():
            setattr(c, k, v)
        return c


def solve(fn, z0, cfg, thresholds=()):
    """Fixed point of fn for each row of z0 (B, N) on its own.

    fn(z, idx) returns F at z (len(idx), N) for the rows idx of the batch (a
    LongTensor, or None for all of them). Each row stops on its own and is
    returned at its last evaluated iterate, and leaves the working set at
    once (measured: copying Anderson's history to drop it costs less than
    evaluating stopped rows until half of them have stopped). Returns
    (z (B, N), info): res (B,) float64 residual at the returned z (nan when
    F turned non-finite), iters (B,) evaluations, converged (B,) bool, first
    (thr -> (B,) evaluations at which the residual first fell below thr, -1
    if never)."""
    B, N = z0.shape
    out = z0.clone()
    res_out = torch.full((B,), float("nan"), dtype=torch.float64)
    iters = torch.zeros(B, dtype=torch.int64)
    conv = torch.zeros(B, dtype=torch.bool)
    first = {t: torch.full((B,), -1, dtype=torch.int64) for t in thresholds}
    idx = torch.arange(B)  # batch row of each working row
    full = True  # the working set is the whole batch
    z = z0.clone()
    a, aa = cfg.alpha, cfg.method == "anderson"
    if aa:
        hd, m = (torch.float64 if cfg.double else torch.float32), cfg.m
        dR = torch.zeros(B, m, N, dtype=hd)  # slot i: r_s - r_{s-1} for some step s
        dG = torch.zeros(B, m, N, dtype=hd)  # F(z_s) - F(z_{s-1})
        valid = torch.zeros(B, m, dtype=torch.bool)
        gram = torch.zeros(B, m, m, dtype=torch.float64)  # dR_i . dR_j
        rprev = gprev = None
        head = 0

    def retire(rows):
        """the working rows `rows` (bool) stop at z; returns the rows kept, or
        None when none is left"""
        nonlocal idx, z, full, dR, dG, valid, gram, rprev, gprev
        out[idx[rows]] = z[rows]
        k = ~rows
        if not k.any():
            return None
        idx, z, full = idx[k], z[k], False
        if aa:
            dR, dG, valid, gram = dR[k], dG[k], valid[k], gram[k]
            if rprev is not None:
                rprev, gprev = rprev[k], gprev[k]
        return k

    for t in range(cfg.max_iter):
        g = fn(z, None if full else idx)
        r = g - z
        # float32 norms (relative error ~1e-7, far below any tol; the C solver
        # sums in double): a float64 reduction costs a fifth of an evaluation
        rn = torch.linalg.vector_norm(r, dim=1).double()
        gn = torch.linalg.vector_norm(g, dim=1).double()
        res = rn / (gn + 1e-30)  # non-finite when g or z is
        finite = torch.isfinite(res)
        below = finite & (res < cfg.tol)
        res_out[idx], iters[idx], conv[idx] = res, t + 1, below
        for thr, fh in first.items():
            hit = finite & (res < thr) & (fh[idx] < 0)
            fh[idx[hit]] = t + 1
        stop = ~finite | (t == cfg.max_iter - 1)
        if not cfg.fixed:
            stop |= below
        if stop.any():
            k = retire(stop)
            if k is None:
                break
            g, r = g[k], r[k]
        if not aa:
            # a = 1: exactly F(z); finite when z and F(z) are (res is)
            z = g if a == 1.0 else (1.0 - a) * z + a * g
            continue
        rh, gh = r.to(hd), g.to(hd)
        both = None
        if rprev is not None:
            torch.sub(rh, rprev, out=dR[:, head])
            torch.sub(gh, gprev, out=dG[:, head])
            valid[:, head] = True
            # the new Gram column and the right-hand side dR^T r in one pass
            # over the history (the step is memory-bound)
            both = torch.bmm(dR, torch.stack([dR[:, head], rh], 2)).double()
            col = both[..., 0] * valid
            gram[:, :, head] = col
            gram[:, head, :] = col
            head = (head + 1) % m
        rprev, gprev = rh, gh
        znew = z + a * r
        nh = valid.sum(1)
        has = nh > 0
        if has.any():
            # gamma = argmin ||r - dR gamma||^2 + lam mean(diag G) ||gamma||^2
            # over the filled slots (identity rows for the empty ones)
            vf = valid.double()
            tr = (torch.diagonal(gram, dim1=1, dim2=2) * vf).sum(1)
            reg = cfg.lam * tr / nh.clamp_min(1)
            A = gram * vf.unsqueeze(1) * vf.unsqueeze(2)
            A = A + torch.diag_embed(torch.where(valid, reg.unsqueeze(1).expand(-1, m), torch.ones_like(vf)))
            L, info = torch.linalg.cholesky_ex(A)
            gamma = torch.cholesky_solve((both[..., 1] * vf).unsqueeze(2), L).squeeze(2)
            bad = has & ((info != 0) | ~(tr > 0) | ~torch.isfinite(tr) | ~torch.isfinite(gamma).all(1))
            if bad.any():  # drop those rows' memory: a damped naive step
                valid[bad] = False
                gamma[bad] = 0.0
            gm = (gamma * valid).to(hd).unsqueeze(1)
            # z' = z + a r - sum_i gamma_i (dG_i - (1 - a) dR_i)
            step = torch.bmm(gm, dG)
            if a != 1.0:
                step -= (1.0 - a) * torch.bmm(gm, dR)
            znew = znew - step.squeeze(1).to(z.dtype)
        ok = torch.isfinite(znew.sum(1))  # (a sum overflows only for |z| ~ 1e34)
        if not ok.all():  # the iterate turned non-finite: the row stops at its last finite one
            conv[idx[~ok]] = False
            k = retire(~ok)
            if k is None:
                break
            znew = znew[k]
        z = znew
    return out, {"res": res_out, "iters": iters, "converged": conv, "first": first}


# ---------------------------------------------------------------- training and evaluation

def forward_solve(model, x, cfg, thresholds=(), w=None, u=None):
    """z*, info for images x without a graph (w, u: Wt's conv weight and the
    injection when already computed)"""
    with torch.no_grad():
        w = model.weights()[0] if w is None else w.detach()
        u = model.encode(x) if u is None else u.detach()
        return solve(lambda z, i: model.f(z, u if i is None else u[i], w), u, cfg, thresholds)


def train_batch(model, opt, x, y, cfg, grad):
    """one optimiser step; returns (loss, evals per image (B,), converged (B,))"""
    B = x.shape[0]
    opt.zero_grad(set_to_none=True)
    w, _ = model.weights()  # with a graph: sigma's gradient too
    u = model.encode(x)
    if grad[0] == "unroll":
        z, a = u, cfg.alpha
        for _ in range(grad[1]):
            fz = model.f(z, u, w)
            z = fz if a == 1.0 else (1.0 - a) * z + a * fz
        loss = F.cross_entropy(model.logits(z), y)
        loss.backward()
        opt.step()
        return float(loss), torch.full((B,), grad[1], dtype=torch.int64), torch.ones(B, dtype=torch.bool)
    zs, info = forward_solve(model, x, cfg, w=w, u=u)
    evals = info["iters"] + 1
    if grad[0] == "jfb":
        fz = model.f(zs, u, w)  # zs carries no graph: one step of backprop
        loss = F.cross_entropy(model.logits(fz), y)
        loss.backward()
    else:  # implicit
        zl = zs.clone().requires_grad_()
        loss = F.cross_entropy(model.logits(zl), y)
        loss.backward()  # readout gradients, and dL/dz* in zl.grad
        gz = zl.grad
        zi = zs.clone().requires_grad_()
        fz = model.f(zi, u, w)

        def adjoint(v, i):  # g + J^T v, rows i of the batch (J is block diagonal)
            if i is None:
                (jt,) = torch.autograd.grad(fz, zi, v, retain_graph=True)
                return gz + jt
            full = torch.zeros_like(gz)
            full[i] = v
            (jt,) = torch.autograd.grad(fz, zi, full, retain_graph=True)
            return gz[i] + jt[i]

        wst, ainfo = solve(adjoint, gz.clone(), cfg)
        params = [p for p in model.parameters() if p is not model.readout and p is not model.readout_bias]
        grads = torch.autograd.grad(fz, params, wst)
        for p, gp in zip(params, grads):
            p.grad = gp if p.grad is None else p.grad + gp
        evals = evals + ainfo["iters"]
    opt.step()
    return float(loss), evals, info["converged"]


def evaluate(model, x, y, cfg, batch):
    """accuracy at z* and the solver's statistics"""
    correct, res, iters, conv = 0, [], [], []
    with torch.no_grad():
        w = model.weights()[0]
    for i in range(0, x.shape[0], batch):
        z, info = forward_solve(model, x[i:i + batch], cfg, w=w)
        with torch.no_grad():
            correct += int((model.logits(z).argmax(1) == y[i:i + batch]).sum())
        res.append(info["res"])
        iters.append(info["iters"])
        conv.append(info["converged"])
    res, iters, conv = torch.cat(res), torch.cat(iters), torch.cat(conv)
    return {"accuracy": correct / max(1, x.shape[0]), "res": res, "iters": iters, "converged": conv}


# ---------------------------------------------------------------- checkpoints

def save_checkpoint(model, path, alpha):
    """the C library's envelope (docs/checkpoint-format.md): safetensors, F32,
    metadata strings; written to a temporary file and renamed"""
    tensors = [("enc", model.enc), ("enc_bias", model.enc_bias), ("kernel", model.kernel)]
    if model.act_bias is not None:
        tensors.append(("act_bias", model.act_bias))
    tensors += [("readout", model.readout), ("readout_bias", model.readout_bias)]
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        b = t.detach().contiguous().numpy().astype("<f4").tobytes()
        shape = list(t.shape)
        if name in ("enc", "kernel"):  # the C library flattens the 3x3 offsets: d = 3 dy + dx
            shape = [9] + shape[2:]
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {
        "format": "phasetower", "version": "1", "model": "field",
        "channels": str(model.C), "height": str(model.H), "width": str(model.W),
        "n_classes": str(model.n_classes), "act": model.act, "gain": "%.9g" % np.float32(model.gain),
        "alpha": "%.9g" % np.float32(alpha), "pool": str(model.pool),  # %.9g: an exact float round trip
        # the rest of what the C loader requires (docs/checkpoint-format.md), at its defaults
        "act_bias": "-0.1", "solver": "naive", "max_iter": "200", "tol": "0.0001", "fixed_steps": "0",
        "anderson_m": "5", "anderson_lambda": "0.0001", "mg_levels": "3", "grad": "jfb", "lr": "0.001",
        "batch": "32", "seed": "1", "epochs": "1",
        "free_bias": "1"}  # the PyTorch model never clamps modReLU's bias
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-(8 + len(h)) % 8)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=d)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # what a plain create gives, as the C library's files
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def checkpoint_meta(path):
    """the metadata of a safetensors file"""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})


class CRng:
    """the C library's generator (xoshiro256**, src/core/rng.c), from the
    four words of a checkpoint's 'rng' metadata"""
    M = (1 << 64) - 1

    def __init__(self, hexstate):
        if len(hexstate) != 64:
            raise ValueError(f"rng state '{hexstate}' is not 64 hex digits")
        self.s = [int(hexstate[16 * i:16 * i + 16], 16) for i in range(4)]

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & CRng.M

    def u64(self):
        s, M = self.s, CRng.M
        result = (self._rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def permutation(self, n):
        """the training loop's shuffle (src/field/train.c: Fisher-Yates from the top)"""
        perm = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.u64() % (i + 1)
            perm[i], perm[j] = perm[j], perm[i]
        return torch.tensor(perm, dtype=torch.int64)


def load_checkpoint(path):
    """(model, alpha) from a field checkpoint; ValueError naming the problem"""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors header")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} beyond the file")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    if meta.get("format", "phasetower") != "phasetower" or meta.get("model", "field") != "field":
        raise ValueError(f"{path}: not a field checkpoint (format {meta.get('format')}, model {meta.get('model')})")
    try:
        C, H, W = int(meta["channels"]), int(meta["height"]), int(meta["width"])
        nc, pool, act = int(meta["n_classes"]), int(meta["pool"]), meta["act"]
        gain, alpha = float(meta["gain"]), float(meta["alpha"])
    except KeyError as e:
        raise ValueError(f"{path}: metadata has no {e}") from None
    model = Field(C, H, W, nc, act, pool, gain)
    want = {"enc": model.enc, "enc_bias": model.enc_bias, "kernel": model.kernel,
            "readout": model.readout, "readout_bias": model.readout_bias}
    if model.act_bias is not None:
        want["act_bias"] = model.act_bias
    for name, p in want.items():
        t = header.get(name)
        if t is None:
            raise ValueError(f"{path}: no tensor '{name}'")
        shape = list(p.shape)
        if name in ("enc", "kernel") and list(t["shape"]) == [9] + shape[2:]:
            shape = list(t["shape"])  # the C library's layout: the 3x3 offsets flattened
        if t["dtype"] != "F32" or list(t["shape"]) != shape:
            raise ValueError(f"{path}: tensor '{name}' is {t['dtype']} {t['shape']}, expected F32 {list(p.shape)}")
        a, b = t["data_offsets"]
        if not 0 <= a <= b <= len(data) or b - a != 4 * p.numel():
            raise ValueError(f"{path}: tensor '{name}' has offsets {a}..{b} for {p.numel()} floats")
        arr = np.frombuffer(data[a:b], dtype="<f4").reshape(p.shape)
        if not np.isfinite(arr).all():
            raise ValueError(f"{path}: tensor '{name}' has non-finite values")
        with torch.no_grad():
            p.copy_(torch.from_numpy(arr.copy()))
    extra = set(header) - set(want)
    if extra:
        print(f"[field-torch] {path}: ignoring tensors {sorted(extra)}", file=sys.stderr)
    return model, alpha


# ---------------------------------------------------------------- solver table

def solver_table(model, x, cfg, max_iter, batch):
    out = {}
    for method in ("naive", "anderson"):
        c = cfg.replace(method=method, tol=min(THRESHOLDS), max_iter=max_iter, fixed=False)
        first = {t: [] for t in THRESHOLDS}
        t0 = time.perf_counter()
        evals = 0
        with torch.no_grad():
            w = model.weights()[0]
        for i in range(0, x.shape[0], batch):
            _, info = forward_solve(model, x[i:i + batch], c, THRESHOLDS, w=w)
            evals += int(info["iters"].sum())
            for t in THRESHOLDS:
                first[t].append(info["first"][t])
        secs = time.perf_counter() - t0
        row = {"seconds": round(secs, 3), "evaluations": evals,
               "us_per_image_eval": round(secs * 1e6 / max(1, evals), 2)}
        for t in THRESHOLDS:
            f = torch.cat(first[t]).double()
            hit = f >= 0
            row[f"{t:g}"] = {
                "mean_evals": round(float(f[hit].mean()), 3) if hit.any() else None,
                "mean_evals_capped": round(float(torch.where(hit, f, torch.full_like(f, max_iter)).mean()), 3),
                "never_fraction": round(float((~hit).double().mean()), 5)}
        out[method] = row
    return out


# ---------------------------------------------------------------- self-test

def self_test():
    torch.manual_seed(3)
    fails = []

    def check(name, ok, detail=""):
        print(f"[self-test] {'ok  ' if ok else 'FAIL'} {name} {detail}", file=sys.stderr)
        if not ok:
            fails.append(name)

    C, H, W = 3, 6, 4
    for act in ("modrelu", "cardioid"):
        m = Field(C, H, W, 5, act, pool=2, gain=0.8).init_()
        if m.act_bias is not None:
            with torch.no_grad():
                m.act_bias.uniform_(-0.5, 0.3)
        x = torch.rand(2, H, W)
        z = torch.randn(2, m.n_state)
        with torch.no_grad():
            w, sig = m.weights()
            got = m.f(z, m.encode(x), w).view(2, H, W, 2, C).transpose(-1, -2).double().numpy()
            lg = m.logits(z).double().numpy()
        # the definition, with explicit loops in float64
        E = m.enc.detach().double().numpy()
        E = E[..., 0] + 1j * E[..., 1]
        K = m.kernel.detach().double().numpy()
        K = (K[..., 0] + 1j * K[..., 1]) * m.gain / float(sig)
        b = m.enc_bias.detach().double().numpy()
        b = b[:, 0] + 1j * b[:, 1]
        Z = z.view(2, H, W, 2, C).double().numpy()
        Z = Z[..., 0, :] + 1j * Z[..., 1, :]
        X = x.double().numpy()
        ref = np.zeros((2, H, W, C), complex)
        for n in range(2):
            for y in range(H):
                for xx in range(W):
                    v = b.copy()
                    for dy in range(3):
                        for dx in range(3):
                            yy, xs = (y + dy - 1) % H, (xx + dx - 1) % W
                            v = v + E[dy, dx] * X[n, yy, xs] + K[dy, dx] @ Z[n, yy, xs]
                    r = np.abs(v)
                    if act == "modrelu":
                        beta = m.act_bias.detach().double().numpy()
                        v = np.where(r > 0, np.maximum(0, r + beta) * v / np.where(r > 0, r, 1), 0)
                    else:
                        v = np.where(r > 0, (1 + v.real / np.where(r > 0, r, 1)) / 2 * v, 0)
                    ref[n, y, xx] = v
        err = np.abs(got[..., 0] + 1j * got[..., 1] - ref).max()
        check(f"F = act(Wt*z + E*x + b) against loops ({act})", err < 1e-5, f"max err {err:.2e}")
        P = 2
        mag = np.abs(Z).reshape(2, P, H // P, P, W // P, C).mean((2, 4)).reshape(2, -1)
        lref = mag @ m.readout.detach().double().numpy().T + m.readout_bias.detach().double().numpy()
        err = np.abs(lg - lref).max()
        check("readout with pooling against loops", err < 1e-5, f"max err {err:.2e}")

    # sigma: the largest singular value of the dense operator of K* on the torus
    m = Field(2, 4, 5, 3, "modrelu").init_()
    K = m.kernel.detach().double().numpy()
    K = K[..., 0] + 1j * K[..., 1]
    n = 4 * 5 * 2
    A = np.zeros((n, n), complex)
    for y in range(4):
        for xx in range(5):
            for dy in range(3):
                for dx in range(3):
                    yy, xs = (y + dy - 1) % 4, (xx + dx - 1) % 5
                    A[(y * 5 + xx) * 2:(y * 5 + xx) * 2 + 2, (yy * 5 + xs) * 2:(yy * 5 + xs) * 2 + 2] += K[dy, dx]
    s_dense = np.linalg.svd(A, compute_uv=False)[0]
    s = float(m.sigma())
    check("sigma = ||K*||_2 of the dense torus operator", abs(s - s_dense) < 1e-6 * s_dense, f"{s:.9g} vs {s_dense:.9g}")

    # checkpoint round trip
    m = Field(4, 6, 4, 3, "modrelu", pool=2, gain=0.7).init_()
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "f.safetensors")
        save_checkpoint(m, p, 0.5)
        m2, a2 = load_checkpoint(p)
    same = all(torch.equal(a, b) for a, b in zip(m.parameters(), m2.parameters()))
    check("checkpoint round trip", same and a2 == 0.5 and np.float32(m2.gain) == np.float32(0.7) and m2.pool == 2)

    # solvers: naive and Anderson reach the same fixed point
    m = Field(4, 8, 8, 3, "modrelu", gain=0.9).init_()
    x = torch.rand(5, 8, 8)
    zn, inn = forward_solve(m, x, SolverCfg("naive", tol=1e-6, max_iter=500))
    za, ina = forward_solve(m, x, SolverCfg("anderson", tol=1e-6, max_iter=500, m=5))
    rel = float((zn - za).norm() / zn.norm())
    check("Anderson and naive agree", bool(inn["converged"].all() and ina["converged"].all()) and rel < 1e-4,
          f"rel diff {rel:.1e}, evals naive {inn['iters'].tolist()} anderson {ina['iters'].tolist()}")
    zd, ind = forward_solve(m, x, SolverCfg("anderson", tol=1e-6, max_iter=500, m=5, alpha=0.7))
    rel = float((zn - zd).norm() / zn.norm())
    check("damped Anderson agrees", bool(ind["converged"].all()) and rel < 1e-4, f"rel diff {rel:.1e}")

    # implicit gradient = the limit of unrolled gradients on a contractive map
    grads = {}
    y = torch.randint(0, 3, (5,))
    for name, grad, cfg in (("implicit", ("implicit",), SolverCfg("anderson", tol=1e-7, max_iter=400)),
                            ("unroll", ("unroll", 150), SolverCfg("naive"))):
        torch.manual_seed(5)
        mm = Field(4, 8, 8, 3, "modrelu", gain=0.9).init_()
        opt = torch.optim.SGD(mm.parameters(), lr=0.0)
        train_batch(mm, opt, x, y, cfg, grad)
        grads[name] = torch.cat([p.grad.flatten() for p in mm.parameters()])
    gi, gu = grads["implicit"], grads["unroll"]
    rel = float((gi - gu).norm() / gu.norm())
    check("implicit gradient against unroll:150", gu.norm() > 0 and rel < 1e-3, f"rel diff {rel:.1e}")
    return 1 if fails else 0


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--train-limit", type=int, default=0)
    ap.add_argument("--test-limit", type=int, default=0)
    ap.add_argument("--val", type=int, default=0)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--pool", type=int, default=1)
    ap.add_argument("--act", choices=["modrelu", "cardioid"], default="modrelu")
    ap.add_argument("--gain", type=float, default=0.9)
    ap.add_argument("--alpha", type=float, default=None, help="damping (1.0; --check: the checkpoint's)")
    ap.add_argument("--solver", choices=["naive", "anderson"], default=None, help="(naive)")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--max-iter", type=int, default=None, help="(30; --check: 200)")
    ap.add_argument("--anderson-m", type=int, default=5)
    ap.add_argument("--anderson-lambda", type=float, default=1e-8)
    ap.add_argument("--anderson-double", action="store_true")
    ap.add_argument("--grad", default="jfb", help="jfb | implicit | unroll:N")
    ap.add_argument("--fixed-steps", action="store_true")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--readout", choices=["adam"], default="adam",
                    help="how the readout learns: adam, with the rest (the C side also has ridge)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--init", default="", help="start from this checkpoint's parameters (e.g. an untrained one: "
                    "phasetower train --model field ... --epochs 0 --out F)")
    ap.add_argument("--c-order", action="store_true",
                    help="with --init: shuffle each epoch as the C trainer does, from the checkpoint's rng state")
    ap.add_argument("--save", default="")
    ap.add_argument("--check", default="")
    ap.add_argument("--check-n", type=int, default=8)
    ap.add_argument("--solver-table", action="store_true")
    ap.add_argument("--table-max-iter", type=int, default=0)
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    if args.self_test:
        sys.exit(self_test())

    g = args.grad.split(":")
    if g[0] in ("jfb", "implicit") and len(g) == 1:
        grad = (g[0],)
    elif g[0] == "unroll" and len(g) == 2 and g[1].isdigit() and int(g[1]) >= 1:
        grad = ("unroll", int(g[1]))
    else:
        ap.error(f"--grad {args.grad}: jfb, implicit or unroll:N with N >= 1")
    if args.batch < 1 or args.epochs < 0 or args.channels < 1:
        ap.error("--batch and --channels must be >= 1, --epochs >= 0")

    if args.check:
        try:
            model, ck_alpha = load_checkpoint(args.check)
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"field_torch: {args.check}: {e!r}" if not isinstance(e, (OSError, ValueError)) else f"field_torch: {e}",
                  file=sys.stderr)
            sys.exit(2)
        alpha = ck_alpha if args.alpha is None else args.alpha
        given = args.solver is not None or args.max_iter is not None
        try:
            cfg = SolverCfg(args.solver or "naive", alpha, args.tol, args.max_iter or 200, args.anderson_m,
                            args.anderson_lambda, args.fixed_steps or not given, args.anderson_double)
        except ValueError as e:
            ap.error(str(e))
        x, _ = load(args.data, "t10k", args.check_n)
        if tuple(x.shape[1:]) != (model.H, model.W):
            print(f"field_torch: {args.check} is {model.H}x{model.W}, the images are {tuple(x.shape[1:])}", file=sys.stderr)
            sys.exit(2)
        z, info = forward_solve(model, x, cfg)
        with torch.no_grad():
            logits = model.logits(z)
            sig = float(model.sigma())
        print(json.dumps({
            "check": args.check, "n": x.shape[0], "sigma": sig,
            "solver": cfg.method, "alpha": alpha, "tol": None if cfg.fixed else cfg.tol,
            "evaluations": cfg.max_iter if cfg.fixed else None,
            "logits": [[float(v) for v in row] for row in logits],
            "residuals": [float(v) for v in info["res"]],
            "iterations": info["iters"].tolist(),
        }), flush=True)
        if args.solver_table:
            xt, _ = load(args.data, "t10k", args.test_limit)
            tab = solver_table(model, xt, cfg, args.table_max_iter or args.max_iter or 1000, args.batch)
            print(json.dumps({"solver_table": tab, "checkpoint": args.check, "images": xt.shape[0],
                              "alpha": alpha, "anderson_m": args.anderson_m, "anderson_lambda": args.anderson_lambda,
                              "anderson_double": args.anderson_double,
                              "max_iter": args.table_max_iter or args.max_iter or 1000, "threads": 1}), flush=True)
        return

    alpha = 1.0 if args.alpha is None else args.alpha
    try:
        cfg = SolverCfg(args.solver or "naive", alpha, args.tol, args.max_iter or 30, args.anderson_m,
                        args.anderson_lambda, args.fixed_steps, args.anderson_double)
    except ValueError as e:
        ap.error(str(e))

    x_train, y_train = load(args.data, "train", args.train_limit)
    x_test, y_test = load(args.data, "t10k", args.test_limit)
    if not 0 <= args.val < x_train.shape[0]:
        ap.error(f"--val {args.val}: needs 0 <= N < {x_train.shape[0]} training images")
    n = x_train.shape[0] - args.val
    x_val, y_val = x_train[n:], y_train[n:]
    x_train, y_train = x_train[:n], y_train[:n]
    H, W = x_train.shape[1:]
    n_classes = int(max(y_train.max(), y_test.max())) + 1

    crng = None
    if args.c_order and not args.init:
        ap.error("--c-order needs --init F (the checkpoint whose rng state drives the shuffle)")
    try:
        if args.init:
            model, _ = load_checkpoint(args.init)
            got = (model.C, model.pool, model.act, float(np.float32(model.gain)))
            want = (args.channels, args.pool, args.act, float(np.float32(args.gain)))
            if got != want:
                ap.error(f"--init {args.init}: (channels, pool, act, gain) {got}, the flags say {want}")
            if args.c_order:
                crng = CRng(checkpoint_meta(args.init).get("rng", ""))
        else:
            model = Field(args.channels, H, W, n_classes, args.act, args.pool, args.gain).init_()
    except ValueError as e:
        ap.error(str(e))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)

    epoch_s, epoch_cpu, val_acc, evals_epoch, unconv_epoch, loss = [], [], [], [], [], float("nan")
    for epoch in range(1, args.epochs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        perm = crng.permutation(n) if crng else torch.randperm(n, generator=gen)
        tot_loss, tot_evals, tot_unconv = 0.0, 0, 0
        for i in range(0, n, args.batch):
            idx = perm[i:i + args.batch]
            l, ev, cv = train_batch(model, opt, x_train[idx], y_train[idx], cfg, grad)
            tot_loss += l * idx.numel()
            tot_evals += int(ev.sum())
            tot_unconv += int((~cv).sum())
        epoch_s.append(time.perf_counter() - t0)
        epoch_cpu.append(time.process_time() - c0)
        loss = tot_loss / n
        evals_epoch.append(tot_evals / n)
        unconv_epoch.append(tot_unconv / n)
        msg = f"[field-torch] epoch {epoch}: loss {loss:.4f}, {epoch_s[-1]:.1f}s, {tot_evals / n:.1f} evals/image"
        if args.val:
            val_acc.append(evaluate(model, x_val, y_val, cfg, args.batch)["accuracy"])
            msg += f", val acc {val_acc[-1]:.4f}"
        print(msg, file=sys.stderr, flush=True)

    if args.save:
        save_checkpoint(model, args.save, alpha)
    t0, c0 = time.perf_counter(), time.process_time()
    ev = evaluate(model, x_test, y_test, cfg, args.batch)
    test_s, test_cpu = time.perf_counter() - t0, time.process_time() - c0
    with torch.no_grad():
        sig = float(model.sigma())
    rec = {
        "model": "field-torch",
        "test_accuracy": ev["accuracy"],
        "val_accuracy": val_acc[-1] if val_acc else None,
        "val_accuracy_epochs": val_acc,
        "train_seconds": round(sum(epoch_s), 3),
        "epoch_seconds": [round(s, 3) for s in epoch_s],
        "epoch_cpu_seconds": [round(s, 3) for s in epoch_cpu],
        "evals_per_image_train": round(sum(evals_epoch) / len(evals_epoch), 3) if evals_epoch else None,
        "train_unconverged_fraction": round(sum(unconv_epoch) / len(unconv_epoch), 5) if unconv_epoch else None,
        "test_unconverged_fraction": round(float((~ev["converged"]).double().mean()), 5),
        "test_mean_iterations": round(float(ev["iters"].double().mean()), 3),
        "test_mean_residual": float(ev["res"].mean()),
        "test_max_residual": float(ev["res"].max()),
        "test_seconds": round(test_s, 3),
        "test_cpu_seconds": round(test_cpu, 3),
        "us_per_image_eval": round(test_s * 1e6 / max(1, int(ev["iters"].sum())), 2),
        "sigma": sig,
        "final_loss": round(loss, 5),
        "params": model.param_count(),
        "threads": torch.get_num_threads(),
        "seed": args.seed,
        "train_samples": n, "val_samples": args.val, "test_samples": x_test.shape[0],
        "conv": "real-block-nhwc",
        "channels": args.channels, "pool": args.pool, "act": args.act, "gain": args.gain, "alpha": alpha,
        "solver": cfg.method, "tol": cfg.tol, "max_iter": cfg.max_iter, "fixed_steps": cfg.fixed,
        "anderson_m": cfg.m, "anderson_lambda": cfg.lam, "anderson_double": cfg.double,
        "grad": args.grad, "epochs": args.epochs, "lr": args.lr, "batch": args.batch,
    }
    print(json.dumps(rec), flush=True)
    if args.solver_table:
        tm = args.table_max_iter or cfg.max_iter
        tab = solver_table(model, x_test, cfg, tm, args.batch)
        print(json.dumps({"solver_table": tab, "images": x_test.shape[0], "alpha": alpha,
                          "anderson_m": cfg.m, "anderson_lambda": cfg.lam, "anderson_double": cfg.double,
                          "max_iter": tm, "threads": 1, "seed": args.seed}), flush=True)


if __name__ == "__main__":
    main()

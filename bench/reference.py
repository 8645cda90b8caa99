#!/usr/bin/python3
"""PyTorch reference for `npm run bench`: the same workloads as bench/workloads.ts, same shapes, same
initial weights, data and noise (the project's counter-based Rng, src/core/rng.ts, re-implemented below
bit for bit), Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-8). CPU, torch.set_num_threads(os.cpu_count())
unless --threads N.

    /usr/bin/python3 bench/reference.py --workloads W1,W2 --steps 20 --warmup 3

Prints one JSON line: {"torch": version, "threads": n, "results": {"W1": {...}, "W2": {...}, "add": {...}}}.
"""
import argparse
import json
import math
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

DATA_SEED, EPS_SEED, PARAM_SEED = 1, 2, 1000
ADAM = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
M32 = np.uint64(0xFFFFFFFF)


def _mix(seed, counter):
    """src/core/rng.ts mix(seed, counter) on arrays of counters (uint32 arithmetic, like Math.imul)."""
    c = (counter.astype(np.uint64) + np.uint64(0x9E3779B9)) & M32
    z = (np.uint64(seed) ^ ((c * np.uint64(0x85EBCA6B)) & M32)) & M32
    z = ((z ^ (z >> np.uint64(16))) * np.uint64(0x85EBCA6B)) & M32
    z = ((z ^ (z >> np.uint64(13))) * np.uint64(0xC2B2AE35)) & M32
    return z ^ (z >> np.uint64(16))


def uniforms(seed, n):
    """Rng(seed).next() n times, as float32 (same as the Float32Array the TS side fills)."""
    return (_mix(seed, np.arange(n)).astype(np.float64) / 4294967296.0).astype(np.float32)


def normals(seed, n):
    """Rng(seed).normal() n times: u = 1 - next(), v = next(); sqrt(-2 log u) cos(2 pi v)."""
    r = _mix(seed, np.arange(2 * n)).astype(np.float64) / 4294967296.0
    u, v = 1.0 - r[0::2], r[1::2]
    return (np.sqrt(-2.0 * np.log(u)) * np.cos(2.0 * math.pi * v)).astype(np.float32)


def binary_data(n):
    return torch.from_numpy((uniforms(DATA_SEED, n) < 0.5).astype(np.float32))


def param(index, shape, fan_in):
    """Same values and flat order as workloads.ts param(): tfjs layout (dense [in,out], conv [kh,kw,ci,co])."""
    bound = 1.0 / math.sqrt(fan_in)
    u = uniforms(PARAM_SEED + index, int(np.prod(shape)))
    return torch.from_numpy((2.0 * u - 1.0) * bound).reshape(shape)


def dense(index, n_in, n_out):
    lin = torch.nn.Linear(n_in, n_out)
    with torch.no_grad():
        lin.weight.copy_(param(index, [n_in, n_out], n_in).t())
        lin.bias.copy_(param(index + 1, [n_out], n_in))
    return lin


def conv(index, k, c_in, c_out):
    c = torch.nn.Conv2d(c_in, c_out, k, padding="same")
    with torch.no_grad():
        c.weight.copy_(param(index, [k, k, c_in, c_out], k * k * c_in).permute(3, 2, 0, 1))
        c.bias.copy_(param(index + 1, [c_out], k * k * c_in))
    return c


class VAE(torch.nn.Module):
    """W1: Kingma & Welling 2014; loss = mean_batch [sum BCE(logits, x) + KL(q(z|x) || N(0, I))]."""

    def __init__(self, D=784, H=512, Z=32):
        super().__init__()
        self.enc1, self.mu, self.logVar = dense(0, D, H), dense(2, H, Z), dense(4, H, Z)
        self.dec1, self.dec2 = dense(6, Z, H), dense(8, H, D)

    def forward(self, x, eps):
        h = F.relu(self.enc1(x))
        mu, logVar = self.mu(h), self.logVar(h)
        z = mu + torch.exp(0.5 * logVar) * eps
        logits = self.dec2(F.relu(self.dec1(z)))
        nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        kl = -0.5 * (1 + logVar - mu.pow(2) - logVar.exp()).sum(1)
        return (nll + kl).mean()


class ConvNet(torch.nn.Module):
    """W2: three conv3x3 64ch relu layers and a conv1x1 to logits; mean sigmoid cross-entropy vs input."""

    def __init__(self, C=64):
        super().__init__()
        self.c1, self.c2, self.c3 = conv(0, 3, 1, C), conv(2, 3, C, C), conv(4, 3, C, C)
        self.c4 = conv(6, 1, C, 1)

    def forward(self, x):
        h = F.relu(self.c3(F.relu(self.c2(F.relu(self.c1(x))))))
        return F.binary_cross_entropy_with_logits(self.c4(h), x)


class Glow(torch.nn.Module):
    """G: the library's Glow (src/families/flows/glow.ts), NHWC like tfjs: L=2 levels of squeeze -> K steps of
    [ActNorm (data-dependent init on the first batch), invertible 1x1 conv W = P L (U + diag(sign exp(logs))),
    affine coupling on the channel halves (mask-based: net input [b*x, b], exp(s) = sigmoid(h + 2))], split after
    level 1; loss = mean NLL (nats per example) under N(0, I). Weights as bench/workloads.ts makeG() sets them."""

    def __init__(self, size=28, levels=2, depth=4, hidden=64):
        super().__init__()
        self.levels, self.depth = levels, depth
        idx = 0
        self.steps = torch.nn.ModuleList()
        H, C = size, 1
        for level in range(levels):
            H, C = H // 2, C * 4
            for _ in range(depth):
                m = torch.nn.Module()
                m.C, m.HW = C, H * H
                m.an_bias = torch.nn.Parameter(torch.zeros(C))
                m.an_logs = torch.nn.Parameter(torch.zeros(C))
                m.register_buffer("P", torch.flip(torch.eye(C), [1]))
                m.register_buffer("sign", torch.tensor([(-1.0 if k % 2 else 1.0) for k in range(C)]))
                m.L = torch.nn.Parameter(param(idx, [C, C], C)); idx += 1
                m.U = torch.nn.Parameter(param(idx, [C, C], C)); idx += 1
                m.logs = torch.nn.Parameter(param(idx, [C], C)); idx += 1
                convs = []
                for k, ci, co in [(3, 2 * C, hidden), (1, hidden, hidden), (3, hidden, 2 * C)]:
                    c = torch.nn.Conv2d(ci, co, k, padding="same")
                    with torch.no_grad():
                        c.weight.copy_(param(idx, [k, k, ci, co], k * k * ci).permute(3, 2, 0, 1))
                        c.bias.copy_(param(idx + 1, [co], k * k * ci))
                    idx += 2
                    convs.append(c)
                m.convs = torch.nn.ModuleList(convs)
                b = torch.zeros(C)
                b[: C // 2] = 1.0
                m.register_buffer("mask", b)
                self.steps.append(m)
            if level + 1 < levels:
                C //= 2
        self.initialized = False

    @staticmethod
    def squeeze(x):
        n, H, W, C = x.shape
        return x.reshape(n, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 2, 4, 5).reshape(n, H // 2, W // 2, 4 * C)

    def step(self, m, x, init):
        # ActNorm: y = (x + b) exp(logs)
        if init:
            with torch.no_grad():
                mean = x.mean(dim=(0, 1, 2))
                std = x.var(dim=(0, 1, 2), unbiased=False).sqrt()
                m.an_bias.copy_(-mean)
                m.an_logs.copy_(-torch.log(std + 1e-6))
        x = (x + m.an_bias) * torch.exp(m.an_logs)
        logdet = m.HW * m.an_logs.sum()
        # invertible 1x1 conv, y = x W^T
        C = m.C
        lower = torch.tril(torch.ones(C, C), -1)
        Lm = m.L * lower + torch.eye(C)
        Um = m.U * lower.t() + torch.diag(m.sign * torch.exp(m.logs))
        W = m.P @ (Lm @ Um)
        x = x @ W.t()
        logdet = logdet + m.HW * m.logs.sum()
        # affine coupling, mask b on channels
        b = m.mask
        inp = torch.cat([x * b, torch.ones_like(x) * b], -1).permute(0, 3, 1, 2)
        h = F.relu(m.convs[0](inp))
        h = F.relu(m.convs[1](h))
        out = m.convs[2](h).permute(0, 2, 3, 1)
        hs, t = out[..., :C], out[..., C:]
        s = -F.softplus(-(hs + 2)) * (1 - b)
        x = x * torch.exp(s) + t * (1 - b)
        return x, logdet + s.flatten(1).sum(1)

    def forward(self, x):
        init = not self.initialized
        self.initialized = True
        n = x.shape[0]
        zs, logdet, i = [], torch.zeros(n), 0
        for level in range(self.levels):
            x = self.squeeze(x)
            for _ in range(self.depth):
                x, ld = self.step(self.steps[i], x, init)
                logdet = logdet + ld
                i += 1
            if level + 1 < self.levels:
                C = x.shape[-1]
                zs.append(x[..., : C // 2].flatten(1))
                x = x[..., C // 2:]
        z = torch.cat(zs + [x.flatten(1)], 1)
        log_pz = -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
        return -(log_pz + logdet).mean()


def make(name):
    if name == "W1":
        B, D, Z = 128, 784, 32
        x = binary_data(B * D).reshape(B, D)
        eps = torch.from_numpy(normals(EPS_SEED, B * Z)).reshape(B, Z)
        model = VAE()
        return model, (lambda: model(x, eps))
    if name == "W2":
        B, S = 64, 28
        # NHWC [B,28,28,1] and NCHW [B,1,28,28] have the same flat order when C = 1
        x = binary_data(B * S * S).reshape(B, 1, S, S)
        model = ConvNet()
        return model, (lambda: model(x))
    if name == "G":
        B, S = 16, 28
        # NHWC [B,28,28,1]: the same flat order as workloads.ts makeG()'s data
        x = torch.from_numpy(uniforms(DATA_SEED, B * S * S)).reshape(B, S, S, 1)
        model = Glow()
        return model, (lambda: model(x))
    return None, None


def bench_workload(name, steps, warmup, warmup_sec=0.0):
    """Warm-up: at least `warmup` steps and `warmup_sec` seconds (the rule bench/worker.ts applies)."""
    model, loss_fn = make(name)
    if model is None:
        return {"status": "n/a", "note": f"n/a (unknown workload {name})"}
    opt = torch.optim.Adam(model.parameters(), **ADAM)
    times, losses = [], []
    start = time.perf_counter()
    warmup_steps = -1
    s = 0
    while warmup_steps < 0 or s < warmup_steps + steps:
        if warmup_steps < 0 and s >= warmup and time.perf_counter() - start >= warmup_sec:
            warmup_steps = s
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        v = loss.item()
        dt = (time.perf_counter() - t0) * 1e3
        if len(losses) < 2:
            losses.append(v)
        if warmup_steps >= 0:
            times.append(dt)
        s += 1
    return {"status": "ok", "unit": "ms", "times": times, "median": statistics.median(times),
            "mean": statistics.fmean(times), "losses": losses, "steps": steps, "warmup": warmup_steps}


def bench_add(rounds, per_round=10000):
    """Per-op overhead: torch.add on two 2x2 tensors, in µs per op."""
    a, b = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[5.0, 6.0], [7.0, 8.0]])
    for _ in range(per_round):
        torch.add(a, b)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            torch.add(a, b)
        times.append((time.perf_counter() - t0) * 1e6 / per_round)
    return {"status": "ok", "unit": "us", "times": times, "median": statistics.median(times),
            "mean": statistics.fmean(times)}


def loaded_blas():
    """The BLAS shared objects this process actually mapped (Linux), e.g. 'openblas-openmp/libblas.so.3'."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line and ".so" in line}
        return sorted("/".join(x.split("/")[-2:]) for x in libs)
    except OSError:
        return []


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workloads", default="W1,W2,G,add")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--warmup-sec", type=float, default=0.0, help="warm up for at least this long too")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0 = all cores)")
    a = p.parse_args()
    torch.set_num_threads(a.threads or os.cpu_count())
    torch.manual_seed(0)
    results = {}
    for w in [w for w in a.workloads.split(",") if w]:
        results[w] = bench_add(a.steps) if w == "add" else bench_workload(w, a.steps, a.warmup, a.warmup_sec)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "numpy": np.__version__, "blas": loaded_blas(), "results": results}))


if __name__ == "__main__":
    main()

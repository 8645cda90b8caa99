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



# ---------------------------------------------------------------------------------------------------------
# U and D: the library's diffusion U-Net (src/families/diffusion/unet.ts + layers.ts) written as one would in
# PyTorch (NCHW, nn.Conv2d / nn.GroupNorm / nn.Linear / F.silu), same architecture and the weights that
# bench/unet.ts sets (kernels converted from tfjs's HWIO / [in, out] layouts).
# ---------------------------------------------------------------------------------------------------------
U_ARCH = dict(batch=16, size=28, channels=[16, 32, 32], attention=True, T=1000, ddim_steps=10)
T_SEED = 3


def unet_params(names_shapes):
    """name -> tensor in tfjs layout, seeds by sorted-name order (bench/unet.ts makeUnet)."""
    out = {}
    for i, (name, shape) in enumerate(sorted(names_shapes.items())):
        u = uniforms(PARAM_SEED + i, int(np.prod(shape))).astype(np.float64)
        last = name.split(".")[-1]
        fan_in = int(np.prod(shape)) // shape[-1]
        v = (2 * u - 1) / math.sqrt(fan_in) if last == "w" else (1 + 0.1 * (2 * u - 1) if last == "gamma" else 0.1 * (2 * u - 1))
        out[name] = torch.from_numpy(v.astype(np.float32)).reshape(shape)
    return out


class _Reg:
    """Collects (name -> tfjs shape) while the modules are built, then loads the seeded weights into them."""

    def __init__(self):
        self.shapes, self.setters = {}, []

    def conv(self, name, ci, co, k=3, stride=1):
        c = torch.nn.Conv2d(ci, co, k, stride=stride, padding=0 if stride == 2 else k // 2)
        self.shapes[name + ".w"], self.shapes[name + ".b"] = [k, k, ci, co], [co]
        self.setters.append((name, lambda p, c=c, n=name: (c.weight.copy_(p[n + ".w"].permute(3, 2, 0, 1)),
                                                           c.bias.copy_(p[n + ".b"]))))
        return c

    def dense(self, name, ci, co):
        lin = torch.nn.Linear(ci, co)
        self.shapes[name + ".w"], self.shapes[name + ".b"] = [ci, co], [co]
        self.setters.append((name, lambda p, m=lin, n=name: (m.weight.copy_(p[n + ".w"].t()), m.bias.copy_(p[n + ".b"]))))
        return lin

    def gn(self, name, c):
        g = min(8, c)
        while c % g:
            g -= 1
        m = GroupNormFp32(g, c, eps=1e-5)
        self.shapes[name + ".gamma"], self.shapes[name + ".beta"] = [c], [c]
        self.setters.append((name, lambda p, m=m, n=name: (m.weight.copy_(p[n + ".gamma"]), m.bias.copy_(p[n + ".beta"]))))
        return m

    def load(self):
        p = unet_params(self.shapes)
        with torch.no_grad():
            for _, s in self.setters:
                s(p)


class GroupNormFp32(torch.nn.GroupNorm):
    """GroupNorm on its input as float32: the same numbers in an fp32 run (x.float() is x), and under CPU bf16
    autocast the statistics in fp32 (PyTorch 1.13's CPU group_norm fails on a bf16 input with fp32 weights:
    "expected scalar type BFloat16 but found Float"), as the torch backend's bf16 policy keeps them."""

    def forward(self, x):
        return F.group_norm(x.float(), self.num_groups, self.weight, self.bias, self.eps)


class ResBlock(torch.nn.Module):
    """skip(x) + conv2(silu(gn2(conv1(silu(gn1(x))) + W e)))"""

    def __init__(self, r, ci, co, emb, name):
        super().__init__()
        self.gn1, self.conv1 = r.gn(name + ".gn1", ci), r.conv(name + ".conv1", ci, co)
        self.emb = r.dense(name + ".emb", emb, co)
        self.gn2, self.conv2 = r.gn(name + ".gn2", co), r.conv(name + ".conv2", co, co)
        self.skip = None if ci == co else r.conv(name + ".skip", ci, co, 1)

    def forward(self, x, e):
        h = self.conv1(F.silu(self.gn1(x))) + self.emb(e)[:, :, None, None]
        h = self.conv2(F.silu(self.gn2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class Attention(torch.nn.Module):
    """x + proj(softmax(q k^T / sqrt(c)) v), q, k, v = 1x1 projections of gn(x)"""

    def __init__(self, r, c, name):
        super().__init__()
        self.gn, self.qkv, self.proj = r.gn(name + ".gn", c), r.dense(name + ".qkv", c, 3 * c), r.dense(name + ".proj", c, c)

    def forward(self, x):
        n, c, h, w = x.shape
        hs = self.gn(x).flatten(2).transpose(1, 2)  # [n, hw, c]
        q, k, v = self.qkv(hs).chunk(3, dim=2)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        out = self.proj(att @ v)
        return x + out.transpose(1, 2).reshape(n, c, h, w)


class UNetRef(torch.nn.Module):
    def __init__(self, c_in=1, channels=(16, 32, 32), attention=True):
        super().__init__()
        r = _Reg()
        c0 = channels[0]
        self.sin_dim, emb = c0, 4 * c0
        self.t0, self.t1 = r.dense("temb.0", c0, emb), r.dense("temb.1", emb, emb)
        self.inc = r.conv("unet.in", c_in, c0)
        self.down_res, self.down = torch.nn.ModuleList(), torch.nn.ModuleList()
        c, L = c0, len(channels)
        for l in range(L):
            self.down_res.append(ResBlock(r, c, channels[l], emb, f"unet.down.{l}.res"))
            c = channels[l]
            self.down.append(r.conv(f"unet.down.{l}.down", c, c, 3, 2) if l + 1 < L else torch.nn.Identity())
        self.mid1 = ResBlock(r, c, c, emb, "unet.mid.res1")
        self.attn = Attention(r, c, "unet.mid.attn") if attention else None
        self.mid2 = ResBlock(r, c, c, emb, "unet.mid.res2")
        self.up_res, self.up = torch.nn.ModuleList(), torch.nn.ModuleList()
        for l in range(L - 1, -1, -1):
            self.up_res.append(ResBlock(r, c + channels[l], channels[l], emb, f"unet.up.{l}.res"))
            c = channels[l]
            self.up.append(r.conv(f"unet.up.{l}.up", c, c) if l > 0 else torch.nn.Identity())
        self.out_gn, self.out_conv = r.gn("unet.out.gn", c), r.conv("unet.out.conv", c, c_in)
        self.L = L
        r.load()

    def embed(self, t):
        half = self.sin_dim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        a = t.float()[:, None] * freqs[None, :]
        return self.t1(F.silu(self.t0(torch.cat([torch.sin(a), torch.cos(a)], 1))))

    def forward(self, x, t):
        e = self.embed(t)
        h = self.inc(x)
        skips = []
        for l in range(self.L):
            h = self.down_res[l](h, e)
            skips.append(h)
            if l + 1 < self.L:
                h = self.down[l](F.pad(h, (0, 1, 0, 1)))  # tfjs 'same' with stride 2 pads bottom/right
        h = self.mid1(h, e)
        if self.attn is not None:
            h = self.attn(h)
        h = self.mid2(h, e)
        for i in range(self.L):
            h = self.up_res[i](torch.cat([h, skips.pop()], 1), e)
            if i + 1 < self.L:
                h = self.up[i](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.out_conv(F.silu(self.out_gn(h)))


def unet_data():
    B, S = U_ARCH["batch"], U_ARCH["size"]
    n = B * S * S
    # NHWC [B,S,S,1] and NCHW [B,1,S,S] share the flat order (C = 1)
    xt = torch.from_numpy(2 * uniforms(DATA_SEED, n) - 1).reshape(B, 1, S, S)
    eps = torch.from_numpy(normals(EPS_SEED, n)).reshape(B, 1, S, S)
    t = torch.from_numpy(np.floor(uniforms(T_SEED, B).astype(np.float64) * U_ARCH["T"]).astype(np.float32) + 1)
    return xt, eps, t


def linear_alpha_bar(T, b1=1e-4, bT=0.02):
    """src/families/diffusion/schedule.ts linearBetas + alphaBar, float64, index 0 = 1."""
    ab = [1.0]
    for t in range(1, T + 1):
        beta = b1 + (bT - b1) * (t - 1) / (T - 1)
        ab.append(ab[-1] * (1 - beta))
    return ab


def bench_ddim(steps, warmup, warmup_sec=0.0):
    """D: DDIM (eta = 0) sampling of a batch, the loop of samplers.ts ddimSample (with its per-step finiteness check)."""
    B, S, T, K = U_ARCH["batch"], U_ARCH["size"], U_ARCH["T"], U_ARCH["ddim_steps"]
    model = UNetRef()
    ab = linear_alpha_bar(T)
    tau = [0] + [int(math.floor(i * T / K + 0.5)) for i in range(1, K + 1)]
    x_T = torch.from_numpy(normals(EPS_SEED, B * S * S)).reshape(B, 1, S, S)

    def sample():
        with torch.inference_mode():
            x = x_T.clone()
            for i in range(1, K + 1):
                t, s = tau[K - i + 1], tau[K - i]
                e = model(x, torch.full((B,), t * 1000.0 / T))
                x0 = ((x - e * math.sqrt(1 - ab[t])) / math.sqrt(ab[t])).clamp(-1, 1)
                x = x0 * math.sqrt(ab[s]) + e * math.sqrt(max(0.0, 1 - ab[s]))
                if not torch.isfinite(x).all().item():
                    raise RuntimeError(f"non-finite at step {i}")
            return x.mean().item()

    return timed_steps(sample, steps, warmup, warmup_sec)


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
    if name == "U":
        xt, eps, t = unet_data()
        model = UNetRef()
        return model, (lambda: F.mse_loss(model(xt, t), eps))
    return None, None


def bench_workload(name, steps, warmup, warmup_sec=0.0, autocast=False):
    """Warm-up: at least `warmup` steps and `warmup_sec` seconds (the rule bench/worker.ts applies).
    autocast: the forward pass under torch.autocast('cpu', dtype=torch.bfloat16) (backward and Adam outside it,
    as PyTorch recommends), what the torch backend's bf16 precision policy is compared with."""
    model, loss_fn = make(name)
    if model is None:
        return {"status": "n/a", "note": f"n/a (unknown workload {name})"}
    if autocast:
        fp32_loss_fn = loss_fn

        def loss_fn():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return fp32_loss_fn().float()
    opt = torch.optim.Adam(model.parameters(), **ADAM)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()

    return timed_steps(step, steps, warmup, warmup_sec)


def timed_steps(step, steps, warmup, warmup_sec):
    """Run step() through the warm-up rule, then `steps` timed calls: wall and process CPU ms per call, and
    the values of the first two calls (the loss check)."""
    times, cpu, losses = [], [], []
    start, warmup_steps, s = time.perf_counter(), -1, 0
    while warmup_steps < 0 or s < warmup_steps + steps:
        if warmup_steps < 0 and s >= warmup and time.perf_counter() - start >= warmup_sec:
            warmup_steps = s
        t0, c0 = time.perf_counter(), time.process_time()
        v = step()
        dt, dc = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
        if len(losses) < 2:
            losses.append(v)
        if warmup_steps >= 0:
            times.append(dt)
            cpu.append(dc)
        s += 1
    return {"status": "ok", "unit": "ms", "times": times, "median": statistics.median(times),
            "mean": statistics.fmean(times), "cpuMedian": statistics.median(cpu), "losses": losses,
            "steps": steps, "warmup": warmup_steps}


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
    p.add_argument("--workloads", default="W1,W2,G,U,D,add")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--warmup-sec", type=float, default=0.0, help="warm up for at least this long too")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0 = all cores)")
    p.add_argument("--autocast", action="store_true", help="training workloads under CPU bf16 autocast")
    a = p.parse_args()
    torch.set_num_threads(a.threads or os.cpu_count())
    torch.manual_seed(0)
    results = {}
    for w in [w for w in a.workloads.split(",") if w]:
        if w == "add":
            results[w] = bench_add(a.steps)
        elif w == "D":
            results[w] = bench_ddim(a.steps, a.warmup, a.warmup_sec)
        elif a.autocast:
            try:
                results[w] = bench_workload(w, a.steps, a.warmup, a.warmup_sec, True)
            except RuntimeError as e:  # an op PyTorch's CPU autocast cannot run: that workload's cell says why
                results[w] = {"status": "error", "note": "n/a (autocast: " + str(e).split("\n")[0][:120] + ")"}
        else:
            results[w] = bench_workload(w, a.steps, a.warmup, a.warmup_sec)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "numpy": np.__version__, "blas": loaded_blas(), "results": results}))


if __name__ == "__main__":
    main()

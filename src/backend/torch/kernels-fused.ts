// Kernels of the fused ops in src/ops/norm.ts and src/ops/flow.ts (not tfjs kernels: on backends without them
// those ops run their composite form). Each is one tfjs kernel for a chain of ATen calls, temporaries updated
// in place where the value is not needed again.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { FUSED_FLOW } from '../../ops/flow.js';
import { FUSED_NORM } from '../../ops/norm.js';
import type { TorchBackend } from './backend.js';
import { op } from './aten.js';
import { FAST, nchw, nchwDense, nhwc, type Kernel, type T } from './kernel-util.js';

const MEMORY_FORMAT_CONTIGUOUS = 0;
/** every axis but the last: the per-channel reduction of ActNorm's parameter gradients */
const allButLast = (x: TensorInfo) => x.shape.slice(0, -1).map((_, i) => i);
/** every axis but the first: a per-example sum */
const allButFirst = (x: TensorInfo) => x.shape.slice(1).map((_, i) => i + 1);
/** dy[n] as [n, 1, ..., 1] to broadcast against a tensor of x's rank */
const perExample = (b: TorchBackend, dy: TensorInfo, x: TensorInfo) =>
  op.reshape(b.t(dy), [x.shape[0]!, ...x.shape.slice(1).map(() => 1)]);
/** 1 - sigmoid(h + 2) = sigmoid(-(h + 2)): d log sigmoid(u) / du at u = h + 2 */
const dLogSigmoid = (b: TorchBackend, h: T) => b.fast(FAST.sigmoid, op.neg_(op.addS(h, 2)));

export const fusedFlowNormKernels: Record<string, Kernel> = {
  // ---- SiLU
  [FUSED_NORM.silu]: (b, { x }) => b.out(b.fast(FAST.silu, b.t(x)), 'float32'),
  [FUSED_NORM.siluGrad]: (b, { dy, x }) => b.out(op.siluBackward(b.t(dy), b.t(x)), 'float32'),

  // ---- GroupNorm (+ SiLU) over NHWC: ATen's native_group_norm on the channels_last NCHW view (no copy).
  // ATen 1.13's native_group_norm_backward reads its inputs as contiguous NCHW (channels_last inputs give wrong
  // values), so the backward pass copies x and dy to NCHW and dx back.
  [FUSED_NORM.groupNorm]: (b, { x, gamma, beta }, a) => {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const [y, mean, rstd] = op.groupNorm(
      nchwDense(b.t(x)),
      b.t(gamma),
      b.t(beta),
      n,
      c,
      h * w,
      a.groups,
      a.eps,
    ) as [T, T, T];
    const yl = nhwc(y);
    const outs = [b.out(a.silu ? b.fast(FAST.silu, yl) : yl, 'float32'), b.out(mean!, 'float32')];
    outs.push(b.out(rstd!, 'float32'));
    if (a.silu) outs.push(b.out(yl, 'float32'));
    return outs;
  },
  [FUSED_NORM.groupNormGrad]: (b, { dy, x, gamma, mean, rstd, y }, a) => {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    let g = b.t(dy);
    if (a.silu) g = op.siluBackward(g, b.t(y!));
    const [dx, dgamma, dbeta] = op.groupNormBackward(
      op.contiguous(nchw(g), MEMORY_FORMAT_CONTIGUOUS),
      op.contiguous(nchw(b.t(x)), MEMORY_FORMAT_CONTIGUOUS),
      b.t(mean),
      b.t(rstd),
      b.t(gamma),
      n,
      c,
      h * w,
      a.groups,
      [true, true, true],
    ) as [T, T, T];
    return [
      b.out(op.contiguous(nhwc(dx!), MEMORY_FORMAT_CONTIGUOUS), 'float32'),
      b.out(dgamma!, 'float32'),
      b.out(dbeta!, 'float32'),
    ];
  },

  // ---- ActNorm: (x + bias) exp(logs)
  [FUSED_FLOW.actNorm]: (b, { x, bias, logs }) =>
    b.out(op.mul_(op.add(b.t(x), b.t(bias)), b.fast(FAST.exp, b.t(logs))), 'float32'),
  [FUSED_FLOW.actNormGrad]: (b, { dy, x, bias, logs }) => {
    const dims = allButLast(x);
    const dx = b.fast(FAST.mul, b.t(dy), b.fast(FAST.exp, b.t(logs)));
    const dbias = op.sum(dx, dims, false);
    const dlogs = op.sum(op.mul_(op.add(b.t(x), b.t(bias)), dx), dims, false);
    return [b.out(dx, 'float32'), b.out(dbias, 'float32'), b.out(dlogs, 'float32')];
  },

  // ---- Glow's affine coupling, exp(s) = sigmoid(h + 2) on the transformed part
  [FUSED_FLOW.coupling]: (b, { x, h, t, inv }) => {
    const ti = b.t(inv);
    const es = op.exp(op.mul_(op.neg_(op.softplus(op.neg_(op.addS(b.t(h), 2)))), ti)); // exp(s)
    return b.out(op.add_(op.mul_(es, b.t(x)), b.fast(FAST.mul, b.t(t), ti)), 'float32');
  },
  [FUSED_FLOW.couplingGrad]: (b, { dy, x, h, inv }) => {
    const ti = b.t(inv);
    const g = b.t(dy);
    const th = b.t(h);
    const es = op.exp(op.mul_(op.neg_(op.softplus(op.neg_(op.addS(th, 2)))), ti));
    const dx = b.fast(FAST.mul, g, es);
    const dh = op.mul_(op.mul_(op.mul_(dLogSigmoid(b, th), ti), b.t(x)), dx);
    const dt = b.fast(FAST.mul, g, ti);
    return [b.out(dx, 'float32'), b.out(dh, 'float32'), b.out(dt, 'float32')];
  },
  [FUSED_FLOW.couplingLogDet]: (b, { h, inv }) => {
    const s = op.mul_(op.neg_(op.softplus(op.neg_(op.addS(b.t(h), 2)))), b.t(inv));
    return b.out(op.sum(s, allButFirst(h), false), 'float32');
  },
  [FUSED_FLOW.couplingLogDetGrad]: (b, { dy, h, inv }) => {
    const dh = op.mul_(op.mul_(dLogSigmoid(b, b.t(h)), b.t(inv)), perExample(b, dy, h));
    return b.out(dh, 'float32');
  },
};

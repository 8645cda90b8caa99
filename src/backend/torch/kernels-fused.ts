// Kernels of the fused ops in src/ops/norm.ts and src/ops/flow.ts (not tfjs kernels: on backends without them
// those ops run their composite form). Each is one tfjs kernel for a chain of ATen calls, temporaries updated
// in place where the value is not needed again.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { FUSED_CONV } from '../../ops/conv.js';
import { FUSED_FLOW, FUSED_INVCONV, FUSED_SUM } from '../../ops/flow.js';
import { FUSED_NORM } from '../../ops/norm.js';
import type { TorchBackend } from './backend.js';
import { op } from './aten.js';
import { FAST, type Attrs, type Kernel, type T } from './kernel-util.js';
import { conv2d, conv2dGrads } from './kernels-conv.js';

/** GroupNorm's sizes: x [n, h, w, c] as [n, hw, c], G groups of c / G channels */
const gnDims = (x: TensorInfo, a: Attrs) => {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  return { n, hw: h * w, c, G: a.groups as number };
};
/** [n, c] per-channel sums over hw -> [n, G] means over each group's hw * cg values */
const groupMean = (s: T, n: number, G: number, cg: number, hw: number) =>
  op.mulS(op.sum(op.reshape(s, [n, G, cg]), [2], false), 1 / (hw * cg));
/** [n, G] per-group values -> [n, 1, c] (each group's value repeated over its channels) */
const perChannel = (v: T, n: number, G: number, c: number) =>
  op.reshape(op.expand(op.reshape(v, [n, G, 1]), [n, G, c / G]), [n, 1, c]);
/** every axis but the last: the per-channel reduction of ActNorm's parameter gradients */
const allButLast = (x: TensorInfo) => x.shape.slice(0, -1).map((_, i) => i);
/** every axis but the first: a per-example sum */
const allButFirst = (x: TensorInfo) => x.shape.slice(1).map((_, i) => i + 1);
/** dy[n] as [n, 1, ..., 1] to broadcast against a tensor of x's rank */
const perExample = (b: TorchBackend, dy: TensorInfo, x: TensorInfo) =>
  op.reshape(b.t(dy), [x.shape[0]!, ...x.shape.slice(1).map(() => 1)]);
/** 1 - sigmoid(h + 2) = sigmoid(-(h + 2)): d log sigmoid(u) / du at u = h + 2 */
const dLogSigmoid = (b: TorchBackend, h: T) => b.fast(FAST.sigmoid, op.neg_(op.addS(h, 2)));

/** Glow's LU weight: L' = strict_lower(L), U'' = strict_upper(U) + diag(sign exp(logs)), W = P (L' U'' + U'') */
function luWeight(
  b: TorchBackend,
  L: TensorInfo,
  U: TensorInfo,
  logs: TensorInfo,
  P: TensorInfo,
  sign: TensorInfo,
) {
  const Ls = op.tril(b.t(L), -1);
  const d = b.fast(FAST.mul, b.t(sign), b.fast(FAST.exp, b.t(logs)));
  const Up = op.add_(op.triu(b.t(U), 1), op.diagEmbed(d));
  const M = op.add_(op.mm(Ls, Up), Up);
  return { Ls, d, Up, M, W: op.mm(b.t(P), M) };
}

export const fusedFlowNormKernels: Record<string, Kernel> = {
  // ---- convolution + bias: the bias inside the convolution; all three gradients from one ATen call
  [FUSED_CONV.conv]: (b, { x, filter, bias }, a) => b.out(conv2d(b, x, filter, a, false, bias), 'float32'),
  [FUSED_CONV.convGrad]: (b, { dy, x, filter }, a) => conv2dGrads(b, x, filter, dy, a),

  // ---- SiLU
  [FUSED_NORM.silu]: (b, { x }) => b.out(b.fast(FAST.silu, b.t(x)), 'float32'),
  [FUSED_NORM.siluGrad]: (b, { dy, x }) => b.out(op.siluBackward(b.t(dy), b.t(x)), 'float32'),

  // ---- GroupNorm (+ SiLU) over NHWC, computed in NHWC (x seen as [n, hw, c]): per-channel sums over hw, then
  // over each group's channels. ATen 1.13's native_group_norm is 10-20x slower on channels_last input than on
  // NCHW (16x16x28x28: 10.4-10.9 vs 0.4-0.5 ms), its backward reads channels_last input as NCHW (wrong values),
  // and the NHWC <-> NCHW copies alone cost about as much as the whole NCHW kernel.
  [FUSED_NORM.groupNorm]: (b, { x, gamma, beta }, a) => {
    const { n, hw, c, G } = gnDims(x, a);
    const x3 = op.reshape(b.t(x), [n, hw, c]);
    const mean = groupMean(op.sum(x3, [1], false), n, G, c / G, hw); // [n, G]
    const d = op.sub(x3, perChannel(mean, n, G, c));
    const variance = groupMean(op.sum(op.mul(d, d), [1], false), n, G, c / G, hw);
    const rstd = op.rsqrt(op.addS(variance, a.eps));
    // y = beta + d rstd gamma (one pass)
    const scale = op.mul(perChannel(rstd, n, G, c), b.t(gamma));
    const y = op.reshape(op.addcmul(b.t(beta), d, scale), x.shape);
    const outs = [b.out(a.silu ? b.fast(FAST.silu, y) : y, 'float32'), b.out(mean, 'float32')];
    outs.push(b.out(rstd, 'float32'));
    if (a.silu) outs.push(b.out(y, 'float32'));
    return outs;
  },
  // xhat = (x - mu) rstd, g = dy gamma, per group of m = hw c/G values: dx = rstd (g - mean(g) - xhat mean(g xhat)),
  // dgamma = sum_{n,hw} dy xhat, dbeta = sum_{n,hw} dy. Only two passes read dy and x: the per-(n, c) sums
  // S1 = sum_hw dy and S2 = sum_hw dy x give every group sum (sum_hw dy xhat = rstd (S2 - mu S1)); then
  // dx = A dy + B x + C with A = rstd gamma, B = -rstd^2 sum(g xhat) / m, C = -rstd sum(g) / m - mu B.
  [FUSED_NORM.groupNormGrad]: (b, { dy, x, gamma, mean, rstd, y }, a) => {
    const { n, hw, c, G } = gnDims(x, a);
    const cg = c / G;
    let dout = b.t(dy);
    if (a.silu) dout = op.siluBackward(dout, b.t(y!));
    const dy3 = op.reshape(dout, [n, hw, c]);
    const x3 = op.reshape(b.t(x), [n, hw, c]);
    const S1 = op.sum(dy3, [1], false); // [n, c]
    const S2 = op.sum(op.mul(dy3, x3), [1], false);
    const [mu, rs] = [b.t(mean), b.t(rstd)]; // [n, G]
    const muC = op.reshape(perChannel(mu, n, G, c), [n, c]);
    const rsC = op.reshape(perChannel(rs, n, G, c), [n, c]);
    const gt = b.t(gamma);
    const Sxhat = op.mul_(op.sub_(S2, op.mul(muC, S1)), rsC); // sum_hw dy xhat, [n, c]
    const dgamma = op.sum(Sxhat, [0], false);
    const dbeta = op.sum(S1, [0], false);
    const meanG = groupMean(op.mul(S1, gt), n, G, cg, hw); // mean(g) per group, [n, G]
    const meanGx = groupMean(op.mul_(Sxhat, gt), n, G, cg, hw); // mean(g xhat)
    const B = op.neg_(op.mul_(op.mul(rs, rs), meanGx));
    const C = op.sub_(op.neg_(op.mul_(meanG, rs)), op.mul(mu, B));
    const A = op.reshape(op.mul(rsC, gt), [n, 1, c]); // not in place: rsC may be an expanded view
    const dx = op.addcmul_(op.addcmul(perChannel(C, n, G, c), perChannel(B, n, G, c), x3), A, dy3);
    return [b.out(op.reshape(dx, x.shape), 'float32'), b.out(dgamma, 'float32'), b.out(dbeta, 'float32')];
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

  // ---- Glow's invertible 1x1 convolution, LU-parameterized: y = x W^T over the last axis
  [FUSED_INVCONV.invConv]: (b, { x, L, U, logs, P, sign }) => {
    const C = L.shape[0]!;
    const { W } = luWeight(b, L, U, logs, P, sign);
    return b.out(op.reshape(op.mm(op.reshape(b.t(x), [-1, C]), op.t(W)), x.shape), 'float32');
  },
  [FUSED_INVCONV.invConvGrad]: (b, { dy, x, L, U, logs, P, sign }) => {
    const C = L.shape[0]!;
    const { Ls, d, Up, W } = luWeight(b, L, U, logs, P, sign);
    const dy2 = op.reshape(b.t(dy), [-1, C]);
    const dx = op.reshape(op.mm(dy2, W), x.shape);
    const dM = op.mm(op.t(b.t(P)), op.mm(op.t(dy2), op.reshape(b.t(x), [-1, C])));
    const dL = op.tril(op.mm(dM, op.t(Up)), -1);
    const dUp = op.add_(op.mm(op.t(Ls), dM), dM);
    const dlogs = b.fast(FAST.mul, op.contiguous(op.diagonal(dUp)), d);
    return [
      b.out(dx, 'float32'),
      b.out(dL, 'float32'),
      b.out(op.triu(dUp, 1), 'float32'),
      b.out(dlogs, 'float32'),
    ];
  },
  [FUSED_INVCONV.logDet]: (b, { logs }, a) => {
    const s = op.mulS(op.sum(b.t(logs), [0], true), a.positions);
    return b.out(op.repeat(s, [a.n]), 'float32');
  },
  [FUSED_INVCONV.logDetGrad]: (b, { dy, logs }, a) => {
    const s = op.mulS(op.sum(b.t(dy), [0], true), a.positions);
    return b.out(op.repeat(s, [logs.shape[0]!]), 'float32');
  },

  // ---- the gradient of a sum for each term: views of dy (one native tensor each, the same memory)
  [FUSED_SUM.fanOut]: (b, { dy }, a) =>
    Array.from({ length: a.n as number }, () => b.out(op.alias(b.t(dy)), 'float32')),
};

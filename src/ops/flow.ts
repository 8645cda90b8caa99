// Fused ops of Glow's flow steps (src/families/flows/actnorm.ts, coupling.ts) with hand-written gradients.
// On a backend that registers the kernels (torch: src/backend/torch/kernels-fused.ts) each direction is one
// kernel; elsewhere the composite below runs as plain tfjs ops and autodiff differentiates it.
// test/ops/flow.test.ts checks the fused forms against the composite, values and gradients.
import * as tf from '@tensorflow/tfjs-core';

export const FUSED_FLOW = {
  /** {x, bias, logs} -> (x + bias) exp(logs) */
  actNorm: 'GenmodelsActNorm',
  /** {dy, x, bias, logs} -> [dx, dbias, dlogs] */
  actNormGrad: 'GenmodelsActNormGrad',
  /** {x, h, t, inv} -> x exp(s) + t inv,  s = inv log sigmoid(h + 2) */
  coupling: 'GenmodelsSigmoidCoupling',
  /** {dy, x, h, inv} -> [dx, dh, dt] */
  couplingGrad: 'GenmodelsSigmoidCouplingGrad',
  /** {h, inv} -> per-example sum of inv log sigmoid(h + 2) */
  couplingLogDet: 'GenmodelsSigmoidCouplingLogDet',
  /** {dy, h, inv} -> dh */
  couplingLogDetGrad: 'GenmodelsSigmoidCouplingLogDetGrad',
} as const;

const fused = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;
const run = (name: string, inputs: tf.NamedTensorMap) => tf.engine().runKernel(name, inputs);

/**
 * ActNorm (Kingma & Dhariwal 2018, sec. 3.1, table 1): y = (x + bias) exp(logs), per channel (last axis).
 * Gradients: dx = dy exp(logs), dbias = sum dx, dlogs = sum dy y (sums over every axis but the last).
 */
export function actNorm(x: tf.Tensor, bias: tf.Tensor, logs: tf.Tensor): tf.Tensor {
  if (x.dtype !== 'float32' || !fused(FUSED_FLOW.actNorm))
    return tf.tidy(() => tf.mul(tf.add(x, bias), tf.exp(logs)));
  const f = tf.customGrad((xi: tf.Tensor | tf.GradSaveFunc, b, l, save) => {
    const [xt, bt, lt] = [xi as tf.Tensor, b as tf.Tensor, l as tf.Tensor];
    (save as tf.GradSaveFunc)([xt, bt, lt]);
    return {
      value: run(FUSED_FLOW.actNorm, { x: xt, bias: bt, logs: lt }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [xs, bs, ls]: tf.Tensor[]) =>
        run(FUSED_FLOW.actNormGrad, { dy: dy as tf.Tensor, x: xs!, bias: bs!, logs: ls! }) as tf.Tensor[],
    };
  }) as (x: tf.Tensor, b: tf.Tensor, l: tf.Tensor) => tf.Tensor;
  return f(x, bias, logs);
}

/** s = inv log sigmoid(h + 2) = -inv softplus(-(h + 2)): Glow's scale (its code), masked */
function logScale(h: tf.Tensor, inv: tf.Tensor): tf.Tensor {
  return tf.mul(tf.neg(tf.softplus(tf.neg(tf.add(h, 2)))), inv);
}

/**
 * Affine coupling with Glow's sigmoid scale (RealNVP eq. 9 with exp(s) = sigmoid(h + 2)), given the net's raw
 * scale output h and shift t and the mask complement inv = 1 - b: y = x exp(s) + t inv, s = inv log sigmoid(h + 2)
 * (the kept part, b x, is x itself: exp(s) = 1 there). Gradients: dx = dy exp(s),
 * dh = dy x exp(s) inv sigmoid(-(h + 2)), dt = dy inv. `inv` is a constant (no gradient).
 */
export function sigmoidCoupling(x: tf.Tensor, h: tf.Tensor, t: tf.Tensor, inv: tf.Tensor): tf.Tensor {
  if (x.dtype !== 'float32' || !fused(FUSED_FLOW.coupling))
    return tf.tidy(() => tf.add(tf.mul(x, tf.exp(logScale(h, inv))), tf.mul(t, inv)));
  const f = tf.customGrad((xi: tf.Tensor | tf.GradSaveFunc, hi, ti, save) => {
    const [xt, ht, tt] = [xi as tf.Tensor, hi as tf.Tensor, ti as tf.Tensor];
    (save as tf.GradSaveFunc)([xt, ht, inv]);
    return {
      value: run(FUSED_FLOW.coupling, { x: xt, h: ht, t: tt, inv }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [xs, hs, is]: tf.Tensor[]) =>
        run(FUSED_FLOW.couplingGrad, { dy: dy as tf.Tensor, x: xs!, h: hs!, inv: is! }) as tf.Tensor[],
    };
  }) as (x: tf.Tensor, h: tf.Tensor, t: tf.Tensor) => tf.Tensor;
  return f(x, h, t);
}

/**
 * log|det| of sigmoidCoupling per example: sum over every axis but the first of s = inv log sigmoid(h + 2).
 * Gradient: dh = dy[n] inv sigmoid(-(h + 2)).
 */
export function sigmoidCouplingLogDet(h: tf.Tensor, inv: tf.Tensor): tf.Tensor1D {
  if (h.dtype !== 'float32' || !fused(FUSED_FLOW.couplingLogDet))
    return tf.tidy(() => tf.sum(tf.reshape(logScale(h, inv), [h.shape[0]!, -1]), 1) as tf.Tensor1D);
  const f = tf.customGrad((hi: tf.Tensor | tf.GradSaveFunc, save) => {
    const ht = hi as tf.Tensor;
    (save as tf.GradSaveFunc)([ht, inv]);
    return {
      value: run(FUSED_FLOW.couplingLogDet, { h: ht, inv }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [hs, is]: tf.Tensor[]) =>
        run(FUSED_FLOW.couplingLogDetGrad, { dy: dy as tf.Tensor, h: hs!, inv: is! }) as tf.Tensor,
    };
  }) as (h: tf.Tensor) => tf.Tensor;
  return f(h) as tf.Tensor1D;
}

export const FUSED_INVCONV = {
  /** {x, L, U, logs, P, sign} -> y = x W^T along the last axis, W = P (L' + I)(U' + diag(sign exp(logs))) */
  invConv: 'GenmodelsInvConv1x1',
  /** {dy, x, L, U, logs, P, sign} -> [dx, dL, dU, dlogs] */
  invConvGrad: 'GenmodelsInvConv1x1Grad',
  /** {logs} -> [n] filled with positions * sum(logs) (channelLogDet) */
  logDet: 'GenmodelsChannelLogDet',
  /** {dy, logs} -> dlogs = positions * sum(dy), one per channel */
  logDetGrad: 'GenmodelsChannelLogDetGrad',
} as const;

/** The LU factors of Glow's invertible 1x1 convolution: L and U are masked to their strict triangles here. */
export interface LuFactors {
  L: tf.Tensor;
  U: tf.Tensor;
  logs: tf.Tensor;
  /** fixed permutation matrix (no gradient) */
  P: tf.Tensor;
  /** fixed signs of U's diagonal (no gradient) */
  sign: tf.Tensor;
}

/** W = P (L' + I)(U' + diag(sign exp(logs))), L' / U' the strict lower / upper triangles (Glow eq. 10) */
export function luWeight({ L, U, logs, P, sign }: LuFactors): tf.Tensor2D {
  return tf.tidy(() => {
    const C = L.shape[0]!;
    const eye = tf.eye(C);
    const lower = tf.sub(tf.linalg.bandPart(tf.ones([C, C]), -1, 0), eye);
    const Lp = tf.add(tf.mul(L, lower), eye);
    // diag(v) as I * v (tfjs has no gradient for Diag)
    const Up = tf.add(tf.mul(U, tf.transpose(lower)), tf.mul(eye, tf.mul(sign, tf.exp(logs))));
    return tf.matMul(P as tf.Tensor2D, tf.matMul(Lp as tf.Tensor2D, Up as tf.Tensor2D));
  });
}

/** y = x W^T along the last axis (a 1x1 convolution of an NHWC image, or a linear map of vectors) */
export function mixChannels(x: tf.Tensor, w: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [-1, w.shape[1]]), w, false, true), x.shape));
}

/**
 * Glow's invertible 1x1 convolution with the LU-parameterized weight (Kingma & Dhariwal 2018, sec. 3.2,
 * eq. 10): y = x W^T along the last axis. With M = (L' + I) U'', W = P M: dx = dy W, dW = dy^T x,
 * dM = P^T dW, dL = strict_lower(dM U''^T), dU'' = (L' + I)^T dM, dU = strict_upper(dU''),
 * dlogs = diag(dU'') sign exp(logs). P and sign are constants.
 */
export function invConv1x1(x: tf.Tensor, f: LuFactors): tf.Tensor {
  if (x.dtype !== 'float32' || !fused(FUSED_INVCONV.invConv))
    return tf.tidy(() => mixChannels(x, luWeight(f)));
  const { P, sign } = f;
  const g = tf.customGrad((xi: tf.Tensor | tf.GradSaveFunc, Li, Ui, li, save) => {
    const [xt, Lt, Ut, lt] = [xi as tf.Tensor, Li as tf.Tensor, Ui as tf.Tensor, li as tf.Tensor];
    (save as tf.GradSaveFunc)([xt, Lt, Ut, lt, P, sign]);
    return {
      value: run(FUSED_INVCONV.invConv, { x: xt, L: Lt, U: Ut, logs: lt, P, sign }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [xs, Ls, Us, ls, Ps, ss]: tf.Tensor[]) =>
        run(FUSED_INVCONV.invConvGrad, {
          dy: dy as tf.Tensor,
          x: xs!,
          L: Ls!,
          U: Us!,
          logs: ls!,
          P: Ps!,
          sign: ss!,
        }) as tf.Tensor[],
    };
  }) as (x: tf.Tensor, L: tf.Tensor, U: tf.Tensor, logs: tf.Tensor) => tf.Tensor;
  return g(x, f.L, f.U, f.logs);
}

/**
 * log|det| of a per-channel log-scale `logs` applied at every one of `positions` positions, for a batch of n:
 * positions * sum(logs) for every example (Glow table 1: ActNorm, and the invertible 1x1 convolution's LU form)
 */
export function channelLogDet(logs: tf.Tensor, n: number, positions: number): tf.Tensor1D {
  if (!fused(FUSED_INVCONV.logDet))
    return tf.tidy(() => tf.add(tf.zeros([n]), tf.mul(tf.sum(logs), positions)) as tf.Tensor1D);
  const attrs = { n, positions };
  const g = tf.customGrad((li: tf.Tensor | tf.GradSaveFunc, save) => {
    const lt = li as tf.Tensor;
    (save as tf.GradSaveFunc)([lt]);
    return {
      value: tf.engine().runKernel(FUSED_INVCONV.logDet, { logs: lt }, attrs) as tf.Tensor,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [ls]: tf.Tensor[]) =>
        tf
          .engine()
          .runKernel(FUSED_INVCONV.logDetGrad, { dy: dy as tf.Tensor, logs: ls! }, attrs) as tf.Tensor,
    };
  }) as (l: tf.Tensor) => tf.Tensor;
  return g(logs) as tf.Tensor1D;
}

export const FUSED_SUM = {
  /** {dy} -> n tensors equal to dy (the gradient of a sum for each of its n same-shape terms) */
  fanOut: 'GenmodelsFanOut',
} as const;

/**
 * The sum of tensors (a flow's per-transform log-dets). For same-shape float32 terms: one AddN forward, and
 * backward one kernel that hands dy to every term (tfjs's add chain makes an Add each way plus a Reshape per
 * term); terms of other shapes are added with broadcasting.
 */
export function sumAll(xs: tf.Tensor[]): tf.Tensor {
  if (xs.length === 0) throw new Error('sumAll: no terms');
  if (xs.length === 1) return tf.clone(xs[0]!);
  const first = xs[0]!;
  if (xs.some((x) => !tf.util.arraysEqual(x.shape, first.shape)))
    return tf.tidy(() => xs.reduce((a, b) => tf.add(a, b))); // broadcasting terms
  if (!fused(FUSED_SUM.fanOut) || xs.some((x) => x.dtype !== 'float32')) return tf.addN(xs);
  const n = xs.length;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.addN(args.slice(0, n) as tf.Tensor[]),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) =>
      tf.engine().runKernel(FUSED_SUM.fanOut, { dy: dy as tf.Tensor }, { n }) as tf.Tensor[],
  })) as (...xs: tf.Tensor[]) => tf.Tensor;
  return f(...xs);
}

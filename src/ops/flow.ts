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

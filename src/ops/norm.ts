// Fused normalization and activation ops of the denoisers (src/families/diffusion/layers.ts): SiLU and
// GroupNorm (optionally followed by SiLU) with hand-written gradients. On a backend that registers the
// kernels (torch: src/backend/torch/kernels-fused.ts) each direction is one kernel; elsewhere the composite
// below runs as plain tfjs ops and autodiff differentiates it. test/ops/norm.test.ts checks the fused forms
// against the composite, values and gradients.
import * as tf from '@tensorflow/tfjs-core';

export const FUSED_NORM = {
  /** {x} -> x sigmoid(x) */
  silu: 'GenmodelsSilu',
  /** {dy, x} -> dy sigmoid(x) (1 + x (1 - sigmoid(x))) */
  siluGrad: 'GenmodelsSiluGrad',
  /** {x, gamma, beta}, attrs {groups, eps, silu} -> [out, mean, rstd] (+ the pre-activation y with silu) */
  groupNorm: 'GenmodelsGroupNorm',
  /** {dy, x, gamma, mean, rstd (, y)}, same attrs -> [dx, dgamma, dbeta] */
  groupNormGrad: 'GenmodelsGroupNormGrad',
} as const;

const fused = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;
const run = (name: string, inputs: tf.NamedTensorMap, attrs?: tf.NamedAttrMap) =>
  tf.engine().runKernel(name, inputs, attrs);

const siluFused = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, save) => {
  const t = x as tf.Tensor;
  (save as tf.GradSaveFunc)([t]);
  return {
    value: run(FUSED_NORM.silu, { x: t }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], [xs]: tf.Tensor[]) =>
      run(FUSED_NORM.siluGrad, { dy: dy as tf.Tensor, x: xs! }) as tf.Tensor,
  };
}) as (x: tf.Tensor) => tf.Tensor;

/** SiLU / swish x sigmoid(x) (Elfwing et al. 2018; Ramachandran et al. 2017). */
export function silu(x: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && fused(FUSED_NORM.silu)) return siluFused(x);
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** The composite GroupNorm over NHWC (Wu & He 2018, eq. 1-3), and SiLU after it when `act`. */
export function groupNormComposite(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  eps: number,
  act: boolean,
): tf.Tensor {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const xg = tf.reshape(x, [n, h * w, groups, c / groups]);
    const { mean, variance } = tf.moments(xg, [1, 3], true);
    const xn = tf.reshape(tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, eps))), [n, h, w, c]);
    const y = tf.add(tf.mul(xn, gamma), beta);
    return act ? tf.mul(y, tf.sigmoid(y)) : y;
  });
}

/**
 * GroupNorm over NHWC x [n, h, w, c] with per-channel gamma, beta [c]: statistics per example and group of
 * c / groups consecutive channels (Wu & He 2018, eq. 1-3); `act`: SiLU of the result.
 * Gradients (xhat = (x - mu) rstd over a group of m values, g = dy gamma):
 *   dx = rstd (g - mean(g) - xhat mean(g xhat)),  dgamma = sum_{n,h,w} dy xhat,  dbeta = sum_{n,h,w} dy.
 */
export function groupNorm(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  opts: { eps?: number; act?: boolean } = {},
): tf.Tensor {
  const eps = opts.eps ?? 1e-5;
  const act = opts.act ?? false;
  if (x.rank !== 4 || x.dtype !== 'float32' || !fused(FUSED_NORM.groupNorm))
    return groupNormComposite(x, gamma, beta, groups, eps, act);
  const attrs = { groups, eps, silu: act };
  const f = tf.customGrad((xi: tf.Tensor | tf.GradSaveFunc, g, b, save) => {
    const outs = run(
      FUSED_NORM.groupNorm,
      { x: xi as tf.Tensor, gamma: g as tf.Tensor, beta: b as tf.Tensor },
      attrs,
    ) as tf.Tensor[];
    const [out, mean, rstd, y] = outs;
    (save as tf.GradSaveFunc)(
      act
        ? [xi as tf.Tensor, g as tf.Tensor, mean!, rstd!, y!]
        : [xi as tf.Tensor, g as tf.Tensor, mean!, rstd!],
    );
    return {
      value: out!,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, gs, ms, rs, ys] = saved;
        const inputs: tf.NamedTensorMap = { dy: dy as tf.Tensor, x: xs!, gamma: gs!, mean: ms!, rstd: rs! };
        if (ys) inputs.y = ys;
        return run(FUSED_NORM.groupNormGrad, inputs, attrs) as tf.Tensor[];
      },
    };
  }) as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  return f(x, gamma, beta);
}

// U and D: the library's diffusion U-Net (src/families/diffusion/unet.ts + layers.ts) as the ddpm-mnist
// recipe builds it (28x28x1, channels 16/32/32, GroupNorm with 8 groups, SiLU, sinusoidal time embedding of
// width 16 -> MLP 64, self-attention at 7x7), with weights set from the shared seeds so bench/reference.py
// (UNetRef) builds the same network:
//   U = one L_simple training step (Ho et al. 2020 eq. 14) on a fixed batch: loss = mean (net(x_t, t) - eps)^2,
//       x_t, eps and t fixed (uniform [-1, 1), standard normal, integers in 1..1000), backward, the library's Adam;
//   D = DDIM sampling (Song et al. 2021, eta = 0, 10 steps of a T = 1000 linear schedule, x_0hat clipped to
//       [-1, 1]) of 16 images with the library's sampler (src/families/diffusion/samplers.ts), from fixed x_T.
// Weights, in the order of their sorted names, get Rng(PARAM_SEED + i): kernels (2u - 1) / sqrt(fan-in),
// biases and GroupNorm betas 0.1 (2u - 1), GroupNorm gammas 1 + 0.1 (2u - 1).
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../src/core/rng.js';
import { ADAM_DEFAULTS, Adam } from '../src/train/optim.js';
import { UNet } from '../src/families/diffusion/unet.js';
import { NoiseSchedule } from '../src/families/diffusion/schedule.js';
import { ddimSample } from '../src/families/diffusion/samplers.js';

export const U_ARCH = {
  batch: 16,
  size: 28,
  channels: [16, 32, 32],
  attention: true,
  T: 1000,
  ddimSteps: 10,
};
const DATA_SEED = 1;
const EPS_SEED = 2;
const T_SEED = 3;
const PARAM_SEED = 1000;

function uniforms(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.next();
  return out;
}
function normals(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** The U-Net with its weights set from the shared seeds. */
export function makeUnet(): UNet {
  const { size: S, channels, attention } = U_ARCH;
  const net = new UNet([S, S, 1], channels, attention, 0, new Rng(0));
  const names = [...net.variables.keys()].sort();
  names.forEach((name, i) => {
    const v = net.variables.get(name)!;
    const u = uniforms(PARAM_SEED + i, v.size);
    const last = name.split('.').pop();
    const fanIn = v.size / v.shape[v.rank - 1]!;
    const vals = u.map((x) =>
      last === 'w'
        ? (2 * x - 1) / Math.sqrt(fanIn)
        : last === 'gamma'
          ? 1 + 0.1 * (2 * x - 1)
          : 0.1 * (2 * x - 1),
    );
    tf.tidy(() => v.assign(tf.tensor(vals, v.shape)));
  });
  return net;
}

/** U: one training step; returns the loss (caller disposes). */
export function makeUnetStep(): { name: string; step: () => tf.Scalar; dispose: () => void } {
  const { batch: B, size: S } = U_ARCH;
  const net = makeUnet();
  const n = B * S * S;
  const xt = tf.tensor(
    uniforms(DATA_SEED, n).map((u) => 2 * u - 1),
    [B, S, S, 1],
  );
  const eps = tf.tensor(normals(EPS_SEED, n), [B, S, S, 1]);
  const t = tf.tensor1d(uniforms(T_SEED, B).map((u) => 1 + Math.floor(u * U_ARCH.T)));
  const vars = [...net.variables.values()];
  const opt = new Adam(new Map(vars.map((v) => [v.name, v])), { ...ADAM_DEFAULTS });
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.squaredDifference(net.apply(xt, t as tf.Tensor1D, null), eps)) as tf.Scalar,
        vars,
      );
      opt.apply(new Map(Object.entries(grads)), ADAM_DEFAULTS.lr);
      return value;
    });
  return {
    name: 'U',
    step,
    dispose: () => {
      opt.dispose();
      tf.dispose([xt, eps, t, ...vars]);
    },
  };
}

/** D: one DDIM sampling run of U_ARCH.batch images; returns the mean of the samples (caller disposes). */
export function makeDdim(): { name: string; step: () => tf.Scalar; dispose: () => void } {
  const { batch: B, size: S, T, ddimSteps } = U_ARCH;
  const net = makeUnet();
  const sched = new NoiseSchedule(T, 'linear');
  const xT = tf.tensor(normals(EPS_SEED, B * S * S), [B, S, S, 1]);
  const eps = (x: tf.Tensor, ti: number) =>
    net.apply(x, tf.fill([x.shape[0]!], (ti * 1000) / T) as tf.Tensor1D, null);
  const step = () =>
    tf.tidy(() => {
      const x0 = ddimSample(sched, eps, {
        shape: [B, S, S, 1],
        steps: ddimSteps,
        seed: 0,
        eta: 0,
        init: xT,
        clip: [-1, 1],
      });
      return tf.mean(x0) as tf.Scalar;
    });
  return {
    name: 'D',
    step,
    dispose: () => tf.dispose([xT, ...net.variables.values()]),
  };
}

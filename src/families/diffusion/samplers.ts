// Samplers, given any predictor (a trained network, or a closed-form one in the tests):
//   ancestral DDPM (Ho et al. 2020, Algorithm 2 / eq. 11), on S <= T evenly spaced steps via respacing
//     (Nichol & Dhariwal 2021 sec. 4): x_s ~ N(muTilde(x_0hat, x_t), sigma^2), sigma^2 = betaTilde (fixed-small)
//     or beta_{t|s} (fixed-large), x_0hat = (x_t - sqrt(1 - alphaBar_t) eps) / sqrt(alphaBar_t);
//   DDIM (Song et al. 2021, eq. 12 with sigma from eq. 16):
//     x_s = sqrt(alphaBar_s) x_0hat + sqrt(1 - alphaBar_s - sigma^2) eps + sigma z,
//     sigma = eta sqrt((1 - alphaBar_s) / (1 - alphaBar_t)) sqrt(1 - alphaBar_t / alphaBar_s); eta = 0: deterministic;
//   Euler and Heun integration of the flow-matching ODE dx/dt = v(x, t) from t = 0 (noise) to 1 (data)
//     (Lipman et al. 2023 sec. 2; Liu et al. 2023 eq. 1; Heun's second-order step as in Karras et al. 2022 Alg. 1).
// Every step checks the iterate for NaN/Inf and names the step where it appeared.
import * as tf from '@tensorflow/tfjs-core';
import type { SampleOptions } from '../../core/model.js';
import { Rng } from '../../core/rng.js';
import { NonFiniteSampleError } from '../../train/types.js';
import type { NoiseSchedule } from './schedule.js';

/** eps-hat(x_t, t) for all rows at one integer time t in 1..T */
export type EpsFn = (x: tf.Tensor, t: number) => tf.Tensor;
/** v-hat(x_t, t) for all rows at one time t in [0, 1] */
export type VelocityFn = (x: tf.Tensor, t: number) => tf.Tensor;

export interface SamplerOptions {
  /** [n, ...data shape] */
  shape: number[];
  steps: number;
  seed: number;
  /** the starting noise x_T (or x_0 of a flow); drawn from N(0, I) with `seed` when absent */
  init?: tf.Tensor;
  /** clip x_0hat to this range at every step (images in [-1, 1], Ho et al.'s sampler) */
  clip?: [number, number] | null;
  onStep?: (i: number, total: number) => void;
  /** the state x_t at the start (i = 0) and after step i (SampleOptions.onState) */
  onState?: SampleOptions['onState'];
}

/** The S sampling times tau_1 < ... < tau_S = T (tau_i = round(i T / S)), with tau_0 = 0 in front. */
export function timesteps(T: number, S: number): number[] {
  const tau = [0];
  for (let i = 1; i <= S; i++) tau.push(Math.round((i * T) / S));
  return tau;
}

function checkFinite(x: tf.Tensor, i: number, total: number, what: string): void {
  const bad = tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(x)), 'int32')).dataSync()[0]!);
  if (bad > 0)
    throw new NonFiniteSampleError(
      `${what}: ${bad} of ${x.size} values are NaN/Inf after sampling step ${i} of ${total}; nothing written`,
    );
}

function start(o: SamplerOptions, rng: Rng): tf.Tensor {
  return o.init ? tf.clone(o.init) : tf.randomNormal(o.shape, 0, 1, 'float32', rng.nextSeed());
}

/** x_0hat from eps-hat: x_0 = (x_t - sqrt(1 - alphaBar_t) eps) / sqrt(alphaBar_t), optionally clipped. */
function x0From(
  sched: NoiseSchedule,
  x: tf.Tensor,
  eps: tf.Tensor,
  t: number,
  clip?: [number, number] | null,
) {
  const ab = sched.alphaBar[t]!;
  const x0 = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - ab))), Math.sqrt(ab));
  return clip ? tf.clipByValue(x0, clip[0], clip[1]) : x0;
}

/** one iterative loop: x <- step(x, i) for i = 1..total, with tidy, the finiteness check and progress */
function iterate(
  x0: tf.Tensor,
  total: number,
  what: string,
  o: Pick<SamplerOptions, 'onStep' | 'onState'>,
  step: (x: tf.Tensor, i: number) => tf.Tensor,
): tf.Tensor {
  let x = x0;
  const { onStep, onState } = o;
  try {
    onState?.(0, total, () => tf.clone(x));
    for (let i = 1; i <= total; i++) {
      const next = tf.tidy(() => step(x, i));
      x.dispose();
      x = next;
      checkFinite(x, i, total, what);
      onStep?.(i, total);
      onState?.(i, total, () => tf.clone(x));
    }
    return x;
  } catch (e) {
    x.dispose();
    throw e;
  }
}

/** Ancestral DDPM sampling on S = opts.steps respaced steps (S = T: Ho et al. Algorithm 2). */
export function ddpmSample(
  sched: NoiseSchedule,
  eps: EpsFn,
  opts: SamplerOptions & { variance: 'small' | 'large' },
): tf.Tensor {
  const rng = new Rng(opts.seed);
  const tau = timesteps(sched.T, opts.steps);
  const S = opts.steps;
  return iterate(start(opts, rng), S, 'DDPM sampling', opts, (x, i) => {
    const [t, s] = [tau[S - i + 1]!, tau[S - i]!];
    const x0 = x0From(sched, x, eps(x, t), t, opts.clip);
    const p = sched.posterior(s, t);
    const mean = tf.add(tf.mul(x0, p.coefX0), tf.mul(x, p.coefXt));
    if (s === 0) return mean;
    const sigma = Math.sqrt(opts.variance === 'small' ? p.variance : p.beta);
    return tf.add(mean, tf.mul(tf.randomNormal(x.shape, 0, 1, 'float32', rng.nextSeed()), sigma));
  });
}

/** DDIM sampling on S = opts.steps steps with stochasticity eta (0: deterministic given x_T). */
export function ddimSample(
  sched: NoiseSchedule,
  eps: EpsFn,
  opts: SamplerOptions & { eta: number },
): tf.Tensor {
  const rng = new Rng(opts.seed);
  const tau = timesteps(sched.T, opts.steps);
  const S = opts.steps;
  return iterate(start(opts, rng), S, 'DDIM sampling', opts, (x, i) => {
    const [t, s] = [tau[S - i + 1]!, tau[S - i]!];
    const e = eps(x, t);
    const x0 = x0From(sched, x, e, t, opts.clip);
    const [abT, abS] = [sched.alphaBar[t]!, sched.alphaBar[s]!];
    const sigma = opts.eta * Math.sqrt((1 - abS) / (1 - abT)) * Math.sqrt(1 - abT / abS);
    let out = tf.add(tf.mul(x0, Math.sqrt(abS)), tf.mul(e, Math.sqrt(Math.max(0, 1 - abS - sigma * sigma))));
    if (sigma > 0 && s > 0)
      out = tf.add(out, tf.mul(tf.randomNormal(x.shape, 0, 1, 'float32', rng.nextSeed()), sigma));
    return out;
  });
}

/** Euler or Heun integration of dx/dt = v(x, t), t from 0 to 1 in N = opts.steps equal steps. */
export function odeSample(v: VelocityFn, opts: SamplerOptions & { method: 'euler' | 'heun' }): tf.Tensor {
  const rng = new Rng(opts.seed);
  const N = opts.steps;
  const h = 1 / N;
  const what = `${opts.method === 'euler' ? 'Euler' : 'Heun'} sampling`;
  return iterate(start(opts, rng), N, what, opts, (x, i) => {
    const t = (i - 1) * h;
    const k1 = v(x, t);
    const xe = tf.add(x, tf.mul(k1, h));
    if (opts.method === 'euler') return xe;
    const k2 = v(xe, t + h);
    return tf.add(x, tf.mul(tf.add(k1, k2), h / 2));
  });
}

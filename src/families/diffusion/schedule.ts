// The forward (noising) process of a diffusion model, kept apart from any network (as diffusers keeps its
// schedulers apart from its models). Ho et al. 2020 ("Denoising Diffusion Probabilistic Models"):
//   q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)                                   (eq. 2)
//   q(x_t | x_0)     = N(sqrt(alphaBar_t) x_0, (1 - alphaBar_t) I),  alpha_t = 1 - beta_t,
//                      alphaBar_t = prod_{s<=t} alpha_s                                         (eq. 4)
//   q(x_{t-1} | x_t, x_0) = N(muTilde_t, betaTilde_t I),                                        (eq. 6, 7)
//     muTilde_t = sqrt(alphaBar_{t-1}) beta_t / (1 - alphaBar_t) x_0
//               + sqrt(alpha_t) (1 - alphaBar_{t-1}) / (1 - alphaBar_t) x_t,
//     betaTilde_t = (1 - alphaBar_{t-1}) / (1 - alphaBar_t) beta_t.
// The posterior between any two times s < t (respaced sampling, Nichol & Dhariwal 2021 sec. 4) is the same
// formula with alpha_{t|s} = alphaBar_t / alphaBar_s in place of alpha_t.
// Schedules: linear (Ho et al. sec. 4: 1e-4 .. 0.02 for T = 1000, scaled by 1000/T for other T as in
// Nichol & Dhariwal's code) and cosine (Nichol & Dhariwal 2021, eq. 17:
//   alphaBar_t = f(t)/f(0), f(t) = cos(((t/T + s)/(1 + s)) pi/2)^2, beta_t = min(1 - alphaBar_t/alphaBar_{t-1}, 0.999)).
// Arrays are indexed by t = 0..T; index 0 is the data itself (beta_0 = 0, alphaBar_0 = 1).
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/model.js';

export type BetaSchedule = 'linear' | 'cosine';

/** beta_1..beta_T of the linear schedule (index 0 unused, 0). */
export function linearBetas(T: number, beta1 = 1e-4, betaT = 0.02): Float64Array {
  const scale = 1000 / T;
  const [b1, bT] = [Math.min(scale * beta1, 0.999), Math.min(scale * betaT, 0.999)];
  const beta = new Float64Array(T + 1);
  for (let t = 1; t <= T; t++) beta[t] = T === 1 ? bT : b1 + ((bT - b1) * (t - 1)) / (T - 1);
  return beta;
}

/** beta_1..beta_T of the cosine schedule (Nichol & Dhariwal 2021, eq. 17; s = 0.008). */
export function cosineBetas(T: number, s = 0.008): Float64Array {
  const f = (t: number) => Math.cos((((t / T + s) / (1 + s)) * Math.PI) / 2) ** 2;
  const beta = new Float64Array(T + 1);
  for (let t = 1; t <= T; t++) beta[t] = Math.min(1 - f(t) / f(t - 1), 0.999);
  return beta;
}

/** Coefficients of q(x_s | x_t, x_0) = N(coefX0 x_0 + coefXt x_t, variance I), 0 <= s < t. */
export interface PosteriorCoefs {
  coefX0: number;
  coefXt: number;
  variance: number;
  /** beta_{t|s} = 1 - alphaBar_t / alphaBar_s (the "fixed-large" variance of the step) */
  beta: number;
}

export class NoiseSchedule {
  readonly beta: Float64Array;
  readonly alpha: Float64Array;
  readonly alphaBar: Float64Array;

  constructor(
    readonly T: number,
    readonly kind: BetaSchedule,
  ) {
    if (!Number.isInteger(T) || T < 1) throw new UserError(`T must be an integer >= 1 (got ${T})`);
    this.beta = kind === 'linear' ? linearBetas(T) : cosineBetas(T);
    this.alpha = this.beta.map((b) => 1 - b);
    this.alphaBar = new Float64Array(T + 1);
    this.alphaBar[0] = 1;
    for (let t = 1; t <= T; t++) this.alphaBar[t] = this.alphaBar[t - 1]! * this.alpha[t]!;
  }

  /** q(x_t | x_0) = N(mean x_0, variance): eq. 4 */
  marginal(t: number): { mean: number; variance: number } {
    const ab = this.alphaBar[t]!;
    return { mean: Math.sqrt(ab), variance: 1 - ab };
  }

  /** q(x_s | x_t, x_0) for s < t (eq. 6, 7 when s = t - 1). */
  posterior(s: number, t: number): PosteriorCoefs {
    if (!(0 <= s && s < t && t <= this.T))
      throw new Error(`posterior needs 0 <= s < t <= T (s=${s}, t=${t})`);
    const abT = this.alphaBar[t]!;
    const abS = this.alphaBar[s]!;
    const beta = 1 - abT / abS;
    return {
      coefX0: (Math.sqrt(abS) * beta) / (1 - abT),
      coefXt: (Math.sqrt(abT / abS) * (1 - abS)) / (1 - abT),
      variance: ((1 - abS) / (1 - abT)) * beta,
      beta,
    };
  }

  /**
   * Variance of p(x_s | x_t) for a step t -> s: 'small' = betaTilde, 'large' = beta (Ho et al. sec. 3.2).
   * For the last step (s = 0) betaTilde is 0; both then use the posterior variance of the step above it,
   * t -> tNext (default t + 1), as Nichol & Dhariwal's code does (posterior_log_variance_clipped), so the
   * decoder p(x_0 | x_1) has a width.
   */
  stepVariance(s: number, t: number, which: 'small' | 'large', tNext = t + 1): number {
    if (s === 0) return tNext <= this.T ? this.posterior(t, tNext).variance : this.beta[t]!;
    const p = this.posterior(s, t);
    return which === 'small' ? p.variance : p.beta;
  }

  /** per-example values arr[t] as a tensor [n, 1, ..., 1] that broadcasts against x of `rank` */
  gather(arr: ArrayLike<number>, t: tf.Tensor1D, rank: number): tf.Tensor {
    return tf.tidy(() => {
      const v = tf.gather(tf.tensor1d(Float32Array.from(arr)), tf.cast(t, 'int32'));
      return tf.reshape(v, [t.shape[0], ...new Array<number>(rank - 1).fill(1)]);
    });
  }

  /** x_t = sqrt(alphaBar_t) x_0 + sqrt(1 - alphaBar_t) eps, t [n] integers in 1..T (eq. 4, reparameterized) */
  qSample(x0: tf.Tensor, t: tf.Tensor1D, eps: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const sqrtAb = this.gather(this.alphaBar.map(Math.sqrt), t, x0.rank);
      const sqrt1mAb = this.gather(
        this.alphaBar.map((a) => Math.sqrt(1 - a)),
        t,
        x0.rank,
      );
      return tf.add(tf.mul(sqrtAb, x0), tf.mul(sqrt1mAb, eps));
    });
  }
}

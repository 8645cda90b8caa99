// Vector quantization (van den Oord et al. 2017, "Neural Discrete Representation Learning", sec. 3.1-3.2 and
// appendix A.1), on rows z_e [N, D] of encoder outputs and a codebook e [K, D]:
//   k(z) = argmin_j ||z - e_j||^2, z_q = e_k                              (eqs. 1-2: the nearest code)
//   straight-through: z_st = z_e + sg(z_q - z_e): forward z_q, backward dL/dz_e = dL/dz_q  (sec. 3.2)
//   codebook term ||sg(z_e) - e_k||^2, commitment term beta ||z_e - sg(e_k)||^2            (eq. 3)
//   EMA codebook (appendix A.1, eqs. 6-8), decay g, batch counts n_i and sums s_i = sum_{k(z)=i} z:
//     N_i <- g N_i + (1 - g) n_i,  m_i <- g m_i + (1 - g) s_i,  e_i = m_i / N~_i,
//     N~_i = (N_i + eps) / (sum_j N_j + K eps) sum_j N_j   (Laplace smoothing: no division by a zero count)
//   dead codes: a code no batch row chose for `restartAfter` consecutive steps is set to a random row z_e of the
//     batch (EMA state: m_i = z_e, N_i = 1), so that every code keeps being used.
// The EMA state (N, m) and the idle counters are non-trainable variables: checkpoints and resumes are exact.
import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from '../../distributions/index.js';
import type { Rng } from '../../core/rng.js';

export interface QuantizerOptions {
  /** 'ema': the codebook follows the EMA of its assigned encoder outputs; 'loss': it is trained by eq. 3 */
  codebook: 'ema' | 'loss';
  decay: number;
  /** Laplace smoothing epsilon of the EMA counts */
  epsilon: number;
  /** restart a code unused for this many consecutive training steps (0: never) */
  restartAfter: number;
}

export interface Quantized {
  /** nearest-code index per row, int32 [N] */
  idx: tf.Tensor1D;
  /** the chosen codes e_k [N, D] (no gradient to z_e) */
  zq: tf.Tensor2D;
  /** z_e + sg(z_q - z_e): the decoder's input; its gradient passes straight to z_e */
  zst: tf.Tensor2D;
  /** ||sg(z_e) - e_k||^2 and ||z_e - sg(e_k)||^2 per row [N] */
  codebookLoss: tf.Tensor1D;
  commitLoss: tf.Tensor1D;
}

export class VectorQuantizer {
  readonly variables = new Map<string, tf.Variable>();
  /** the variables the optimizer trains (the codebook when codebook = 'loss') */
  readonly trainable: tf.Variable[] = [];
  readonly codebook: tf.Variable;
  /** EMA counts N [K] and sums m [K, D] (codebook 'ema') */
  readonly emaCount: tf.Variable | null = null;
  readonly emaSum: tf.Variable | null = null;
  /** training steps since each code was last chosen [K] */
  readonly idle: tf.Variable;

  constructor(
    readonly K: number,
    readonly D: number,
    readonly opts: QuantizerOptions,
    rng: Rng,
    prefix: string,
  ) {
    const ema = opts.codebook === 'ema';
    // Sonnet's initialisation: uniform in +-sqrt(3) (unit variance); the encoder's outputs start near that scale
    const s = Math.sqrt(3);
    this.codebook = tf.tidy(() =>
      tf.variable(tf.randomUniform([K, D], -s, s, 'float32', rng.nextSeed()), !ema),
    );
    this.variables.set(`${prefix}.codebook`, this.codebook);
    if (ema) {
      this.emaCount = tf.tidy(() => tf.variable(tf.zeros([K]), false));
      this.emaSum = tf.tidy(() => tf.variable(this.codebook.clone(), false));
      this.variables.set(`${prefix}.emaCount`, this.emaCount);
      this.variables.set(`${prefix}.emaSum`, this.emaSum);
    } else this.trainable.push(this.codebook);
    this.idle = tf.tidy(() => tf.variable(tf.zeros([K]), false));
    this.variables.set(`${prefix}.idle`, this.idle);
  }

  /** squared distances ||z - e_j||^2 = ||z||^2 - 2 z.e_j + ||e_j||^2, [N, K] */
  distances(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const zz = tf.sum(tf.square(z), 1, true);
      const ee = tf.reshape(tf.sum(tf.square(this.codebook), 1), [1, this.K]);
      return tf.relu(
        tf.add(tf.sub(zz, tf.mul(2, tf.matMul(z, this.codebook, false, true))), ee),
      ) as tf.Tensor2D;
    });
  }

  /** the nearest code of each row (eq. 2), int32 [N] */
  nearest(z: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.argMin(this.distances(z), 1) as tf.Tensor1D);
  }

  /** codes e_k for indices [N] -> [N, D] */
  lookup(idx: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => tf.gather(this.codebook, tf.cast(idx, 'int32')) as tf.Tensor2D);
  }

  /** quantize rows z_e [N, D] (differentiable through the straight-through estimator and eq. 3's terms) */
  quantize(z: tf.Tensor2D): Quantized {
    return tf.tidy(() => {
      const idx = this.nearest(stopGradient(z) as tf.Tensor2D);
      // e_k as onehot(k) E: unlike gather, its gradient graph has no integer-valued input gradient to refuse;
      // it reaches the codebook (codebook 'loss')
      const e = tf.matMul(tf.cast(tf.oneHot(idx, this.K), 'float32'), this.codebook) as tf.Tensor2D;
      const zq = stopGradient(e) as tf.Tensor2D;
      const zst = tf.add(z, stopGradient(tf.sub(zq, z))) as tf.Tensor2D;
      const codebookLoss = tf.sum(tf.square(tf.sub(stopGradient(z), e)), 1) as tf.Tensor1D;
      const commitLoss = tf.sum(tf.square(tf.sub(z, zq)), 1) as tf.Tensor1D;
      return { idx, zq, zst, codebookLoss, commitLoss };
    });
  }

  /** code usage of a batch: fraction of codes chosen at least once and the perplexity exp(H(counts / N)) */
  static usage(idx: tf.Tensor1D, K: number): { used: tf.Scalar; perplexity: tf.Scalar } {
    return tf.tidy(() => {
      const counts = tf.sum(tf.cast(tf.oneHot(tf.cast(idx, 'int32'), K), 'float32'), 0);
      const p = tf.div(counts, idx.shape[0]);
      const H = tf.neg(tf.sum(tf.mul(p, tf.log(tf.maximum(p, 1e-12)))));
      return {
        used: tf.mean(tf.cast(tf.greater(counts, 0), 'float32')) as tf.Scalar,
        perplexity: tf.exp(H) as tf.Scalar,
      };
    });
  }

  /**
   * One training step's codebook update from the batch rows z (no gradient) and their codes idx: the EMA
   * update (codebook 'ema'), then the restart of codes idle for restartAfter steps, each to the batch row
   * picked with `seed`. Returns the number of codes restarted.
   */
  update(z: tf.Tensor2D, idx: tf.Tensor1D, seed: number): tf.Scalar {
    return tf.tidy(() => {
      const { K } = this;
      const zs = stopGradient(z) as tf.Tensor2D;
      const onehot = tf.cast(tf.oneHot(tf.cast(idx, 'int32'), K), 'float32'); // [N, K]
      const n = tf.sum(onehot, 0); // [K]
      const idle = tf.where(tf.greater(n, 0), tf.zerosLike(n), tf.add(this.idle, 1));
      let codebook: tf.Tensor = this.codebook;
      let count: tf.Tensor | null = null;
      let sum: tf.Tensor | null = null;
      if (this.emaCount && this.emaSum) {
        const g = this.opts.decay;
        const eps = this.opts.epsilon;
        count = tf.add(tf.mul(g, this.emaCount), tf.mul(1 - g, n));
        sum = tf.add(tf.mul(g, this.emaSum), tf.mul(1 - g, tf.matMul(onehot, zs, true, false)));
        const total = tf.sum(count);
        const smoothed = tf.mul(tf.div(tf.add(count, eps), tf.add(total, K * eps)), total);
        codebook = tf.div(sum, tf.reshape(smoothed, [K, 1]));
      }
      let restarted = tf.scalar(0);
      let newIdle = idle;
      if (this.opts.restartAfter > 0) {
        const dead = tf.greaterEqual(idle, this.opts.restartAfter); // [K]
        const rows = tf.cast(
          tf.floor(tf.randomUniform([K], 0, zs.shape[0] * (1 - 1e-7), 'float32', seed)),
          'int32',
        );
        const fresh = tf.gather(zs, rows); // [K, D]
        const dead2 = tf.reshape(dead, [K, 1]);
        codebook = tf.where(tf.broadcastTo(dead2, [K, this.D]), fresh, codebook);
        if (count && sum) {
          count = tf.where(dead, tf.onesLike(count), count);
          sum = tf.where(tf.broadcastTo(dead2, [K, this.D]), fresh, sum);
        }
        newIdle = tf.where(dead, tf.zerosLike(idle), idle);
        restarted = tf.sum(tf.cast(dead, 'float32'));
      }
      this.idle.assign(newIdle);
      if (count && sum) {
        this.emaCount!.assign(count);
        this.emaSum!.assign(sum);
      }
      if (codebook !== this.codebook) this.codebook.assign(codebook);
      return restarted as tf.Scalar;
    });
  }
}

// Discretized logistic likelihoods for 8-bit images (Salimans et al. 2017, PixelCNN++, sec. 2.1), for
// x in [0,1] on the grid x_k = k / (L - 1), k = 0..L-1, with bin half-width h = 1 / (2 (L - 1)):
//   P(x_k) = sigma((x_k + h - mu)/s) - sigma((x_k - h - mu)/s)   for 0 < k < L-1
//   P(x_0) = sigma((x_0 + h - mu)/s),  P(x_{L-1}) = 1 - sigma((x_{L-1} - h - mu)/s)   (edge bins take the tails)
// The interior difference is computed in log space without cancellation:
//   sigma(a) - sigma(b) = sigma(a) sigma(-b) (1 - e^{-(a-b)}),  a - b = 2h/s > 0.
import * as tf from '@tensorflow/tfjs-core';
import {
  broadcastShape,
  log1mexp,
  logSigmoid,
  nextSeed,
  stopGradient,
  uniformOpen,
  type Distribution,
} from './util.js';

export interface DiscretizedOptions {
  /** lower clamp on log s (PixelCNN++ uses -7); -Infinity for none */
  minLogScale?: number;
}

export class DiscretizedLogistic implements Distribution {
  readonly shape: number[];
  /** the clamped log scale actually used */
  readonly logScale: tf.Tensor;
  constructor(
    readonly mu: tf.Tensor,
    logScale: tf.Tensor,
    readonly levels = 256,
    opts: DiscretizedOptions = {},
  ) {
    const minLogScale = opts.minLogScale ?? -7;
    this.logScale = Number.isFinite(minLogScale) ? tf.maximum(logScale, minLogScale) : logScale;
    this.shape = broadcastShape(mu, logScale);
  }

  private get halfBin(): number {
    return 0.5 / (this.levels - 1);
  }

  /** Elementwise log P(x) for x on the grid k / (levels - 1). */
  logProb(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = this.halfBin;
      const invS = tf.exp(tf.neg(this.logScale));
      const c = tf.sub(x, this.mu);
      const a = tf.mul(tf.add(c, h), invS); // upper bin edge, standardized
      const b = tf.mul(tf.sub(c, h), invS); // lower bin edge, standardized
      const logCdfPlus = logSigmoid(a); // log P(X <= x + h)
      const logSfMin = logSigmoid(tf.neg(b)); // log P(X > x - h)
      const mid = tf.add(tf.add(logCdfPlus, logSfMin), log1mexp(tf.mul(invS, 2 * h)));
      const xb = tf.broadcastTo(x, broadcastShape(x, mid));
      return tf.where(tf.less(xb, h), logCdfPlus, tf.where(tf.greater(xb, 1 - h), logSfMin, mid));
    });
  }

  /** Logistic sample, clipped to [0,1] and rounded to the grid (exactly the distribution above). */
  sample(seed: number): tf.Tensor {
    return tf.tidy(() => {
      const u = uniformOpen(this.shape, seed);
      const y = tf.add(this.mu, tf.mul(tf.exp(this.logScale), tf.sub(tf.log(u), tf.log1p(tf.neg(u)))));
      const k = tf.round(tf.mul(tf.clipByValue(y, 0, 1), this.levels - 1));
      return stopGradient(tf.div(k, this.levels - 1));
    });
  }

  /**
   * Mean in closed form. E[x] = sum_{k=1}^{L-1} (x_k - x_{k-1}) P(X >= x_k) = D sum_k f((k - 1/2) D), with
   * D = 1/(L-1) and f(t) = sigmoid((mu - t)/s): the midpoint rule for int_0^1 f(t) dt, whose value is
   * s [softplus(mu/s) - softplus((mu - 1)/s)]. The midpoint error is below min(D/2, D^2/(48 s)), i.e. under
   * half a level, and under 1e-4 once s >= D. meanExact() computes the sum.
   */
  mean(): tf.Tensor {
    return tf.tidy(() => {
      const s = tf.exp(this.logScale);
      const invS = tf.exp(tf.neg(this.logScale));
      const hi = tf.softplus(tf.mul(this.mu, invS));
      const lo = tf.softplus(tf.mul(tf.sub(this.mu, 1), invS));
      return tf.broadcastTo(tf.mul(s, tf.sub(hi, lo)), this.shape);
    });
  }

  /** The exact mean by the sum over the grid (L - 1 passes; slower than mean()). */
  meanExact(): tf.Tensor {
    return tf.tidy(() => {
      const L = this.levels;
      const h = this.halfBin;
      const mu = tf.broadcastTo(this.mu, this.shape);
      const invS = tf.broadcastTo(tf.exp(tf.neg(this.logScale)), this.shape);
      let acc: tf.Tensor = tf.zeros(this.shape);
      for (let k = 1; k < L; k++) {
        const next = tf.tidy(() => tf.add(acc, tf.sigmoid(tf.mul(tf.sub(mu, k / (L - 1) - h), invS))));
        acc.dispose();
        acc = next;
      }
      return tf.div(acc, L - 1);
    });
  }
}

/**
 * Mixture of K discretized logistics per value (PixelCNN++ eq. 2, without the channel coupling):
 * logitProbs, mu, logScale have shape [..., K]; values x have shape [...].
 */
export class MixtureDiscretizedLogistic implements Distribution {
  readonly numComponents: number;
  constructor(
    readonly logitProbs: tf.Tensor,
    readonly mu: tf.Tensor,
    readonly logScale: tf.Tensor,
    readonly levels = 256,
    readonly opts: DiscretizedOptions = {},
  ) {
    this.numComponents = logitProbs.shape[logitProbs.rank - 1]!;
  }

  /** Split a network output [..., 3K] into (logitProbs, mu, logScale) along the last axis. */
  static fromParams(
    params: tf.Tensor,
    levels = 256,
    opts: DiscretizedOptions = {},
  ): MixtureDiscretizedLogistic {
    const k3 = params.shape[params.rank - 1]!;
    if (k3 % 3 !== 0) throw new Error(`MixtureDiscretizedLogistic: last axis ${k3} is not 3K`);
    const [logitProbs, mu, logScale] = tf.split(params, 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    return new MixtureDiscretizedLogistic(logitProbs, mu, logScale, levels, opts);
  }

  private components(): DiscretizedLogistic {
    return new DiscretizedLogistic(this.mu, this.logScale, this.levels, this.opts);
  }

  /** log sum_k pi_k P_k(x), elementwise over x [...]. */
  logProb(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const logPi = tf.logSoftmax(this.logitProbs, -1);
      const lp = this.components().logProb(tf.expandDims(x, -1));
      return tf.logSumExp(tf.add(logPi, lp), -1);
    });
  }

  /** Pick a component by Gumbel-max, then sample it. Shape [...]. */
  sample(seed: number): tf.Tensor {
    return tf.tidy(() => {
      const g = tf.randomUniform(this.logitProbs.shape, 1e-7, 1, 'float32', seed);
      const idx = tf.argMax(tf.sub(this.logitProbs, tf.log(tf.neg(tf.log(g)))), -1);
      const sel = tf.oneHot(idx, this.numComponents);
      const mu = tf.sum(tf.mul(sel, this.mu), -1);
      const logScale = tf.sum(tf.mul(sel, this.logScale), -1);
      return new DiscretizedLogistic(mu, logScale, this.levels, this.opts).sample(nextSeed(seed));
    });
  }

  /** sum_k pi_k E_k[x]. */
  mean(): tf.Tensor {
    return tf.tidy(() => tf.sum(tf.mul(tf.softmax(this.logitProbs, -1), this.components().mean()), -1));
  }
}

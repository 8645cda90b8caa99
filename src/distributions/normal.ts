// Diagonal Gaussian N(mu, sigma^2) parameterized by log sigma (or log sigma^2 via fromLogVar).
import * as tf from '@tensorflow/tfjs-core';
import { batchRandomNormal } from '../distributed/rows.js';
import { broadcastShape, stopGradient, type Distribution } from './util.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export class Normal implements Distribution {
  readonly shape: number[];
  constructor(
    readonly mu: tf.Tensor,
    readonly logScale: tf.Tensor,
  ) {
    this.shape = broadcastShape(mu, logScale);
  }

  /** N(mu, exp(logVar)): logScale = logVar / 2 (the VAE encoder's parameterization). */
  static fromLogVar(mu: tf.Tensor, logVar: tf.Tensor): Normal {
    return new Normal(mu, tf.mul(logVar, 0.5));
  }

  /** N(0, I) of the given shape. */
  static standard(shape: number[]): Normal {
    return new Normal(tf.zeros(shape), tf.zeros(shape));
  }

  /** log N(x; mu, sigma^2) = -((x - mu) / sigma)^2 / 2 - log sigma - log(2 pi) / 2, elementwise. */
  logProb(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const z = tf.mul(tf.sub(x, this.mu), tf.exp(tf.neg(this.logScale)));
      return tf.sub(tf.sub(tf.mul(tf.square(z), -0.5), this.logScale), HALF_LOG_2PI);
    });
  }

  /** Reparameterized sample (Kingma & Welling 2014, eq. 10): mu + sigma * eps, eps ~ N(0, I). */
  rsample(seed: number): tf.Tensor {
    return tf.tidy(() => {
      const eps = batchRandomNormal(this.shape, 0, 1, seed); // split-invariant under data-parallel training
      return tf.add(this.mu, tf.mul(tf.exp(this.logScale), eps));
    });
  }

  sample(seed: number): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(seed)));
  }

  mean(): tf.Tensor {
    return tf.tidy(() => tf.broadcastTo(this.mu, this.shape));
  }

  variance(): tf.Tensor {
    return tf.tidy(() => tf.broadcastTo(tf.exp(tf.mul(this.logScale, 2)), this.shape));
  }

  /** H = 1/2 + log(2 pi)/2 + log sigma, elementwise. */
  entropy(): tf.Tensor {
    return tf.tidy(() => tf.broadcastTo(tf.add(this.logScale, 0.5 + HALF_LOG_2PI), this.shape));
  }

  /**
   * KL(this || other), elementwise:
   * log(sigma2 / sigma1) + (sigma1^2 + (mu1 - mu2)^2) / (2 sigma2^2) - 1/2.
   */
  kl(other: Normal): tf.Tensor {
    return tf.tidy(() => {
      const varRatio = tf.exp(tf.mul(tf.sub(this.logScale, other.logScale), 2));
      const t = tf.square(tf.mul(tf.sub(this.mu, other.mu), tf.exp(tf.neg(other.logScale))));
      return tf.add(tf.sub(other.logScale, this.logScale), tf.sub(tf.mul(tf.add(varRatio, t), 0.5), 0.5));
    });
  }
}

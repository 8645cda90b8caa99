// Logistic distribution: density sigmoid'((x - mu)/s) / s, cdf sigmoid((x - mu)/s).
import * as tf from '@tensorflow/tfjs-core';
import { broadcastShape, softplus, stopGradient, uniformOpen, type Distribution } from './util.js';

export class Logistic implements Distribution {
  readonly shape: number[];
  constructor(
    readonly mu: tf.Tensor,
    readonly logScale: tf.Tensor,
  ) {
    this.shape = broadcastShape(mu, logScale);
  }

  /** log p(x) = -z - log s - 2 softplus(-z), z = (x - mu) / s. */
  logProb(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const z = tf.mul(tf.sub(x, this.mu), tf.exp(tf.neg(this.logScale)));
      return tf.sub(tf.sub(tf.neg(z), this.logScale), tf.mul(softplus(tf.neg(z)), 2));
    });
  }

  /** Reparameterized sample by inverse cdf: mu + s (log u - log(1 - u)), u ~ U(0, 1). */
  rsample(seed: number): tf.Tensor {
    return tf.tidy(() => {
      const u = uniformOpen(this.shape, seed);
      return tf.add(this.mu, tf.mul(tf.exp(this.logScale), tf.sub(tf.log(u), tf.log1p(tf.neg(u)))));
    });
  }

  sample(seed: number): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(seed)));
  }

  cdf(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.sigmoid(tf.mul(tf.sub(x, this.mu), tf.exp(tf.neg(this.logScale)))));
  }

  mean(): tf.Tensor {
    return tf.tidy(() => tf.broadcastTo(this.mu, this.shape));
  }

  /** H = log s + 2, elementwise. */
  entropy(): tf.Tensor {
    return tf.tidy(() => tf.broadcastTo(tf.add(this.logScale, 2), this.shape));
  }
}

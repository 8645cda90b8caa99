// Categorical over the last axis of `logits` [..., K]; values are class indices of shape [...].
import * as tf from '@tensorflow/tfjs-core';
import type { Distribution } from './util.js';

export class Categorical implements Distribution {
  readonly numClasses: number;
  constructor(readonly logits: tf.Tensor) {
    if (logits.rank < 1) throw new Error('Categorical: logits need a class axis');
    this.numClasses = logits.shape[logits.rank - 1]!;
  }

  /** log softmax(logits) along the class axis. */
  logProbs(): tf.Tensor {
    return tf.logSoftmax(this.logits, -1);
  }

  probs(): tf.Tensor {
    return tf.softmax(this.logits, -1);
  }

  /** log p(x) for integer classes x of shape logits.shape[:-1]; returns that shape. */
  logProb(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const onehot = tf.oneHot(tf.cast(x, 'int32'), this.numClasses);
      return tf.sum(tf.mul(onehot, this.logProbs()), -1);
    });
  }

  /** Gumbel-max: argmax(logits - log(-log u)); int32 classes of shape logits.shape[:-1]. */
  sample(seed: number): tf.Tensor {
    return tf.tidy(() => {
      const u = tf.randomUniform(this.logits.shape, 1e-7, 1, 'float32', seed);
      return tf.argMax(tf.sub(this.logits, tf.log(tf.neg(tf.log(u)))), -1);
    });
  }

  /** The expected one-hot vector, i.e. the class probabilities [..., K]. */
  mean(): tf.Tensor {
    return this.probs();
  }

  /** H = -sum_k p_k log p_k, shape [...]. */
  entropy(): tf.Tensor {
    return tf.tidy(() => {
      const lp = this.logProbs();
      return tf.neg(tf.sum(tf.mul(tf.exp(lp), lp), -1));
    });
  }

  /** KL(this || other) = sum_k p_k (log p_k - log q_k), shape [...]. */
  kl(other: Categorical): tf.Tensor {
    return tf.tidy(() => {
      const lp = this.logProbs();
      return tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, other.logProbs())), -1);
    });
  }
}

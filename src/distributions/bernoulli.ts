// Bernoulli(sigmoid(logits)), in softplus forms: log p(x) = -x softplus(-l) - (1 - x) softplus(l)
// = -(softplus(l) - l x), the negative sigmoid cross-entropy (one fused op: src/ops/fused.ts).
import * as tf from '@tensorflow/tfjs-core';
import { sigmoidCrossEntropy } from '../ops/fused.js';
import { softplus, type Distribution } from './util.js';

export class Bernoulli implements Distribution {
  constructor(readonly logits: tf.Tensor) {}

  /** Elementwise log-mass of x in {0,1} (for x in [0,1]: the negative binary cross-entropy). */
  logProb(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.neg(sigmoidCrossEntropy(this.logits, x)));
  }

  /** x = 1 where u < sigmoid(l), u ~ U[0,1). float32 0/1 values. */
  sample(seed: number): tf.Tensor {
    return tf.tidy(() => {
      const u = tf.randomUniform(this.logits.shape, 0, 1, 'float32', seed);
      return tf.cast(tf.less(u, tf.sigmoid(this.logits)), 'float32');
    });
  }

  probs(): tf.Tensor {
    return tf.sigmoid(this.logits);
  }

  mean(): tf.Tensor {
    return tf.sigmoid(this.logits);
  }

  /** H = p softplus(-l) + (1 - p) softplus(l). */
  entropy(): tf.Tensor {
    return tf.tidy(() => {
      const p = tf.sigmoid(this.logits);
      return tf.add(tf.mul(p, softplus(tf.neg(this.logits))), tf.mul(tf.sub(1, p), softplus(this.logits)));
    });
  }

  /** KL(this || other) = p (sp(-l2) - sp(-l1)) + (1 - p) (sp(l2) - sp(l1)), p = sigmoid(l1). */
  kl(other: Bernoulli): tf.Tensor {
    return tf.tidy(() => {
      const [l1, l2] = [this.logits, other.logits];
      const p = tf.sigmoid(l1);
      const a = tf.sub(softplus(tf.neg(l2)), softplus(tf.neg(l1)));
      const b = tf.sub(softplus(l2), softplus(l1));
      return tf.add(tf.mul(p, a), tf.mul(tf.sub(1, p), b));
    });
  }
}

// Squeeze (RealNVP sec. 3.6, Fig. 3): each 2x2xC block of an NHWC image becomes a 1x1x4C position,
// [n, H, W, C] -> [n, H/2, W/2, 4C]. A permutation of the entries, so log|det| = 0. Channel order of the
// output: (row in block, column in block, channel).
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardResult, InverseResult, Transform } from './transform.js';

export class Squeeze implements Transform {
  readonly variables = new Map<string, tf.Variable>();

  forward(x: tf.Tensor): ForwardResult {
    return tf.tidy(() => {
      const [n, H, W, C] = x.shape as [number, number, number, number];
      const r = tf.reshape(x, [n, H / 2, 2, W / 2, 2, C]);
      const y = tf.reshape(tf.transpose(r, [0, 1, 3, 2, 4, 5]), [n, H / 2, W / 2, 4 * C]);
      return { y, logDet: tf.zeros([n]) as tf.Tensor1D };
    });
  }

  inverse(y: tf.Tensor): InverseResult {
    return tf.tidy(() => {
      const [n, h, w, c4] = y.shape as [number, number, number, number];
      const r = tf.reshape(y, [n, h, w, 2, 2, c4 / 4]);
      const x = tf.reshape(tf.transpose(r, [0, 1, 3, 2, 4, 5]), [n, 2 * h, 2 * w, c4 / 4]);
      return { x, logDet: tf.zeros([n]) as tf.Tensor1D };
    });
  }
}

// Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs", §3.2): lets the
// discriminator look at a whole minibatch, so that a generator collapsing to one point is easy to detect.
//   f(x_i) in R^A (intermediate discriminator features), T in R^{A x B x C}:
//   M_i = f(x_i) T in R^{B x C};  c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1);
//   o(x_i)_b = sum_{j != i} c_b(x_i, x_j)  (the paper sums over all j; the j = i term is the constant 1);
//   output [f(x_i), o(x_i)] in R^{A + B}.
// When the batch collapses (x_i = x_j for all i, j), every o(x_i)_b reaches its maximum n - 1.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import type { Module } from '../latent/init.js';

export class MinibatchDiscrimination implements Module {
  readonly variables = new Map<string, tf.Variable>();
  private readonly T: tf.Variable;

  /** inDim A, `kernels` B, `kernelDim` C */
  constructor(
    readonly inDim: number,
    readonly kernels: number,
    readonly kernelDim: number,
    rng: Rng,
    prefix: string,
  ) {
    // small init: at the start the L1 distances are O(1) so c_b is neither 0 nor 1 everywhere
    const std = 1 / Math.sqrt(inDim);
    this.T = tf.variable(
      tf.tidy(() => tf.randomNormal([inDim, kernels * kernelDim], 0, std, 'float32', rng.nextSeed())),
    );
    this.variables.set(`${prefix}.T`, this.T);
  }

  get outDim(): number {
    return this.inDim + this.kernels;
  }

  /** only the minibatch features o(x) [n, B] */
  similarity(f: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const n = f.shape[0];
      const M = tf.reshape(tf.matMul(f, this.T as tf.Tensor2D), [n, this.kernels, this.kernelDim]);
      // [n, 1, B, C] - [1, n, B, C] -> L1 over C -> [n, n, B]
      const l1 = tf.sum(tf.abs(tf.sub(tf.expandDims(M, 1), tf.expandDims(M, 0))), 3);
      return tf.sub(tf.sum(tf.exp(tf.neg(l1)), 1), 1) as tf.Tensor2D; // minus the j = i term exp(0)
    });
  }

  /** f [n, A] -> [f, o(f)] [n, A + B] */
  apply(f: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => tf.concat([f, this.similarity(f as tf.Tensor2D)], 1) as tf.Tensor2D);
  }
}

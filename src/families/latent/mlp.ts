// Multi-layer perceptron: h_{l+1} = act(h_l W_l + b_l), last layer linear.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { activate, initFor, initWeight, zeros, type Activation, type Module } from './init.js';

export class MLP implements Module {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: { w: tf.Variable; b: tf.Variable }[] = [];

  /** sizes = [in, hidden..., out]; the output layer is linear (Glorot init) unless actLast. */
  constructor(
    sizes: number[],
    private readonly act: Activation,
    rng: Rng,
    prefix: string,
    private readonly actLast = false,
  ) {
    for (let l = 0; l + 1 < sizes.length; l++) {
      const last = l + 2 === sizes.length;
      const [fanIn, fanOut] = [sizes[l]!, sizes[l + 1]!];
      const init = last && !actLast ? 'glorot' : initFor(act);
      const w = initWeight([fanIn, fanOut], fanIn, fanOut, init, rng);
      const b = zeros([fanOut]);
      this.layers.push({ w, b });
      this.variables.set(`${prefix}.${l}.w`, w);
      this.variables.set(`${prefix}.${l}.b`, b);
    }
  }

  /** x: [n, in] -> [n, out] */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = x as tf.Tensor2D;
      this.layers.forEach(({ w, b }, l) => {
        h = tf.add(tf.matMul(h, w as tf.Tensor2D), b);
        if (l + 1 < this.layers.length || this.actLast) h = activate(h, this.act) as tf.Tensor2D;
      });
      return h;
    });
  }
}

// Energy networks E_theta(x) -> [n] for the deep EBM. Swish units, x * sigmoid(x) (Ramachandran et al. 2017),
// as in Grathwohl et al. (2019) / Du & Mordatch (2019): smooth, so the SGLD gradient dE/dx is smooth too.
//   MLP (vectors):  x -> dense + swish ... -> dense -> scalar
//   Conv (images):  x -conv 3x3 s1-> c1 swish -conv 4x4 s2-> c2 swish -conv 4x4 s2-> c2 swish -> flatten -> dense -> scalar
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { initWeight, zeros } from '../latent/init.js';

export interface EnergyNet {
  readonly variables: Map<string, tf.Variable>;
  /** x [n, ...shape] -> E(x) [n] */
  apply(x: tf.Tensor): tf.Tensor1D;
}

export function swish(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

export class MlpEnergy implements EnergyNet {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: { w: tf.Variable; b: tf.Variable }[] = [];
  constructor(inDim: number, hidden: number[], rng: Rng) {
    const sizes = [inDim, ...hidden, 1];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const [fanIn, fanOut] = [sizes[l]!, sizes[l + 1]!];
      const w = initWeight([fanIn, fanOut], fanIn, fanOut, l + 2 === sizes.length ? 'glorot' : 'he', rng);
      const b = zeros([fanOut]);
      this.layers.push({ w, b });
      this.variables.set(`energy.${l}.w`, w).set(`energy.${l}.b`, b);
    }
  }
  apply(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      let h: tf.Tensor = tf.reshape(x, [x.shape[0]!, -1]);
      this.layers.forEach(({ w, b }, l) => {
        h = tf.add(tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D), b);
        if (l + 1 < this.layers.length) h = swish(h);
      });
      return tf.reshape(h, [-1]) as tf.Tensor1D;
    });
  }
}

export class ConvEnergy implements EnergyNet {
  readonly variables = new Map<string, tf.Variable>();
  private readonly convs: { w: tf.Variable; b: tf.Variable; stride: number }[] = [];
  private readonly head: { w: tf.Variable; b: tf.Variable };
  constructor(shape: number[], channels: [number, number], rng: Rng) {
    const [Hh, Ww, C] = shape as [number, number, number];
    const spec: [number, number, number, number][] = [
      [3, C, channels[0], 1],
      [4, channels[0], channels[1], 2],
      [4, channels[1], channels[1], 2],
    ];
    spec.forEach(([k, cin, cout, stride], l) => {
      const w = initWeight([k, k, cin, cout], k * k * cin, k * k * cout, 'he', rng);
      const b = zeros([cout]);
      this.convs.push({ w, b, stride });
      this.variables.set(`energy.conv${l}.w`, w).set(`energy.conv${l}.b`, b);
    });
    const flatDim = Math.ceil(Hh / 4) * Math.ceil(Ww / 4) * channels[1];
    this.head = { w: initWeight([flatDim, 1], flatDim, 1, 'glorot', rng), b: zeros([1]) };
    this.variables.set('energy.head.w', this.head.w).set('energy.head.b', this.head.b);
  }
  apply(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      let h = x as tf.Tensor4D;
      for (const { w, b, stride } of this.convs)
        h = swish(tf.add(tf.conv2d(h, w as tf.Tensor4D, stride, 'same'), b)) as tf.Tensor4D;
      const f = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
      return tf.reshape(tf.add(tf.matMul(f, this.head.w as tf.Tensor2D), this.head.b), [-1]) as tf.Tensor1D;
    });
  }
}

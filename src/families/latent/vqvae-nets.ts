// The VQ-VAE's convolutional encoder and decoder (van den Oord et al. 2017, sec. 4.1, at MNIST scale):
//   encoder  x [H,W,C] -conv4 s2-> [H/2,W/2,c1] -conv4 s2-> [H/4,W/4,c2] -conv3 + residual-> -conv1-> z_e [H/4,W/4,D]
//   decoder  z_q [H/4,W/4,D] -conv3-> [H/4,W/4,c2] -residual conv3-> -deconv4 s2-> [H/2,W/2,c1] -deconv4 s2-> [H,W,C]
// ReLU between layers; the decoder's last layer is linear (one parameter of p(x|z_q) per data dimension).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { initWeight, zeros } from './init.js';

interface Layer {
  w: tf.Variable;
  b: tf.Variable;
}

function layer(
  vars: Map<string, tf.Variable>,
  name: string,
  shape: [number, number, number, number],
  fanIn: number,
  fanOut: number,
  rng: Rng,
  outC: number,
  linear = false,
): Layer {
  const w = initWeight(shape, fanIn, fanOut, linear ? 'glorot' : 'he', rng);
  const b = zeros([outC]);
  vars.set(`${name}.w`, w);
  vars.set(`${name}.b`, b);
  return { w, b };
}

function conv(x: tf.Tensor4D, l: Layer, stride: number): tf.Tensor4D {
  return tf.add(tf.conv2d(x, l.w as tf.Tensor4D, stride, 'same'), l.b) as tf.Tensor4D;
}

/** x [n, H, W, C] -> z_e [n, H/4, W/4, D] */
export class VqEncoder {
  readonly variables = new Map<string, tf.Variable>();
  private readonly l: Layer[];
  constructor(C: number, channels: [number, number], D: number, rng: Rng, prefix: string) {
    const [c1, c2] = channels;
    const v = this.variables;
    this.l = [
      layer(v, `${prefix}.0`, [4, 4, C, c1], 16 * C, 16 * c1, rng, c1),
      layer(v, `${prefix}.1`, [4, 4, c1, c2], 16 * c1, 16 * c2, rng, c2),
      layer(v, `${prefix}.res`, [3, 3, c2, c2], 9 * c2, 9 * c2, rng, c2),
      layer(v, `${prefix}.out`, [1, 1, c2, D], c2, D, rng, D, true),
    ];
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [l0, l1, res, out] = this.l as [Layer, Layer, Layer, Layer];
      let h: tf.Tensor4D = tf.relu(conv(x, l0, 2));
      h = tf.relu(conv(h, l1, 2));
      h = tf.relu(tf.add(h, conv(h, res, 1))) as tf.Tensor4D;
      return conv(h, out, 1);
    });
  }
}

/** z [n, h, w, D] -> decoder parameters [n, 4h, 4w, outC] */
export class VqDecoder {
  readonly variables = new Map<string, tf.Variable>();
  private readonly l: Layer[];
  constructor(D: number, channels: [number, number], outC: number, rng: Rng, prefix: string) {
    const [c1, c2] = channels;
    const v = this.variables;
    // conv2dTranspose filters are [k, k, out, in]
    this.l = [
      layer(v, `${prefix}.in`, [3, 3, D, c2], 9 * D, 9 * c2, rng, c2),
      layer(v, `${prefix}.res`, [3, 3, c2, c2], 9 * c2, 9 * c2, rng, c2),
      layer(v, `${prefix}.up0`, [4, 4, c1, c2], 16 * c2, 16 * c1, rng, c1),
      layer(v, `${prefix}.up1`, [4, 4, outC, c1], 16 * c1, 16 * outC, rng, outC, true),
    ];
  }
  apply(z: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [lin, res, up0, up1] = this.l as [Layer, Layer, Layer, Layer];
      const [n, h, w] = z.shape;
      let x: tf.Tensor4D = tf.relu(conv(z, lin, 1));
      x = tf.relu(tf.add(x, conv(x, res, 1))) as tf.Tensor4D;
      const c1 = up0.w.shape[2]!;
      x = tf.relu(
        tf.add(tf.conv2dTranspose(x, up0.w as tf.Tensor4D, [n, 2 * h, 2 * w, c1], 2, 'same'), up0.b),
      ) as tf.Tensor4D;
      const outC = up1.w.shape[2]!;
      return tf.add(
        tf.conv2dTranspose(x, up1.w as tf.Tensor4D, [n, 4 * h, 4 * w, outC], 2, 'same'),
        up1.b,
      ) as tf.Tensor4D;
    });
  }
}

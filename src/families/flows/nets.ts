// The small networks inside coupling layers: they compute the parameters (scale, shift, spline knots) of the
// transformed part from the kept part, so they need not be invertible (RealNVP sec. 3.3). The last layer starts
// at zero, so every coupling starts as the identity (Glow sec. 3.3). A class label enters as a learned
// per-unit bias of the first layer, e = onehot(y) W_c (conditional flows).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { initWeight } from '../latent/init.js';
import { variable } from './transform.js';
import { conv2dBias } from '../../ops/conv.js';

/** He-initialized weight; the tidy releases the initial tensor that initWeight leaves behind. */
export function heWeight(shape: number[], fanIn: number, fanOut: number, rng: Rng): tf.Variable {
  return tf.tidy(() => initWeight(shape, fanIn, fanOut, 'he', rng));
}

/** A zero-initialized variable. */
export function zeroVar(shape: number[]): tf.Variable {
  return variable(() => tf.zeros(shape));
}

/** MLP in -> hidden... -> out with ReLU, zero-initialized output layer, optional label bias. */
export class DenseNet {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: { w: tf.Variable; b: tf.Variable }[] = [];
  private readonly wc: tf.Variable | null;

  constructor(sizes: number[], numClasses: number, rng: Rng, prefix: string) {
    for (let l = 0; l + 1 < sizes.length; l++) {
      const [fanIn, fanOut] = [sizes[l]!, sizes[l + 1]!];
      const last = l + 2 === sizes.length;
      const w = last ? zeroVar([fanIn, fanOut]) : heWeight([fanIn, fanOut], fanIn, fanOut, rng);
      const b = zeroVar([fanOut]);
      this.layers.push({ w, b });
      this.variables.set(`${prefix}.${l}.w`, w);
      this.variables.set(`${prefix}.${l}.b`, b);
    }
    this.wc = numClasses > 0 ? heWeight([numClasses, sizes[1]!], numClasses, sizes[1]!, rng) : null;
    if (this.wc) this.variables.set(`${prefix}.cond.w`, this.wc);
  }

  /** x [n, in] (+ cond [n, C]) -> [n, out] */
  apply(x: tf.Tensor, cond?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x as tf.Tensor2D;
      this.layers.forEach(({ w, b }, l) => {
        h = tf.add(tf.matMul(h, w as tf.Tensor2D), b);
        if (l === 0 && this.wc && cond) h = tf.add(h, tf.matMul(cond, this.wc as tf.Tensor2D));
        if (l + 1 < this.layers.length) h = tf.relu(h);
      });
      return h;
    });
  }
}

/**
 * Glow's coupling network (Kingma & Dhariwal 2018, sec. 3.3): conv3x3 -> ReLU -> conv1x1 -> ReLU -> conv3x3
 * (zero init), 'same' padding, NHWC. [n, H, W, inC] -> [n, H, W, outC].
 */
export class ConvNet {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: { w: tf.Variable; b: tf.Variable }[] = [];
  private readonly wc: tf.Variable | null;

  constructor(inC: number, hidden: number, outC: number, numClasses: number, rng: Rng, prefix: string) {
    const specs: [number, number, number, boolean][] = [
      [3, inC, hidden, false],
      [1, hidden, hidden, false],
      [3, hidden, outC, true],
    ];
    specs.forEach(([k, ci, co, last], l) => {
      const w = last ? zeroVar([k, k, ci, co]) : heWeight([k, k, ci, co], k * k * ci, k * k * co, rng);
      const b = zeroVar([co]);
      this.layers.push({ w, b });
      this.variables.set(`${prefix}.${l}.w`, w);
      this.variables.set(`${prefix}.${l}.b`, b);
    });
    this.wc = numClasses > 0 ? heWeight([numClasses, hidden], numClasses, hidden, rng) : null;
    if (this.wc) this.variables.set(`${prefix}.cond.w`, this.wc);
  }

  apply(x: tf.Tensor, cond?: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = x as tf.Tensor4D;
      this.layers.forEach(({ w, b }, l) => {
        h = conv2dBias(h, w as tf.Tensor4D, b as tf.Tensor1D, 1, 'same'); // one fused op each way (src/ops/conv.ts)
        if (l === 0 && this.wc && cond) {
          const e = tf.matMul(cond, this.wc as tf.Tensor2D);
          h = tf.add(h, tf.reshape(e, [e.shape[0], 1, 1, e.shape[1]!]));
        }
        if (l + 1 < this.layers.length) h = tf.relu(h);
      });
      return h;
    });
  }
}

/** A coupling network for data of per-example shape `shape`: conv for images [H, W, C], dense for vectors. */
export type CouplingNet = DenseNet | ConvNet;

/**
 * Network from `inC` channels (images) or features (vectors) to `outC` per position: ConvNet for rank-3 shapes,
 * DenseNet [in, hidden, hidden, out] for vectors (in and out are the full vector sizes times the factors).
 */
export function makeCouplingNet(
  shape: number[],
  inFactor: number,
  outFactor: number,
  hidden: number,
  numClasses: number,
  rng: Rng,
  prefix: string,
): CouplingNet {
  const C = shape[shape.length - 1]!;
  if (shape.length === 3) return new ConvNet(inFactor * C, hidden, outFactor * C, numClasses, rng, prefix);
  return new DenseNet([inFactor * C, hidden, hidden, outFactor * C], numClasses, rng, prefix);
}

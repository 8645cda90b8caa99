// NADE (Larochelle & Murray 2011, "The Neural Autoregressive Distribution Estimator", eqs. 2-3):
//   a_d = c + W_{:,<d} x_<d,   h_d = sigmoid(a_d),   p(x_d | x_<d) = head(b_d + V_d h_d)
// The hidden layer is shared across positions, so a_{d+1} = a_d + W_{:,d} x_d: all D conditionals cost
// O(D H) (an exclusive cumulative sum), and sampling updates the running a_d in O(H) per step.
// Vectors and images alike are flattened to D scalar positions in raster order (NHWC). Conditional: a_d gets
// a class term U y (y one-hot).
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../core/rng.js';
import { dims, type DataSpec } from '../../data/spec.js';
import { z } from 'zod';
import { parseModelOptions } from '../../core/registry.js';
import { Autoregressive, COMMON_OPTIONS, resolveCommon, type SamplerSession } from './base.js';
import { Params, randomVar, zerosVar } from './masked.js';

export const NADE_SCHEMA = z.object({
  ...COMMON_OPTIONS,
  hidden: z.int().min(1).default(500).describe('hidden units H (shared across positions)'),
});

export class NADE extends Autoregressive {
  readonly config: Record<string, unknown>;
  private readonly W: tf.Variable; // [D, H]: row d = the input weights of x_d
  private readonly c: tf.Variable; // [H]
  private readonly V: tf.Variable; // [D, H, P]
  private readonly b: tf.Variable; // [D, P]
  private readonly U: tf.Variable | null; // [K, H]

  constructor(kind: string, raw: object, spec: DataSpec, seed: number) {
    const c = parseModelOptions(kind, NADE_SCHEMA, raw);
    const common = resolveCommon(c, spec);
    const D = dims(spec);
    super(kind, spec, common, { T: D, C: 1 });
    const H = c.hidden;
    this.config = { ...common, hidden: H };
    const rng = new Rng(seed);
    const p = new Params(this.vars);
    const P = this.head.P;
    this.W = p.add('W', randomVar([D, H], D, rng, 0.01));
    this.c = p.add('c', zerosVar([H]));
    this.V = p.add('V', randomVar([D, H, P], H, rng, Math.sqrt(1 / H)));
    this.b = p.add('b', zerosVar([D, P]));
    this.U = common.conditional ? p.add('U', randomVar([this.numClasses, H], 1, rng, 0.1)) : null;
  }

  /** c (+ U y): [n, H] */
  private bias(n: number, yOh: tf.Tensor2D | null): tf.Tensor2D {
    return tf.tidy(() => {
      const c = tf.tile(tf.reshape(this.c, [1, -1]), [n, 1]) as tf.Tensor2D;
      return yOh ? tf.add(c, tf.matMul(yOh, this.U!)) : c;
    });
  }

  params(x: tf.Tensor, yOh: tf.Tensor2D | null): tf.Tensor4D {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const { T: D } = this;
      const xf = tf.reshape(x, [n, D, 1]);
      // a_d = c + sum_{j<d} W_j x_j for every d: exclusive cumulative sum over positions, [n, D, H]
      // (summed on the last axis: tfjs-core's Cumsum gradient is wrong for other axes)
      const terms = tf.transpose(tf.mul(xf, this.W), [0, 2, 1]);
      const cum = tf.transpose(tf.cumsum(terms, 2, true), [0, 2, 1]);
      const a = tf.add(cum, tf.expandDims(this.bias(n, yOh), 1));
      const h = tf.sigmoid(a);
      // b_d + V_d h_d, batched over d: [D, n, H] x [D, H, P] -> [D, n, P]
      const out = tf.matMul(tf.transpose(h, [1, 0, 2]), this.V as tf.Tensor3D);
      const theta = tf.add(tf.transpose(out, [1, 0, 2]), this.b);
      return tf.expandDims(theta, 2) as tf.Tensor4D;
    });
  }

  /** the running pre-activation a_d: O(H P) per step instead of a full pass */
  override beginSampling(n: number, yOh: tf.Tensor2D | null): SamplerSession {
    let a: tf.Tensor2D = tf.keep(this.bias(n, yOh)); // kept: sessions outlive the caller's tidy scopes
    return {
      next: (x, t) => {
        if (t > 0) {
          const next = tf.tidy(() => {
            const xPrev = tf.slice(tf.reshape(x, [n, this.T]), [0, t - 1], [n, 1]);
            return tf.add(a, tf.mul(xPrev, tf.slice(this.W, [t - 1, 0], [1, -1]))) as tf.Tensor2D;
          });
          a.dispose();
          a = tf.keep(next);
        }
        return tf.tidy(() => {
          const Vt = tf.reshape(tf.slice(this.V, [t, 0, 0], [1, -1, -1]), [this.V.shape[1]!, this.head.P]);
          const theta = tf.add(tf.matMul(tf.sigmoid(a), Vt), tf.slice(this.b, [t, 0], [1, -1]));
          return tf.expandDims(theta, 1);
        });
      },
      dispose: () => a.dispose(),
    };
  }
}

// Multi-scale factor-out (RealNVP sec. 3.6, eq. 15-16): after each scale, half of the channels z_i leave the
// flow and are modelled by the base distribution directly; the other half h goes through the next scale.
//   forward: x [n, H, W, C] -> z_i = x[..., :C/2], h = x[..., C/2:] -> y = concat(flat(z_i), flat(inner(h)))
// The output is flat [n, D] (the base is N(0, I) on all D dims); log|det| is the inner flow's. inverse
// accepts any tensor with D values per example (a nested split flattens what it gets).
//
// Learned prior (Glow's `split2d_prior`, Kingma & Dhariwal 2018, code of sec. 3): instead of N(0, I), the
// factored-out half is z_i ~ N(mu(h), exp(logs(h))^2), with mu and logs from a zero-initialized 3x3
// convolution of the kept half h (plus a per-class bias in a conditional flow). As a transform this is
// z_i -> (z_i - mu) exp(-logs) before the standard-normal base, log|det| = -sum logs; it starts as N(0, I).
import * as tf from '@tensorflow/tfjs-core';
import { zeroVar } from './nets.js';
import {
  collectVariables,
  sumPerExample,
  type FlowContext,
  type ForwardResult,
  type InverseResult,
  type Transform,
} from './transform.js';

/** The learned conditional prior of a split: mu, logs = conv3x3(h) (+ onehot(y) W_c), zero-initialized. */
class SplitPrior {
  readonly variables = new Map<string, tf.Variable>();
  private readonly w: tf.Variable;
  private readonly b: tf.Variable;
  private readonly wc: tf.Variable | null;

  constructor(half: number, numClasses: number, prefix: string) {
    this.w = zeroVar([3, 3, half, 2 * half]);
    this.b = zeroVar([2 * half]);
    this.wc = numClasses > 0 ? zeroVar([numClasses, 2 * half]) : null;
    this.variables.set(`${prefix}.w`, this.w);
    this.variables.set(`${prefix}.b`, this.b);
    if (this.wc) this.variables.set(`${prefix}.cond.w`, this.wc);
  }

  /** mu and logs [n, H, W, half] of the factored-out half, given the kept half h [n, H, W, half] */
  params(h: tf.Tensor, cond?: tf.Tensor2D): { mu: tf.Tensor; logs: tf.Tensor } {
    return tf.tidy(() => {
      let out = tf.add(tf.conv2d(h as tf.Tensor4D, this.w as tf.Tensor4D, 1, 'same'), this.b);
      if (this.wc && cond) {
        const e = tf.matMul(cond, this.wc as tf.Tensor2D);
        out = tf.add(out, tf.reshape(e, [e.shape[0], 1, 1, e.shape[1]!]));
      }
      const [mu, logs] = tf.split(out, 2, -1);
      return { mu: mu!, logs: logs! };
    });
  }
}

export class Split implements Transform {
  readonly variables: Map<string, tf.Variable>;
  private readonly prior: SplitPrior | null;

  /**
   * shape: per-example [H, W, C] of the input; inner: the flow applied to the kept half [H, W, C/2];
   * innerOut: the per-example shape inner produces (e.g. [H/2, W/2, 2C] after a squeeze);
   * learnedPrior: Glow's conditional prior for the factored-out half (variables under `prefix`).
   */
  constructor(
    readonly shape: number[],
    readonly inner: Transform,
    readonly innerOut: number[],
    learnedPrior?: { numClasses: number; prefix: string },
  ) {
    this.prior = learnedPrior
      ? new SplitPrior(shape[2]! / 2, learnedPrior.numClasses, learnedPrior.prefix)
      : null;
    this.variables = collectVariables(this.prior ? [inner, this.prior] : [inner]);
  }

  dispose(): void {
    this.inner.dispose?.();
  }

  forward(x: tf.Tensor, ctx: FlowContext = {}): ForwardResult {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      let [z, h] = tf.split(x, 2, -1) as [tf.Tensor, tf.Tensor];
      const r = this.inner.forward(h, ctx);
      let logDet = r.logDet;
      if (this.prior) {
        const { mu, logs } = this.prior.params(h, ctx.cond);
        z = tf.mul(tf.sub(z, mu), tf.exp(tf.neg(logs)));
        logDet = tf.sub(logDet, sumPerExample(logs));
      }
      return { y: tf.concat([tf.reshape(z, [n, -1]), tf.reshape(r.y, [n, -1])], 1), logDet };
    });
  }

  inverse(y: tf.Tensor, ctx: FlowContext = {}): InverseResult {
    return tf.tidy(() => {
      const n = y.shape[0]!;
      const [H, W, C] = this.shape as [number, number, number];
      const half = (H * W * C) / 2;
      const flat = tf.reshape(y, [n, -1]);
      let z = tf.reshape(tf.slice(flat, [0, 0], [n, half]), [n, H, W, C / 2]);
      const r = this.inner.inverse(
        tf.reshape(tf.slice(flat, [0, half], [n, half]), [n, ...this.innerOut]),
        ctx,
      );
      let logDet = r.logDet;
      if (this.prior) {
        const { mu, logs } = this.prior.params(r.x, ctx.cond);
        z = tf.add(tf.mul(z, tf.exp(logs)), mu);
        logDet = tf.add(logDet, sumPerExample(logs));
      }
      return { x: tf.concat([z, r.x], -1), logDet };
    });
  }
}

// Coupling layers (Dinh et al. 2015 NICE; 2017 RealNVP). A binary mask b splits x into a kept part b*x and a
// transformed part; with s, t = NN(b*x):
//   affine   (RealNVP eq. 9):  y = b*x + (1-b) * (x * exp(s) + t),   log|det dy/dx| = sum((1-b) * s)
//   additive (NICE eq. 5):     y = b*x + (1-b) * (x + t),              log|det dy/dx| = 0
// The Jacobian is triangular (RealNVP eq. 6), so the log-det is the sum of s. Inverse (RealNVP eq. 8 / 10):
//   x = b*y + (1-b) * (y - t) * exp(-s), with s, t = NN(b*y) (b*y = b*x).
// Scale: 'tanh' s = a * tanh(h) with a learned per-channel a (bounded, RealNVP's stabilization);
// 'sigmoid' exp(s) = sigmoid(h + 2) (Glow's code).
// Masks (RealNVP sec. 3.4): checkerboard ((i + j) % 2 on images), channel-wise (first / second half of
// the channels), alternating for vectors; `parity` swaps the roles so consecutive layers alternate.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { makeCouplingNet, type CouplingNet } from './nets.js';
import { sigmoidCoupling, sigmoidCouplingLogDet } from '../../ops/flow.js';
import {
  sumPerExample,
  variable,
  type FlowContext,
  type ForwardResult,
  type InverseResult,
  type Transform,
} from './transform.js';

export type MaskKind = 'checkerboard' | 'channel' | 'alternate';

/** Mask b (1 = kept) of per-example shape `shape` ([H, W, C] or [D]) as a tensor of that shape. */
export function makeMask(shape: number[], kind: MaskKind, parity: 0 | 1): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const C = shape[shape.length - 1]!;
  const W = shape.length === 3 ? shape[1]! : 1;
  const m = new Float32Array(size);
  for (let idx = 0; idx < size; idx++) {
    const c = idx % C;
    const pos = Math.floor(idx / C);
    const [i, j] = [Math.floor(pos / W), pos % W];
    let keep: boolean;
    if (kind === 'checkerboard') keep = (i + j) % 2 === 0;
    else if (kind === 'channel') keep = c < C / 2;
    else keep = c % 2 === 0;
    m[idx] = keep !== (parity === 1) ? 1 : 0;
  }
  return tf.tensor(m, shape);
}

export interface CouplingOptions {
  mask: MaskKind;
  parity: 0 | 1;
  coupling: 'affine' | 'additive';
  scale: 'tanh' | 'sigmoid';
  hidden: number;
  numClasses: number;
}

export class Coupling implements Transform {
  readonly variables = new Map<string, tf.Variable>();
  private readonly b: tf.Tensor;
  /** 1 - b */
  private readonly inv: tf.Tensor;
  private readonly net: CouplingNet;
  private readonly a: tf.Variable | null = null;
  private readonly affine: boolean;

  constructor(
    readonly shape: number[],
    readonly opts: CouplingOptions,
    rng: Rng,
    prefix: string,
  ) {
    this.b = tf.keep(makeMask(shape, opts.mask, opts.parity));
    this.inv = tf.tidy(() => tf.sub(1, this.b));
    this.affine = opts.coupling === 'affine';
    // the net sees [b*x, b] (the mask tells it which positions are kept)
    this.net = makeCouplingNet(
      shape,
      2,
      this.affine ? 2 : 1,
      opts.hidden,
      opts.numClasses,
      rng,
      `${prefix}.nn`,
    );
    for (const [k, v] of this.net.variables) this.variables.set(k, v);
    if (this.affine && opts.scale === 'tanh') {
      this.a = variable(() => tf.ones([shape[shape.length - 1]!]));
      this.variables.set(`${prefix}.scale`, this.a);
    }
  }

  dispose(): void {
    tf.dispose([this.b, this.inv]);
  }

  /** s (masked log-scale) and t (masked shift) from the kept part bx = b*x. */
  private params(bx: tf.Tensor, cond?: tf.Tensor2D): { s: tf.Tensor | null; t: tf.Tensor } {
    // called inside the callers' tf.tidy; images [n, H, W, 2C] and vectors [n, 2D] alike
    const out = this.net.apply(tf.concat([bx, tf.broadcastTo(this.b, bx.shape)], -1), cond);
    if (!this.affine) return { s: null, t: tf.mul(out, this.inv) };
    const [h, t] = tf.split(out, 2, -1);
    const s =
      this.opts.scale === 'tanh' ? tf.mul(tf.tanh(h!), this.a!) : tf.neg(tf.softplus(tf.neg(tf.add(h!, 2)))); // log sigmoid(h + 2)
    return { s: tf.mul(s, this.inv), t: tf.mul(t!, this.inv) };
  }

  forward(x: tf.Tensor, ctx: FlowContext = {}): ForwardResult {
    return tf.tidy(() => {
      if (this.affine && this.opts.scale === 'sigmoid') {
        // the same y and log-det as below, as two fused ops with hand-written gradients (src/ops/flow.ts)
        const bx = tf.mul(x, this.b);
        const out = this.net.apply(tf.concat([bx, tf.broadcastTo(this.b, bx.shape)], -1), ctx.cond);
        const [h, t] = tf.split(out, 2, -1);
        return { y: sigmoidCoupling(x, h!, t!, this.inv), logDet: sigmoidCouplingLogDet(h!, this.inv) };
      }
      const { s, t } = this.params(tf.mul(x, this.b), ctx.cond);
      if (!s) return { y: tf.add(x, t), logDet: tf.zeros([x.shape[0]!]) as tf.Tensor1D };
      return { y: tf.add(tf.mul(x, tf.exp(s)), t), logDet: sumPerExample(s) };
    });
  }

  inverse(y: tf.Tensor, ctx: FlowContext = {}): InverseResult {
    return tf.tidy(() => {
      const { s, t } = this.params(tf.mul(y, this.b), ctx.cond);
      if (!s) return { x: tf.sub(y, t), logDet: tf.zeros([y.shape[0]!]) as tf.Tensor1D };
      return { x: tf.mul(tf.sub(y, t), tf.exp(tf.neg(s))), logDet: tf.neg(sumPerExample(s)) };
    });
  }
}

// Multi-scale factor-out (RealNVP sec. 3.6, eq. 15-16): after each scale, half of the channels z_i leave the
// flow and are modelled by the base distribution directly; the other half h goes through the next scale.
//   forward: x [n, H, W, C] -> z_i = x[..., :C/2], h = x[..., C/2:] -> y = concat(flat(z_i), flat(inner(h)))
// The output is flat [n, D] (the base is N(0, I) on all D dims); log|det| is the inner flow's. inverse
// accepts any tensor with D values per example (a nested split flattens what it gets).
import * as tf from '@tensorflow/tfjs-core';
import type { FlowContext, ForwardResult, InverseResult, Transform } from './transform.js';

export class Split implements Transform {
  readonly variables: Map<string, tf.Variable>;

  /**
   * shape: per-example [H, W, C] of the input; inner: the flow applied to the kept half [H, W, C/2];
   * innerOut: the per-example shape inner produces (e.g. [H/2, W/2, 2C] after a squeeze).
   */
  constructor(
    readonly shape: number[],
    readonly inner: Transform,
    readonly innerOut: number[],
  ) {
    this.variables = inner.variables;
  }

  dispose(): void {
    this.inner.dispose?.();
  }

  forward(x: tf.Tensor, ctx: FlowContext = {}): ForwardResult {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const [z, h] = tf.split(x, 2, -1);
      const r = this.inner.forward(h!, ctx);
      return { y: tf.concat([tf.reshape(z!, [n, -1]), tf.reshape(r.y, [n, -1])], 1), logDet: r.logDet };
    });
  }

  inverse(y: tf.Tensor, ctx: FlowContext = {}): InverseResult {
    return tf.tidy(() => {
      const n = y.shape[0]!;
      const [H, W, C] = this.shape as [number, number, number];
      const half = (H * W * C) / 2;
      const flat = tf.reshape(y, [n, -1]);
      const z = tf.reshape(tf.slice(flat, [0, 0], [n, half]), [n, H, W, C / 2]);
      const r = this.inner.inverse(
        tf.reshape(tf.slice(flat, [0, half], [n, half]), [n, ...this.innerOut]),
        ctx,
      );
      return { x: tf.concat([z, r.x], -1), logDet: r.logDet };
    });
  }
}

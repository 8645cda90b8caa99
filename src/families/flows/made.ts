// MADE (Germain et al. 2015, "Masked Autoencoder for Distribution Estimation", sec. 4): dense layers whose
// weights are multiplied by binary masks so that output d depends only on inputs 1..d-1 (autoregressive).
// Degrees: input d has m = d (1..D); hidden unit k has m(k) = 1 + (k mod (D-1)); a hidden unit sees inputs
// with m_in <= m(k) (eq. 12), an output of degree d sees hidden units with m(k) < d (eq. 13). A class label
// (one-hot) feeds the first hidden layer unmasked, so every output may depend on it.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { heWeight, zeroVar } from './nets.js';

export class MADE {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: { w: tf.Variable; b: tf.Variable; mask: tf.Tensor2D }[] = [];
  private readonly wc: tf.Variable | null;

  /** D inputs, hidden sizes, `outPerDim` outputs per input dimension, laid out as [n, outPerDim * D]. */
  constructor(
    readonly D: number,
    hidden: number[],
    readonly outPerDim: number,
    numClasses: number,
    rng: Rng,
    prefix: string,
  ) {
    const inDeg = Array.from({ length: D }, (_, d) => d + 1);
    const hidDeg = (h: number) => Array.from({ length: h }, (_, k) => 1 + (k % Math.max(1, D - 1)));
    const outDeg = Array.from({ length: outPerDim * D }, (_, j) => (j % D) + 1);
    const degs = [inDeg, ...hidden.map(hidDeg), outDeg];
    for (let l = 0; l + 1 < degs.length; l++) {
      const [a, b] = [degs[l]!, degs[l + 1]!];
      const last = l + 2 === degs.length;
      const m = new Float32Array(a.length * b.length);
      for (let i = 0; i < a.length; i++)
        for (let j = 0; j < b.length; j++)
          m[i * b.length + j] = (last ? b[j]! > a[i]! : b[j]! >= a[i]!) ? 1 : 0;
      const w = last
        ? zeroVar([a.length, b.length])
        : heWeight([a.length, b.length], a.length, b.length, rng);
      const bias = zeroVar([b.length]);
      this.layers.push({ w, b: bias, mask: tf.keep(tf.tensor2d(m, [a.length, b.length])) });
      this.variables.set(`${prefix}.${l}.w`, w);
      this.variables.set(`${prefix}.${l}.b`, bias);
    }
    const h0 = hidden[0] ?? outPerDim * D;
    this.wc = numClasses > 0 ? heWeight([numClasses, h0], numClasses, h0, rng) : null;
    if (this.wc) this.variables.set(`${prefix}.cond.w`, this.wc);
  }

  dispose(): void {
    for (const l of this.layers) l.mask.dispose();
  }

  /** x [n, D] (+ cond [n, C]) -> outPerDim tensors [n, D]; output k, dim d depends on x_1..x_{d-1} only. */
  apply(x: tf.Tensor2D, cond?: tf.Tensor2D): tf.Tensor2D[] {
    return tf.tidy(() => {
      let h = x;
      this.layers.forEach(({ w, b, mask }, l) => {
        h = tf.add(tf.matMul(h, tf.mul(w, mask) as tf.Tensor2D), b);
        if (l === 0 && this.wc && cond) h = tf.add(h, tf.matMul(cond, this.wc as tf.Tensor2D));
        if (l + 1 < this.layers.length) h = tf.relu(h);
      });
      return tf.split(h, this.outPerDim, 1) as tf.Tensor2D[];
    });
  }
}

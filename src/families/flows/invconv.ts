// Invertible 1x1 convolution (Kingma & Dhariwal 2018, Glow sec. 3.2, eq. 9-10): a learned C x C matrix W mixes
// the channels at every position, y_ij = W x_ij, replacing RealNVP's fixed permutations. LU parameterization
// (Glow eq. 10): W = P L (U + diag(sign(s) * exp(logs))), P a fixed permutation, L unit lower triangular,
// U strictly upper triangular, so log|det dy/dx| = (number of positions) * sum(logs).
// Initialized from a random rotation (log|det| = 0). On vectors [D] it is an invertible linear map.
// The inverse uses W^{-1} computed in float64 (C is small); it is not differentiated (sampling only).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { channelLogDet, invConv1x1, luWeight, mixChannels, type LuFactors } from '../../ops/flow.js';
import { invert, luDecompose, randomOrthogonal } from './linalg.js';
import { variable, type ForwardResult, type InverseResult, type Transform } from './transform.js';

export class InvConv1x1 implements Transform {
  readonly variables = new Map<string, tf.Variable>();
  readonly C: number;
  private readonly positions: number;
  private readonly P: tf.Variable;
  private readonly sign: tf.Variable;
  readonly L: tf.Variable;
  readonly U: tf.Variable;
  readonly logs: tf.Variable;

  constructor(shape: number[], rng: Rng, prefix: string) {
    const C = (this.C = shape[shape.length - 1]!);
    this.positions = shape.reduce((a, b) => a * b, 1) / C;
    const { perm, L, U } = luDecompose(randomOrthogonal(C, rng), C);
    const P = new Float32Array(C * C);
    perm.forEach((row, i) => (P[row * C + i] = 1));
    const diag = Array.from({ length: C }, (_, i) => U[i * C + i]!);
    const strictU = U.map((v, k) => (Math.floor(k / C) < k % C ? v : 0));
    const strictL = L.map((v, k) => (Math.floor(k / C) > k % C ? v : 0));
    this.P = variable(() => tf.tensor2d(P, [C, C]), false);
    this.sign = variable(() => tf.tensor1d(diag.map(Math.sign)), false);
    this.L = variable(() => tf.tensor2d(Float32Array.from(strictL), [C, C]));
    this.U = variable(() => tf.tensor2d(Float32Array.from(strictU), [C, C]));
    this.logs = variable(() => tf.tensor1d(diag.map((d) => Math.log(Math.abs(d)))));
    for (const [k, v] of [
      ['P', this.P],
      ['sign', this.sign],
      ['L', this.L],
      ['U', this.U],
      ['logs', this.logs],
    ] as const)
      this.variables.set(`${prefix}.${k}`, v);
  }

  dispose(): void {}

  private get factors(): LuFactors {
    return { L: this.L, U: this.U, logs: this.logs, P: this.P, sign: this.sign };
  }

  /** W = P (L o M_lower + I) (U o M_upper + diag(sign exp(logs))) */
  weight(): tf.Tensor2D {
    return luWeight(this.factors);
  }

  forward(x: tf.Tensor): ForwardResult {
    return tf.tidy(() => ({
      y: invConv1x1(x, this.factors),
      logDet: channelLogDet(this.logs, x.shape[0]!, this.positions),
    }));
  }

  inverse(y: tf.Tensor): InverseResult {
    return tf.tidy(() => {
      const wInv = tf.tensor2d(Float32Array.from(invert(this.weight().dataSync(), this.C)), [this.C, this.C]);
      const logDet = channelLogDet(this.logs, y.shape[0]!, -this.positions);
      return { x: mixChannels(y, wInv), logDet };
    });
  }
}

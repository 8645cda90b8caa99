// ActNorm (Kingma & Dhariwal 2018, Glow sec. 3.1, Table 1): a per-channel affine map
//   y = (x + b) * exp(logs),   log|det dy/dx| = (number of positions) * sum(logs)
// (H*W positions for images [H, W, C], 1 for vectors [D]). Data-dependent initialization: on the first training
// batch b = -mean(x), logs = -log(std(x) + 1e-6) per channel, so that y has zero mean and unit variance.
// The `initialized` flag is a persistent int32 variable, so it is saved in checkpoints and a loaded or resumed
// model never re-initializes.
import * as tf from '@tensorflow/tfjs-core';
import { actNorm, channelLogDet } from '../../ops/flow.js';
import {
  variable,
  type FlowContext,
  type ForwardResult,
  type InverseResult,
  type Transform,
} from './transform.js';

export class ActNorm implements Transform {
  readonly variables = new Map<string, tf.Variable>();
  readonly bias: tf.Variable;
  readonly logs: tf.Variable;
  readonly initialized: tf.Variable;
  /** JS copy of `initialized` once it is known to be 1 (avoids a sync read per call) */
  private known = false;
  private readonly positions: number;

  constructor(shape: number[], prefix: string) {
    const C = shape[shape.length - 1]!;
    this.positions = shape.reduce((a, b) => a * b, 1) / C;
    this.bias = variable(() => tf.zeros([C]));
    this.logs = variable(() => tf.zeros([C]));
    this.initialized = variable(() => tf.scalar(0, 'int32'), false);
    this.variables.set(`${prefix}.bias`, this.bias);
    this.variables.set(`${prefix}.logs`, this.logs);
    this.variables.set(`${prefix}.initialized`, this.initialized);
  }

  isInitialized(): boolean {
    if (!this.known) this.known = this.initialized.dataSync()[0] === 1;
    return this.known;
  }

  /** Set b and logs from the batch x (per-channel moments over every other axis). */
  private dataInit(x: tf.Tensor): void {
    tf.tidy(() => {
      const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
      const { mean, variance } = tf.moments(x, axes);
      this.bias.assign(tf.neg(mean));
      this.logs.assign(tf.neg(tf.log(tf.add(tf.sqrt(variance), 1e-6))));
      this.initialized.assign(tf.scalar(1, 'int32'));
    });
    this.known = true;
  }

  forward(x: tf.Tensor, ctx: FlowContext = {}): ForwardResult {
    if (ctx.init && !this.isInitialized()) this.dataInit(x);
    return tf.tidy(() => {
      const y = actNorm(x, this.bias, this.logs); // (x + bias) exp(logs), one fused op each way
      return { y, logDet: channelLogDet(this.logs, x.shape[0]!, this.positions) };
    });
  }

  inverse(y: tf.Tensor): InverseResult {
    return tf.tidy(() => {
      const x = tf.sub(tf.mul(y, tf.exp(tf.neg(this.logs))), this.bias);
      return { x, logDet: channelLogDet(this.logs, y.shape[0]!, -this.positions) };
    });
  }
}

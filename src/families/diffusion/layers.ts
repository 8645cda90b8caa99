// Building blocks of the denoisers, tfjs-core ops only: dense and conv layers, GroupNorm (Wu & He 2018),
// SiLU, the sinusoidal time embedding (Vaswani et al. 2017 sec. 3.5, as used by Ho et al. 2020 appendix B)
// and the class embedding with a learned null class for classifier-free guidance (Ho & Salimans 2022).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { initWeight, zeros } from '../latent/init.js';
import { groupNorm, silu } from '../../ops/norm.js';
import { conv2dBias } from '../../ops/conv.js';

export type Vars = Map<string, tf.Variable>;

/** SiLU / swish: x sigmoid(x) (Elfwing et al. 2018; Ramachandran et al. 2017); a fused op (src/ops/norm.ts). */
export { silu };

/** y = x W + b on the last axis. zeroInit: W = 0 (a block that starts as the identity / a zero output). */
export class Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(fanIn: number, fanOut: number, rng: Rng, name: string, vars: Vars, zeroInit = false) {
    this.w = zeroInit ? zeros([fanIn, fanOut]) : initWeight([fanIn, fanOut], fanIn, fanOut, 'glorot', rng);
    this.b = zeros([fanOut]);
    vars.set(`${name}.w`, this.w);
    vars.set(`${name}.b`, this.b);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const shape = x.shape;
      const x2 = tf.reshape(x, [-1, shape[shape.length - 1]!]) as tf.Tensor2D;
      const y = tf.add(tf.matMul(x2, this.w as tf.Tensor2D), this.b);
      return tf.reshape(y, [...shape.slice(0, -1), this.b.shape[0]!]);
    });
  }
}

/** k x k convolution, NHWC, 'same' padding. */
export class Conv {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(
    cin: number,
    cout: number,
    rng: Rng,
    name: string,
    vars: Vars,
    readonly k = 3,
    readonly stride = 1,
    zeroInit = false,
  ) {
    const fanIn = k * k * cin;
    this.w = zeroInit
      ? zeros([k, k, cin, cout])
      : initWeight([k, k, cin, cout], fanIn, k * k * cout, 'glorot', rng);
    this.b = zeros([cout]);
    vars.set(`${name}.w`, this.w);
    vars.set(`${name}.b`, this.b);
  }
  apply(x: tf.Tensor): tf.Tensor {
    // conv + bias as one fused op each way (src/ops/conv.ts)
    return conv2dBias(x as tf.Tensor4D, this.w as tf.Tensor4D, this.b as tf.Tensor1D, this.stride, 'same');
  }
}

/** GroupNorm over NHWC: statistics per example and group of channels (Wu & He 2018, eq. 1-3). */
export class GroupNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly groups: number;
  constructor(
    readonly channels: number,
    name: string,
    vars: Vars,
    maxGroups = 8,
  ) {
    let g = Math.min(maxGroups, channels);
    while (channels % g !== 0) g--;
    this.groups = g;
    this.gamma = tf.variable(tf.ones([channels]));
    this.beta = zeros([channels]);
    vars.set(`${name}.gamma`, this.gamma);
    vars.set(`${name}.beta`, this.beta);
  }
  /** GroupNorm(x), and SiLU of it when `act` (one fused op each way: src/ops/norm.ts). */
  apply(x: tf.Tensor, act = false): tf.Tensor {
    return groupNorm(x, this.gamma, this.beta, this.groups, { eps: 1e-5, act });
  }
}

/** [n] times -> [n, dim]: [sin(t w_i), cos(t w_i)], w_i = 10000^(-i / (dim/2)). */
export function sinusoidal(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  return tf.tidy(() => {
    const half = Math.floor(dim / 2);
    const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
    const args = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor2d(freqs, [1, half]));
    return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D;
  });
}

/**
 * The conditioning vector of a denoiser: MLP(sinusoidal(t)) (+ a learned class embedding). Labels are
 * 0..C-1, and C is the null class ("no label") of classifier-free guidance.
 */
export class Conditioning {
  private readonly d1: Dense;
  private readonly d2: Dense;
  private readonly table: tf.Variable | null = null;
  constructor(
    readonly sinDim: number,
    readonly dim: number,
    readonly numClasses: number,
    rng: Rng,
    vars: Vars,
  ) {
    this.d1 = new Dense(sinDim, dim, rng, 'temb.0', vars);
    this.d2 = new Dense(dim, dim, rng, 'temb.1', vars);
    if (numClasses > 0) {
      this.table = tf.tidy(() =>
        tf.variable(tf.randomNormal([numClasses + 1, dim], 0, 1, 'float32', rng.nextSeed())),
      );
      vars.set('yemb', this.table);
    }
  }
  /** t [n] (time in [0, 1000]); y [n] int32 labels in 0..C (C = null) or null for an unconditional net */
  apply(t: tf.Tensor1D, y: tf.Tensor1D | null): tf.Tensor2D {
    return tf.tidy(() => {
      let e = this.d2.apply(silu(this.d1.apply(sinusoidal(t, this.sinDim))));
      if (this.table) {
        if (!y) throw new Error('a conditional denoiser needs labels (the null class for none)');
        e = tf.add(e, tf.gather(this.table, tf.cast(y, 'int32')));
      }
      return e as tf.Tensor2D;
    });
  }
}

/** A noise / velocity predictor: network(x_t, t, y) with the data's shape. */
export interface Denoiser {
  readonly variables: Vars;
  /** x [n, ...shape]; t [n] times in [0, 1000]; y [n] labels 0..C (C = null) or null */
  apply(x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D | null): tf.Tensor;
}

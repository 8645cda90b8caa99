// Generator and discriminator networks of the adversarial family.
//   MLP (Goodfellow et al. 2014): G: [z, y] -> ReLU dense layers -> data; D: x -> LeakyReLU dense layers -> phi(x).
//   Conv, after DCGAN (Radford et al. 2016, §3: strided convolutions instead of pooling, no fully connected
//   hidden layers beyond the projection of z, ReLU in G, LeakyReLU(0.2) in D, batch norm in G (optional);
//   none in D, so that WGAN-GP's per-example penalty stays valid):
//     G: [z, y] -dense-> [H/4, W/4, c2] ReLU -deconv 4x4 s2-> [H/2, W/2, c1] ReLU -deconv 4x4 s2-> [H, W, C]
//     D: x -conv 4x4 s2-> [H/2, W/2, c1] LReLU -conv 4x4 s2-> [H/4, W/4, c2] LReLU -> flatten = phi(x)
// Both D bodies return the features phi(x); the logit head (with the optional minibatch-discrimination layer
// and label projection) lives in gan.ts. Generators return the pre-activation output in data shape; with
// gNorm 'batch' their hidden layers are batch-normalized (BatchNorm below).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { initWeight, zeros, type Module } from '../latent/init.js';

export const LEAK = 0.2;

/**
 * LeakyReLU(x) = max(x, a x), written as ((1 + a) / 2) x + ((1 - a) / 2) |x|: its gradient is built from ops that
 * are themselves differentiable (tfjs's LeakyRelu gradient uses Greater, and the torch backend's Relu gradient
 * is a fused kernel, neither of which has a gradient), so the WGAN-GP penalty can differentiate the critic's
 * input gradient.
 */
export function leakyRelu(x: tf.Tensor, a = LEAK): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul((1 + a) / 2, x), tf.mul((1 - a) / 2, tf.abs(x))));
}

export interface Generator {
  variables: Map<string, tf.Variable>;
  /** zy: [n, latentDim + numClasses] -> [n, ...dataShape] (before the output activation) */
  apply(zy: tf.Tensor, training: boolean): tf.Tensor;
}

/** applied to each hidden feature map of D after its activation (dropout in training; identity otherwise) */
export type FeatureNoise = (h: tf.Tensor) => tf.Tensor;

export interface DiscriminatorBody extends Module {
  /** x [n, ...dataShape] -> phi(x) [n, outDim] */
  apply(x: tf.Tensor, noise?: FeatureNoise): tf.Tensor2D;
  readonly outDim: number;
}

/**
 * Batch normalization (Ioffe & Szegedy 2015, Alg. 1) over every axis but the last (channels / units):
 * y = gamma (x - mu_B) / sqrt(var_B + eps) + beta with batch statistics in training, which also update running
 * averages (momentum 0.9); sampling uses the running averages, so a sample does not depend on its batch.
 * DCGAN (Radford et al. 2016, §3) puts it in the generator; without it G rarely starts learning.
 */
export class BatchNorm implements Module {
  readonly variables = new Map<string, tf.Variable>();
  private readonly gamma: tf.Variable;
  private readonly beta: tf.Variable;
  private readonly runMean: tf.Variable;
  private readonly runVar: tf.Variable;
  constructor(
    dim: number,
    prefix: string,
    private readonly momentum = 0.9,
    private readonly eps = 1e-5,
  ) {
    this.gamma = tf.variable(tf.ones([dim]));
    this.beta = zeros([dim]);
    this.runMean = tf.variable(tf.zeros([dim]), false);
    this.runVar = tf.variable(tf.ones([dim]), false);
    this.variables.set(`${prefix}.gamma`, this.gamma);
    this.variables.set(`${prefix}.beta`, this.beta);
    this.variables.set(`${prefix}.running_mean`, this.runMean);
    this.variables.set(`${prefix}.running_var`, this.runVar);
  }
  /** the trainable part (gamma, beta); the running averages are state, not parameters */
  trainable(): tf.Variable[] {
    return [this.gamma, this.beta];
  }
  apply(x: tf.Tensor, training = false): tf.Tensor {
    return tf.tidy(() => {
      let mean: tf.Tensor = this.runMean;
      let variance: tf.Tensor = this.runVar;
      if (training) {
        const axes = x.shape.slice(0, -1).map((_, i) => i);
        ({ mean, variance } = tf.moments(x, axes));
        const m = this.momentum;
        const [mu, v] = [mean, variance]; // the running averages are assigned, never differentiated
        this.runMean.assign(tf.add(tf.mul(this.runMean, m), tf.mul(mu, 1 - m)));
        this.runVar.assign(tf.add(tf.mul(this.runVar, m), tf.mul(v, 1 - m)));
      }
      return tf.add(
        tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps))), this.gamma),
        this.beta,
      );
    });
  }
}

/** A dense or 4x4 stride-2 transposed-conv layer of a generator, optionally batch-normalized, then ReLU. */
interface GenLayer {
  w: tf.Variable;
  b: tf.Variable;
  bn: BatchNorm | null;
}

function register(vars: Map<string, tf.Variable>, prefix: string, layer: GenLayer): void {
  vars.set(`${prefix}.w`, layer.w);
  vars.set(`${prefix}.b`, layer.b);
  for (const [k, v] of layer.bn?.variables ?? []) vars.set(k, v);
}

function genLayer(
  shape: number[],
  fanIn: number,
  fanOut: number,
  last: boolean,
  bn: boolean,
  rng: Rng,
  prefix: string,
) {
  const dim = shape.length === 2 ? shape[1]! : shape[2]!;
  return {
    w: initWeight(shape, fanIn, fanOut, last ? 'glorot' : 'he', rng),
    b: zeros([dim]),
    bn: bn && !last ? new BatchNorm(dim, `${prefix}.bn`) : null,
  };
}

function finish(h: tf.Tensor, layer: GenLayer, last: boolean, training: boolean): tf.Tensor {
  if (last) return h;
  return tf.relu(layer.bn ? layer.bn.apply(h, training) : h);
}

/** G: [z, y] -> dense ReLU layers (batch-normalized when bn) -> dense -> data */
export class MlpGenerator implements Generator {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: GenLayer[] = [];
  constructor(
    inDim: number,
    hidden: number[],
    private readonly shape: number[],
    bn: boolean,
    rng: Rng,
    prefix: string,
  ) {
    const sizes = [inDim, ...hidden, shape.reduce((a, b) => a * b, 1)];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const last = l + 2 === sizes.length;
      const layer = genLayer(
        [sizes[l]!, sizes[l + 1]!],
        sizes[l]!,
        sizes[l + 1]!,
        last,
        bn,
        rng,
        `${prefix}.${l}`,
      );
      this.layers.push(layer);
      register(this.variables, `${prefix}.${l}`, layer);
    }
  }
  apply(zy: tf.Tensor, training: boolean): tf.Tensor {
    return tf.tidy(() => {
      let h = zy as tf.Tensor2D;
      this.layers.forEach((layer, l) => {
        const pre = tf.add(tf.matMul(h, layer.w as tf.Tensor2D), layer.b);
        h = finish(pre, layer, l + 1 === this.layers.length, training) as tf.Tensor2D;
      });
      return tf.reshape(h, [zy.shape[0]!, ...this.shape]);
    });
  }
}

/** G: [z, y] -dense-> [H/4, W/4, c2] -deconv-> [H/2, W/2, c1] -deconv-> [H, W, C] (ReLU, optional batch norm) */
export class ConvGenerator implements Generator {
  readonly variables = new Map<string, tf.Variable>();
  private readonly fc: GenLayer;
  private readonly deconv: GenLayer[] = [];
  private readonly h4: number;
  private readonly w4: number;
  constructor(
    inDim: number,
    private readonly channels: [number, number],
    private readonly shape: number[],
    bn: boolean,
    rng: Rng,
    prefix: string,
  ) {
    const [H, W, C] = shape as [number, number, number];
    [this.h4, this.w4] = [H / 4, W / 4];
    const flat = this.h4 * this.w4 * channels[1];
    this.fc = genLayer([inDim, flat], inDim, flat, false, false, rng, `${prefix}.fc.0`);
    // batch norm over the channels of the reshaped projection (as DCGAN), registered under the fc layer
    if (bn) this.fc.bn = new BatchNorm(channels[1], `${prefix}.fc.0.bn`);
    register(this.variables, `${prefix}.fc.0`, this.fc);
    const K = 4;
    const chans = [channels[1], channels[0], C];
    for (let l = 0; l < 2; l++) {
      const [inC, outC] = [chans[l]!, chans[l + 1]!];
      // conv2dTranspose filter layout: [k, k, outChannels, inChannels]
      const layer = genLayer(
        [K, K, outC, inC],
        K * K * inC,
        K * K * outC,
        l === 1,
        bn,
        rng,
        `${prefix}.deconv.${l}`,
      );
      this.deconv.push(layer);
      register(this.variables, `${prefix}.deconv.${l}`, layer);
    }
  }
  apply(zy: tf.Tensor, training: boolean): tf.Tensor {
    return tf.tidy(() => {
      const n = zy.shape[0]!;
      const pre = tf.add(tf.matMul(zy as tf.Tensor2D, this.fc.w as tf.Tensor2D), this.fc.b);
      let h = finish(
        tf.reshape(pre, [n, this.h4, this.w4, this.channels[1]]),
        this.fc,
        false,
        training,
      ) as tf.Tensor4D;
      this.deconv.forEach((layer, l) => {
        const [size, sizeW] = [this.h4 * 2 ** (l + 1), this.w4 * 2 ** (l + 1)];
        const outC = layer.b.shape[0]!;
        const out = tf.add(
          tf.conv2dTranspose(h, layer.w as tf.Tensor4D, [n, size, sizeW, outC], 2, 'same'),
          layer.b,
        );
        h = finish(out, layer, l === 1, training) as tf.Tensor4D;
      });
      return h;
    });
  }
}

export class MlpDiscriminator implements DiscriminatorBody {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: { w: tf.Variable; b: tf.Variable }[] = [];
  readonly outDim: number;
  constructor(inDim: number, hidden: number[], rng: Rng, prefix: string) {
    let fanIn = inDim;
    hidden.forEach((h, l) => {
      const w = initWeight([fanIn, h], fanIn, h, 'he', rng);
      const b = zeros([h]);
      this.layers.push({ w, b });
      this.variables.set(`${prefix}.${l}.w`, w);
      this.variables.set(`${prefix}.${l}.b`, b);
      fanIn = h;
    });
    this.outDim = fanIn;
  }
  apply(x: tf.Tensor, noise: FeatureNoise = (h) => h): tf.Tensor2D {
    return tf.tidy(() => {
      let h = tf.reshape(x, [x.shape[0]!, -1]) as tf.Tensor2D;
      for (const { w, b } of this.layers)
        h = noise(leakyRelu(tf.add(tf.matMul(h, w as tf.Tensor2D), b))) as tf.Tensor2D;
      return h;
    });
  }
}

export class ConvDiscriminator implements DiscriminatorBody {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: { w: tf.Variable; b: tf.Variable }[] = [];
  readonly outDim: number;
  constructor(shape: number[], channels: [number, number], rng: Rng, prefix: string) {
    const K = 4;
    let inC = shape[2]!;
    channels.forEach((outC, l) => {
      const w = initWeight([K, K, inC, outC], K * K * inC, K * K * outC, 'he', rng);
      const b = zeros([outC]);
      this.layers.push({ w, b });
      this.variables.set(`${prefix}.${l}.w`, w);
      this.variables.set(`${prefix}.${l}.b`, b);
      inC = outC;
    });
    this.outDim = (shape[0]! / 4) * (shape[1]! / 4) * channels[1];
  }
  apply(x: tf.Tensor, noise: FeatureNoise = (h) => h): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x as tf.Tensor4D;
      for (const { w, b } of this.layers)
        h = noise(leakyRelu(tf.add(tf.conv2d(h, w as tf.Tensor4D, 2, 'same'), b))) as tf.Tensor4D;
      return tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    });
  }
}

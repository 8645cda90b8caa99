// Convolutional encoder / decoder for small images (e.g. 28x28x1):
//   encoder  [H,W,C] -conv s2-> [H/2,W/2,c1] -conv s2-> [H/4,W/4,c2] -> flatten
//   decoder  flat -> reshape [H/4,W/4,c2] -deconv s2-> [H/2,W/2,c1] -deconv s2-> [H,W,out]
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { activate, initFor, initWeight, zeros, type Activation, type Module } from './init.js';

const K = 4; // kernel size; 4x4 with stride 2 tiles the input without checkerboard gaps

/** Strided-convolution feature extractor: x [n,H,W,C] -> [n, (H/4)(W/4)c2] (activated). */
export class ConvEncoder implements Module {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: { w: tf.Variable; b: tf.Variable }[] = [];
  readonly outDim: number;

  constructor(
    inShape: number[],
    channels: [number, number],
    private readonly act: Activation,
    rng: Rng,
    prefix: string,
  ) {
    const [h, w, c] = inShape as [number, number, number];
    let inC = c;
    channels.forEach((outC, l) => {
      const wt = initWeight([K, K, inC, outC], K * K * inC, K * K * outC, initFor(act), rng);
      const b = zeros([outC]);
      this.layers.push({ w: wt, b });
      this.variables.set(`${prefix}.${l}.w`, wt);
      this.variables.set(`${prefix}.${l}.b`, b);
      inC = outC;
    });
    this.outDim = (h / 4) * (w / 4) * channels[1];
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = x as tf.Tensor4D;
      for (const { w, b } of this.layers) {
        h = activate(tf.add(tf.conv2d(h, w as tf.Tensor4D, 2, 'same'), b), this.act) as tf.Tensor4D;
      }
      return tf.reshape(h, [h.shape[0], -1]);
    });
  }
}

/** Transposed-convolution generator: flat [n, (H/4)(W/4)c2] -> [n, H, W, outC] (linear output). */
export class ConvDecoder implements Module {
  readonly variables = new Map<string, tf.Variable>();
  private readonly layers: { w: tf.Variable; b: tf.Variable; outC: number }[] = [];
  private readonly h: number;
  private readonly w: number;
  private readonly c2: number;

  constructor(
    outShape: number[],
    outC: number,
    channels: [number, number],
    private readonly act: Activation,
    rng: Rng,
    prefix: string,
  ) {
    const [h, w] = outShape as [number, number];
    [this.h, this.w, this.c2] = [h, w, channels[1]];
    const chans = [channels[1], channels[0], outC];
    for (let l = 0; l < 2; l++) {
      const [inC, oC] = [chans[l]!, chans[l + 1]!];
      const last = l === 1;
      // conv2dTranspose filter layout: [k, k, outChannels, inChannels]
      const wt = initWeight([K, K, oC, inC], K * K * inC, K * K * oC, last ? 'glorot' : initFor(act), rng);
      const b = zeros([oC]);
      this.layers.push({ w: wt, b, outC: oC });
      this.variables.set(`${prefix}.${l}.w`, wt);
      this.variables.set(`${prefix}.${l}.b`, b);
    }
  }

  get inDim(): number {
    return (this.h / 4) * (this.w / 4) * this.c2;
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      let h = tf.reshape(x, [n, this.h / 4, this.w / 4, this.c2]) as tf.Tensor4D;
      this.layers.forEach(({ w, b, outC }, l) => {
        const size = (this.h / 4) * 2 ** (l + 1);
        const sizeW = (this.w / 4) * 2 ** (l + 1);
        h = tf.add(tf.conv2dTranspose(h, w as tf.Tensor4D, [n, size, sizeW, outC], 2, 'same'), b);
        if (l === 0) h = activate(h, this.act) as tf.Tensor4D;
      });
      return h;
    });
  }
}

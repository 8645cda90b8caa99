// Gated PixelCNN (van den Oord et al. 2016b, "Conditional Image Generation with PixelCNN Decoders", sec. 2.1-2.3,
// fig. 2): two stacks with no blind spot.
//   vertical stack v: features at (r, c) see every input pixel in the rows above r (a (k/2+1) x k kernel; the
//     first layer reads rows r-k/2-1..r-1, later layers rows r-k/2..r of v, whose rows already see only the past)
//   horizontal stack h: features at (r, c) see the pixels left of c in row r (first layer: 1 x k/2, strictly
//     left; later layers 1 x (k/2+1) including column c of h) plus the vertical features at (r, c) (1x1 link)
//   gated activation (eq. 2): y = tanh(W_f * x) . sigmoid(W_g * x); the horizontal stack is residual and its
//   layers feed skip connections that sum into the output head (ReLU, 1x1, ReLU, 1x1).
// Conditional (eq. 4): a class term V_f^T y, V_g^T y added inside both gates of every layer; with `classMap` > 0
// also (eq. 5) V * s for a learned per-class spatial map s of that many channels.
// The C channels of a pixel are conditionally independent given the earlier pixels.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../core/rng.js';
import { UserError } from '../../core/model.js';
import type { DataSpec } from '../../data/spec.js';
import { z } from 'zod';
import { parseModelOptions } from '../../core/registry.js';
import {
  Autoregressive,
  COMMON_OPTIONS,
  IMAGE_HEAD_OPTIONS,
  INPUT_OPTION,
  oneHotInput,
  resolveCommon,
  type SamplerSession,
  storedInputs,
} from './base.js';
import { ClassBias, ClassMap, Conv2d, Linear1x1, Params } from './masked.js';
import { rowCroppedSession } from './pixelcnn.js';

export const GATED_PIXELCNN_SCHEMA = z.object({
  ...COMMON_OPTIONS,
  channels: z.int().min(1).default(64).describe('channels of both stacks'),
  layers: z.int().min(1).default(7).describe('gated layers'),
  kernel: z
    .int()
    .min(3)
    .refine((k) => k % 2 === 1, 'must be odd')
    .default(5)
    .describe('kernel of the vertical and horizontal stacks'),
  ...IMAGE_HEAD_OPTIONS,
  ...INPUT_OPTION,
});

interface Layer {
  v: Conv2d;
  h: Conv2d;
  link: Linear1x1;
  res: Linear1x1;
  skip: Linear1x1;
  clsV: ClassBias | null;
  clsH: ClassBias | null;
  mapV: Linear1x1 | null;
  mapH: Linear1x1 | null;
}

/** tanh(a) * sigmoid(b) for [a | b] split on channels */
function gate(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [f, g] = tf.split(x, 2, 3);
    return tf.mul(tf.tanh(f!), tf.sigmoid(g!)) as tf.Tensor4D;
  });
}

export class GatedPixelCNN extends Autoregressive {
  readonly config: Record<string, unknown>;
  private readonly layers: Layer[];
  private readonly head1: Linear1x1;
  private readonly head2: Linear1x1;
  private readonly k: number;
  private readonly classMap: ClassMap | null;
  private readonly oneHotIn: boolean;

  constructor(kind: string, raw: object, spec: DataSpec, seed: number) {
    const c = parseModelOptions(kind, GATED_PIXELCNN_SCHEMA, raw);
    const common = resolveCommon(c, spec);
    const [H, W, C] = spec.shape as [number, number, number];
    super(kind, spec, common, { T: H * W, C });
    const { channels: h, layers: nl, kernel: k, headChannels: hc, classMap: m } = c;
    this.config = {
      ...common,
      channels: h,
      layers: nl,
      kernel: k,
      headChannels: hc,
      classMap: m,
      ...storedInputs(c.inputs),
    };
    this.oneHotIn = c.inputs === 'onehot';
    this.k = k;
    const rng = new Rng(seed);
    const p = new Params(this.vars);
    const K = this.numClasses;
    const half = Math.floor(k / 2);
    this.classMap = K && m ? new ClassMap(p, 'classMap', K, [H, W], m, rng) : null;
    this.layers = Array.from({ length: nl }, (_, i) => {
      const cin = i === 0 ? (this.oneHotIn ? C * this.head.levels : C) : h;
      return {
        v: new Conv2d(p, `layer${i}.v`, half + 1, k, cin, 2 * h, rng),
        h: new Conv2d(p, `layer${i}.h`, 1, i === 0 ? half : half + 1, cin, 2 * h, rng),
        link: new Linear1x1(p, `layer${i}.link`, 2 * h, 2 * h, rng),
        res: new Linear1x1(p, `layer${i}.res`, h, h, rng),
        skip: new Linear1x1(p, `layer${i}.skip`, h, h, rng),
        clsV: K ? new ClassBias(p, `layer${i}.clsV`, K, 2 * h, rng) : null,
        clsH: K ? new ClassBias(p, `layer${i}.clsH`, K, 2 * h, rng) : null,
        mapV: this.classMap ? new Linear1x1(p, `layer${i}.mapV`, m, 2 * h, rng) : null,
        mapH: this.classMap ? new Linear1x1(p, `layer${i}.mapH`, m, 2 * h, rng) : null,
      };
    });
    this.head1 = new Linear1x1(p, 'head1', h, hc, rng);
    this.head2 = new Linear1x1(p, 'head2', hc, C * this.head.P, rng, 0.01);
  }

  params(x: tf.Tensor, yOh: tf.Tensor2D | null, row0 = 0): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, H, W] = x.shape as [number, number, number];
      const sMap = yOh && this.classMap ? this.classMap.apply(yOh, row0, H) : null;
      const half = Math.floor(this.k / 2);
      const input = (this.oneHotIn ? oneHotInput(x, this.head.levels) : x) as tf.Tensor4D;
      let v = input;
      let h = input;
      let skip: tf.Tensor4D | null = null;
      this.layers.forEach((L, i) => {
        // vertical: first layer strictly above (pad one extra row on top, drop the last output row)
        let vPre =
          i === 0
            ? tf.slice(L.v.apply(v, [half + 1, 0, half, half]), [0, 0, 0, 0], [-1, H, -1, -1])
            : L.v.apply(v, [half, 0, half, half]);
        // horizontal: first layer strictly left (drop the last output column), later layers include column c
        let hPre =
          i === 0
            ? tf.slice(L.h.apply(h, [0, 0, half, 0]), [0, 0, 0, 0], [-1, -1, W, -1])
            : L.h.apply(h, [0, 0, half, 0]);
        hPre = tf.add(hPre, L.link.apply(vPre));
        if (yOh) {
          vPre = tf.add(vPre, L.clsV!.apply(yOh));
          hPre = tf.add(hPre, L.clsH!.apply(yOh));
        }
        if (sMap) {
          vPre = tf.add(vPre, L.mapV!.apply(sMap));
          hPre = tf.add(hPre, L.mapH!.apply(sMap));
        }
        const g = gate(hPre as tf.Tensor4D);
        const s = L.skip.apply(g);
        skip = skip ? (tf.add(skip, s) as tf.Tensor4D) : s;
        const r = L.res.apply(g);
        h = i === 0 ? r : (tf.add(h, r) as tf.Tensor4D);
        v = gate(vPre as tf.Tensor4D);
      });
      const out = this.head2.apply(tf.relu(this.head1.apply(tf.relu(skip!))));
      return tf.reshape(out, [n, H * W, this.C, this.head.P]) as tf.Tensor4D;
    });
  }

  /** neither stack looks down: each step runs on rows r - R..r only */
  override beginSampling(n: number, yOh: tf.Tensor2D | null): SamplerSession {
    return rowCroppedSession(this, yOh, this.receptiveRows());
  }

  /** rows above a pixel that can reach it: k/2 + 1 for the first vertical layer, k/2 for each later one */
  receptiveRows(): number {
    const half = Math.floor(this.k / 2);
    return half + 1 + (this.layers.length - 1) * half;
  }
}

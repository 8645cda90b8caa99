// PixelCNN (van den Oord et al. 2016a, "Pixel Recurrent Neural Networks", sec. 3.4 and fig. 5): a k x k
// mask-'A' convolution, residual blocks [ReLU, 1x1 h -> h/2, ReLU, 3x3 mask 'B' h/2 -> h/2, ReLU, 1x1 h/2 -> h]
// added to their input, then ReLU, 1x1, ReLU, 1x1 to the head's parameters at every pixel. Masks make
// pixel t's parameters depend only on pixels before t in raster order; stacked masked convolutions leave a
// "blind spot" above-right of each pixel (fixed by the gated PixelCNN's two stacks).
// Conditional (van den Oord et al. 2016b, eq. 4): a learned class bias added to every block's features, and
// (eq. 5, `classMap` > 0 channels) a learned per-class spatial map s added through a 1x1 V in every block.
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
import { ClassBias, ClassMap, Conv2d, Linear1x1, Params, convMask } from './masked.js';

export const PIXELCNN_SCHEMA = z.object({
  ...COMMON_OPTIONS,
  channels: z.int().min(2).default(64).describe('channels of the residual blocks'),
  blocks: z.int().min(0).default(7).describe('residual blocks of mask-B convolutions'),
  firstKernel: z
    .int()
    .min(1)
    .refine((k) => k % 2 === 1, 'must be odd')
    .default(7)
    .describe('kernel of the first (mask A) layer'),
  kernel: z
    .int()
    .min(1)
    .refine((k) => k % 2 === 1, 'must be odd')
    .default(3)
    .describe('kernel of the mask-B layers in the blocks'),
  ...IMAGE_HEAD_OPTIONS,
  ...INPUT_OPTION,
});

interface Block {
  down: Linear1x1;
  conv: Conv2d;
  up: Linear1x1;
  cls: ClassBias | null;
  clsMap: Linear1x1 | null;
}

export class PixelCNN extends Autoregressive {
  readonly config: Record<string, unknown>;
  private readonly first: Conv2d;
  private readonly blocks: Block[];
  private readonly head1: Linear1x1;
  private readonly head2: Linear1x1;
  private readonly firstCls: ClassBias | null;
  private readonly classMap: ClassMap | null;
  private readonly oneHotIn: boolean;

  constructor(kind: string, raw: object, spec: DataSpec, seed: number) {
    const c = parseModelOptions(kind, PIXELCNN_SCHEMA, raw);
    const common = resolveCommon(c, spec);
    const [H, W, C] = spec.shape as [number, number, number];
    super(kind, spec, common, { T: H * W, C });
    const { channels: h, blocks: nb, firstKernel: k1, kernel: k, headChannels: hc, classMap: m } = c;
    this.config = {
      ...common,
      channels: h,
      blocks: nb,
      firstKernel: k1,
      kernel: k,
      headChannels: hc,
      classMap: m,
      ...storedInputs(c.inputs),
    };
    this.oneHotIn = c.inputs === 'onehot';
    const cin = this.oneHotIn ? C * this.head.levels : C;
    const rng = new Rng(seed);
    const p = new Params(this.vars);
    const K = this.numClasses;
    this.classMap = K && m ? new ClassMap(p, 'classMap', K, [H, W], m, rng) : null;
    const h2 = Math.max(1, Math.floor(h / 2));
    this.first = new Conv2d(p, 'first', k1, k1, cin, h, rng, convMask(k1, 'A', cin, h));
    this.firstCls = K ? new ClassBias(p, 'first.cls', K, h, rng) : null;
    this.blocks = Array.from({ length: nb }, (_, i) => ({
      down: new Linear1x1(p, `block${i}.down`, h, h2, rng),
      conv: new Conv2d(p, `block${i}.conv`, k, k, h2, h2, rng, convMask(k, 'B', h2, h2)),
      up: new Linear1x1(p, `block${i}.up`, h2, h, rng),
      cls: K ? new ClassBias(p, `block${i}.cls`, K, h, rng) : null,
      clsMap: this.classMap ? new Linear1x1(p, `block${i}.clsMap`, m, h, rng) : null,
    }));
    this.head1 = new Linear1x1(p, 'head1', h, hc, rng);
    this.head2 = new Linear1x1(p, 'head2', hc, C * this.head.P, rng, 0.01);
  }

  params(x: tf.Tensor, yOh: tf.Tensor2D | null, row0 = 0): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, H, W] = x.shape as [number, number, number];
      const s = yOh && this.classMap ? this.classMap.apply(yOh, row0, H) : null;
      const input = this.oneHotIn ? oneHotInput(x, this.head.levels) : x;
      let f = this.first.same(input as tf.Tensor4D);
      if (yOh) f = tf.add(f, this.firstCls!.apply(yOh));
      for (const b of this.blocks) {
        let r = b.down.apply(tf.relu(f));
        r = b.conv.same(tf.relu(r));
        r = b.up.apply(tf.relu(r));
        f = tf.add(f, r);
        if (yOh) f = tf.add(f, b.cls!.apply(yOh));
        if (s) f = tf.add(f, b.clsMap!.apply(s));
      }
      const out = this.head2.apply(tf.relu(this.head1.apply(tf.relu(f))));
      return tf.reshape(out, [n, H * W, this.C, this.head.P]) as tf.Tensor4D;
    });
  }

  /** masked convolutions never look down, and each layer looks k/2 rows up: step t runs on rows r - R..r */
  override beginSampling(n: number, yOh: tf.Tensor2D | null): SamplerSession {
    return rowCroppedSession(this, yOh, this.receptiveRows());
  }

  /** rows above a pixel that can reach it: k1/2 for the first layer, k/2 per residual block */
  receptiveRows(): number {
    const { firstKernel, kernel, blocks } = this.config as {
      firstKernel: number;
      kernel: number;
      blocks: number;
    };
    return Math.floor(firstKernel / 2) + blocks * Math.floor(kernel / 2);
  }

  protected override maskedOut(): number {
    return [this.first, ...this.blocks.map((b) => b.conv)].reduce(
      (s, c) => s + c.w.size - c.freeWeights(),
      0,
    );
  }

  override dispose(): void {
    this.first.dispose();
    for (const b of this.blocks) b.conv.dispose();
    super.dispose();
  }
}

/**
 * Sampler for convolutional models whose outputs at row r depend only on input rows r - R..r (R = the
 * receptive field's height above a pixel): each step evaluates the network on those rows only. Features near
 * the top of the window see zero padding instead of the rows above, but no path from them reaches row r.
 */
export function rowCroppedSession(
  model: Autoregressive,
  yOh: tf.Tensor2D | null,
  rowsAbove: number,
): SamplerSession {
  const W = model.spec.shape[1]!;
  return {
    next: (x, t) =>
      tf.tidy(() => {
        const r = Math.floor(t / W);
        const r0 = Math.max(0, r - rowsAbove);
        const win = tf.slice(x, [0, r0, 0, 0], [-1, r - r0 + 1, -1, -1]);
        const p = model.params(win, yOh, r0);
        return tf.squeeze(tf.slice(p, [0, t - r0 * W, 0, 0], [-1, 1, -1, -1]), [1]);
      }),
    dispose: () => undefined,
  };
}

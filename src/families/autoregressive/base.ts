// What every autoregressive model shares. The chain rule p(x) = prod_t p(x_t | x_<t) over T positions, each
// holding C values (a pixel's channels, which are conditionally independent given the earlier positions):
//   log p(x) = sum_t sum_c log p(x_{t,c} | x_<t)   -- exact, one network pass (teacher forcing)
//   sampling: T sequential steps, position t drawn from the parameters computed from the positions drawn so far.
// Subclasses give the parameters of every conditional (params) and a sampler that reuses what it can.
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { conditionClasses, oneHotLabels, sampleArgs } from '../../core/labels.js';
import { Rng } from '../../core/rng.js';
import {
  UserError,
  type Batch,
  type GenerativeModel,
  type Objective,
  type SampleOptions,
  type Taxonomy,
} from '../../core/model.js';
import { dims, type DataSpec } from '../../data/spec.js';
import { defaultOutput, OutputHead, outputProblem, type OutputKind } from './outputs.js';

/** config keys every autoregressive model has */
export interface ArCommon {
  /** distribution of one value given its parameters */
  output: OutputKind;
  /** K of the logistic-mixture output */
  mixtures: number;
  conditional: boolean;
}

/** the options every autoregressive model has (spread into each model's schema) */
export const COMMON_OPTIONS = {
  output: z
    .enum(['auto', 'bernoulli', 'categorical', 'logistic'])
    .default('auto')
    .describe(
      "distribution of one value ('auto': bernoulli for binary data, categorical over the levels of 8-bit data)",
    ),
  mixtures: z.int().min(1).default(5).describe('K of the logistic-mixture output (PixelCNN++)'),
  conditional: z.boolean().default(false).describe('class-conditional p(x | y)'),
};

/** the options of the convolutional (image) models' output head and class conditioning (PixelCNN, Gated) */
export const IMAGE_HEAD_OPTIONS = {
  headChannels: z.int().min(1).default(64).describe('channels of the 1x1 output head'),
  classMap: z
    .int()
    .min(0)
    .default(8)
    .describe(
      'conditional models: channels of the per-class spatial map (eq. 5); 0 = class bias only (eq. 4)',
    ),
};

/**
 * What the network reads of each value (PixelCNN, Gated PixelCNN, Transformer): the value itself, or a one-hot
 * vector over its L levels (categorical tokens such as VQ-VAE codes, where the order of the levels means nothing).
 */
export const INPUT_OPTION = {
  inputs: z
    .enum(['value', 'onehot'])
    .default('value')
    .describe("what the network reads of each value: the value, or 'onehot' over its levels (token grids)"),
};

/** the stored form of the option: only when not the default, so configs written before it read back unchanged */
export function storedInputs(inputs: 'value' | 'onehot'): { inputs?: 'onehot' } {
  return inputs !== 'value' ? { inputs } : {};
}

/** x [..., C] in data units -> one-hot levels [..., C * L] (level round(x (L - 1))). */
export function oneHotInput(x: tf.Tensor, levels: number): tf.Tensor {
  return tf.tidy(() => {
    const idx = tf.cast(tf.round(tf.mul(x, levels - 1)), 'int32');
    const oh = tf.cast(tf.oneHot(tf.reshape(idx, [-1]), levels), 'float32');
    return tf.reshape(oh, [...x.shape.slice(0, -1), x.shape[x.rank - 1]! * levels]);
  });
}

/** Resolve the common keys ('auto' output from the data domain). */
export function resolveCommon(
  c: { output: OutputKind | 'auto'; mixtures: number; conditional: boolean },
  spec: DataSpec,
): ArCommon {
  const auto = defaultOutput(spec);
  if (c.output === 'auto' && auto === null)
    throw new UserError(
      `autoregressive models need discrete data (binary or 8-bit images without dequantization); got '${spec.domain}'`,
    );
  conditionClasses(spec, c.conditional);
  return { output: c.output === 'auto' ? auto! : c.output, mixtures: c.mixtures, conditional: c.conditional };
}

/** Why an autoregressive model cannot take this data, or null. */
export function acceptsDiscrete(spec: DataSpec): string | null {
  if (dims(spec) === 0) return 'data has no dimensions';
  return defaultOutput(spec) === null
    ? `needs discrete data (binary, or 8-bit images with binarize=none and no dequantization); got '${spec.domain}'`
    : null;
}

export function acceptsImages(spec: DataSpec): string | null {
  if (spec.kind !== 'image' || spec.shape.length !== 3) return `needs images [H, W, C] (got ${spec.kind})`;
  return acceptsDiscrete(spec);
}

/** Why an output kind other than 'auto' cannot model this data, or null. */
export function acceptsOutput(spec: DataSpec, c: { output: OutputKind | 'auto' }): string | null {
  return c.output === 'auto' ? null : outputProblem(c.output, spec);
}

/**
 * Incremental sampler: next(x, t) returns the parameters [n, C, P] of position t given x (with positions before
 * t already drawn). Implementations may keep state (running sums, key/value caches) between calls; calls
 * come in the model's order.
 */
/** SampleOptions' progress hooks, as the sampling loop calls them */
export type SampleHooks = Pick<SampleOptions, 'onStep' | 'onState'>;

export interface SamplerSession {
  next(x: tf.Tensor, t: number): tf.Tensor;
  dispose(): void;
}

export abstract class Autoregressive implements GenerativeModel {
  readonly taxonomy: Taxonomy;
  readonly head: OutputHead;
  readonly numClasses: number;
  /** positions in the product and values per position */
  readonly T: number;
  readonly C: number;
  abstract readonly config: Record<string, unknown>;
  protected readonly vars = new Map<string, tf.Variable>();

  constructor(
    readonly kind: string,
    readonly spec: DataSpec,
    readonly common: ArCommon,
    layout: { T: number; C: number },
  ) {
    this.T = layout.T;
    this.C = layout.C;
    this.head = new OutputHead(common.output, spec, common.mixtures);
    this.numClasses = conditionClasses(spec, common.conditional);
    this.taxonomy = {
      family: 'autoregressive',
      density: 'exact',
      sampling: 'iterative',
      latent: false,
      conditional: common.conditional,
    };
  }

  /**
   * Parameters of every conditional, [n, T, C, P], in one pass: position t must depend on x only through the
   * positions before t in the model's order (masks give exact zeros; tested by gradients). Image models may be
   * given a band of rows of the image (x holds rows row0..): see rowCroppedSession.
   */
  abstract params(x: tf.Tensor, yOh: tf.Tensor2D | null, row0?: number): tf.Tensor4D;

  /** the positions in sampling order (the chain-rule order) */
  order(): number[] {
    return Array.from({ length: this.T }, (_, t) => t);
  }

  /** default sampler: a full pass per position; subclasses reuse work */
  beginSampling(n: number, yOh: tf.Tensor2D | null): SamplerSession {
    void n;
    return {
      next: (x, t) =>
        tf.tidy(() => {
          const p = this.params(x, yOh);
          return tf.squeeze(tf.slice(p, [0, t, 0, 0], [-1, 1, -1, -1]), [1]);
        }),
      dispose: () => undefined,
    };
  }

  variables(): Map<string, tf.Variable> {
    return this.vars;
  }

  /** number of parameters, and how many of them masks leave free (all, for unmasked models) */
  parameterCount(): { total: number; free: number } {
    let total = 0;
    for (const v of this.vars.values()) total += v.size;
    return { total, free: total - this.maskedOut() };
  }

  /** weights fixed at zero by masks */
  protected maskedOut(): number {
    return 0;
  }

  /** y -> one-hot [n, K] for a conditional model (null otherwise), with checks. */
  oneHot(y: tf.Tensor1D | undefined, n: number): tf.Tensor2D | null {
    return oneHotLabels(this.kind, this.numClasses, y, n);
  }

  /** log p(x_{t,c} | x_<t) for every value: [n, T, C] */
  logProbTerms(x: tf.Tensor, yOh: tf.Tensor2D | null): tf.Tensor3D {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const p = this.params(x, yOh);
      return this.head.logProb(p, tf.reshape(x, [n, this.T, this.C])) as tf.Tensor3D;
    });
  }

  /** exact log p(x) in nats per example */
  logProb(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor1D {
    this.checkShape(x);
    return tf.tidy(() => tf.sum(this.logProbTerms(x, this.oneHot(y, x.shape[0]!)), [1, 2]) as tf.Tensor1D);
  }

  protected checkShape(x: tf.Tensor): void {
    const want = this.spec.shape;
    if (x.rank !== want.length + 1 || want.some((d, i) => x.shape[i + 1] !== d))
      throw new UserError(`expected x of shape [n, ${want.join(', ')}] (got [${x.shape.join(', ')}])`);
  }

  objectives(): Objective[] {
    const D = dims(this.spec);
    return [
      {
        name: 'nll',
        variables: () => [...this.vars.values()],
        loss: (batch: Batch, ctx) =>
          tf.tidy(() => {
            const lp = this.trainLogProb(batch.x, this.oneHot(batch.y, batch.x.shape[0]!), ctx.seed());
            const nll = tf.neg(tf.mean(lp)) as tf.Scalar;
            return { loss: nll, metrics: { bitsPerDim: tf.div(nll, D * Math.LN2) as tf.Scalar } };
          }),
      },
    ];
  }

  /** the log-likelihood the training loss uses (order-agnostic MADE draws a mask with `seed`) */
  protected trainLogProb(x: tf.Tensor, yOh: tf.Tensor2D | null, seed: number): tf.Tensor1D {
    void seed;
    return tf.sum(this.logProbTerms(x, yOh), [1, 2]) as tf.Tensor1D;
  }

  /** x ~ p(x), position by position in the model's order */
  sample(n: number, opts: SampleOptions = {}): tf.Tensor {
    const { T, y } = sampleArgs(this.kind, this.common.conditional ? this.numClasses : 0, n, opts, {
      positive: true,
    });
    const yOh = y ? this.oneHot(y, n) : null;
    try {
      const hooks = {
        ...(opts.onStep ? { onStep: opts.onStep } : {}),
        ...(opts.onState ? { onState: opts.onState } : {}),
      };
      return this.sampleWith(n, yOh, new Rng(opts.seed ?? 0), T, hooks);
    } finally {
      y?.dispose();
      yOh?.dispose();
    }
  }

  protected sampleWith(
    n: number,
    yOh: tf.Tensor2D | null,
    rng: Rng,
    temperature: number,
    hooks: SampleHooks = {},
  ): tf.Tensor {
    return this.sampleLoop(n, this.order(), this.beginSampling(n, yOh), rng, temperature, hooks);
  }

  /**
   * The sequential loop: the drawn values live in a JS buffer; each step draws one position for all samples.
   * hooks.onState sees the partial sample after each position (positions not drawn yet are 0).
   */
  protected sampleLoop(
    n: number,
    order: number[],
    session: SamplerSession,
    rng: Rng,
    temperature: number,
    hooks: SampleHooks = {},
  ): tf.Tensor {
    const { T, C } = this;
    const buf = new Float32Array(n * T * C);
    const state = () => tf.tensor(buf.slice(), [n, ...this.spec.shape]);
    const total = order.length;
    hooks.onState?.(0, total, state);
    try {
      for (const [k, t] of order.entries()) {
        const v = tf.tidy(() => {
          const x = tf.tensor(buf, [n, ...this.spec.shape]);
          return this.head.sample(session.next(x, t), rng.nextSeed(), temperature).dataSync();
        });
        for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) buf[(i * T + t) * C + c] = v[i * C + c]!;
        hooks.onStep?.(k + 1, total);
        hooks.onState?.(k + 1, total, state);
      }
    } finally {
      session.dispose();
    }
    return tf.tensor(buf, [n, ...this.spec.shape]);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

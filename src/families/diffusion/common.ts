// What DDPM and flow matching share: the denoiser options and construction, the map between data space and
// the model's space, classifier-free guidance (Ho & Salimans 2022), the checks of sample-time options.
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { UserError, type Batch, type SampleOptions } from '../../core/model.js';
import type { Rng } from '../../core/rng.js';
import { dims, type DataSpec } from '../../data/spec.js';
import type { Denoiser } from './layers.js';
import { MlpDenoiser } from './mlp.js';
import { UNet } from './unet.js';

/** The denoiser and conditioning options, shared by the two models' schemas. */
export const netFields = {
  net: z
    .enum(['auto', 'mlp', 'unet'])
    .default('auto')
    .describe('denoiser: a U-Net for images, a residual MLP for vectors (auto picks by the data)'),
  hidden: z.int().min(1).default(128).describe('MLP denoiser: width of the hidden layers'),
  blocks: z.int().min(1).default(3).describe('MLP denoiser: number of residual blocks'),
  channels: z
    .array(z.int().min(1))
    .min(1)
    .default([32, 64, 64])
    .describe('U-Net: channels at each resolution (H, H/2, H/4, ...); H and W divisible by 2^(levels-1)'),
  attention: z.boolean().default(true).describe('U-Net: self-attention at the lowest resolution'),
  draws: z
    .int()
    .min(1)
    .default(1)
    .describe('noise draws (t, noise) per training example and step: the batch is repeated this many times'),
  conditional: z.boolean().default(false).describe('class-conditional with classifier-free guidance'),
  pUncond: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe('conditional: probability of replacing the label by the learned null class in training'),
  guidance: z
    .number()
    .min(0)
    .default(1)
    .describe('conditional: default guidance weight w at sampling, eps = (1+w) eps(x,y) - w eps(x)'),
};

/** Validate a config against a model's schema; the first problem becomes a one-line UserError. */
export function parseConfig<S extends z.ZodType>(kind: string, schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const where = i.path.length ? `config '${i.path.join('.')}'` : `model '${kind}' config`;
    throw new UserError(`${where}: ${i.message} (got ${JSON.stringify(valueAt(raw, i.path))})`);
  }
  return r.data;
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) v = (v as Record<PropertyKey, unknown> | undefined)?.[k];
  return v;
}

type NetConfig = { net: string; hidden: number; blocks: number; channels: number[]; attention: boolean };

/** The denoiser for this data: U-Net for images, MLP for vectors (or as configured). */
export function makeDenoiser(
  kind: string,
  c: NetConfig,
  spec: DataSpec,
  numClasses: number,
  rng: Rng,
): Denoiser {
  const net = c.net === 'auto' ? (spec.kind === 'image' && spec.shape.length === 3 ? 'unet' : 'mlp') : c.net;
  if (net === 'unet') {
    const f = 2 ** (c.channels.length - 1);
    if (spec.kind !== 'image' || spec.shape.length !== 3 || spec.shape[0]! % f || spec.shape[1]! % f)
      throw new UserError(
        `model '${kind}': net 'unet' with ${c.channels.length} levels needs images [H, W, C] with H and W divisible by ${f} (got ${spec.kind} [${spec.shape.join(', ')}])`,
      );
    return new UNet(spec.shape, c.channels, c.attention, numClasses, rng);
  }
  return new MlpDenoiser(dims(spec), c.hidden, c.blocks, numClasses, rng);
}

/**
 * Data space <-> the model's space. Images in [0, 1] (pixel levels or binarized) are mapped to [-1, 1]
 * (Ho et al. sec. 4: "scaled linearly to [-1, 1]"), everything else is used as is.
 */
export class DataMap {
  readonly scaled: boolean;
  /** levels of the data grid in model space (2 for binarized images), null for continuous data */
  readonly levels: number | null;
  constructor(readonly spec: DataSpec) {
    this.scaled = spec.kind === 'image' && (spec.domain === 'unit' || spec.domain === 'binary');
    this.levels = spec.domain === 'binary' ? 2 : spec.domain === 'unit' && spec.levels ? spec.levels : null;
  }
  toModel(x: tf.Tensor): tf.Tensor {
    return this.scaled ? tf.tidy(() => tf.sub(tf.mul(x, 2), 1)) : tf.clone(x);
  }
  fromModel(x: tf.Tensor): tf.Tensor {
    return this.scaled ? tf.tidy(() => tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1)) : tf.clone(x);
  }
  /** log |d x_model / d x| per example (a density in model space -> a density in data space) */
  logJacobian(): number {
    return this.scaled ? dims(this.spec) * Math.LN2 : 0;
  }
  /** the sampler's sampling options with onState reporting data-space states (what sample() returns) */
  samplerHooks(o: SampleOptions): Pick<SampleOptions, 'onStep' | 'onState'> {
    const { onStep, onState } = o;
    return {
      ...(onStep ? { onStep } : {}),
      ...(onState
        ? {
            onState: (i: number, n: number, x: () => tf.Tensor) =>
              onState(i, n, () => tf.tidy(() => this.fromModel(x()))),
          }
        : {}),
    };
  }
  /** x_0hat is clipped to [-1, 1] while sampling images (Ho et al.'s sampler) */
  clip(): [number, number] | null {
    return this.scaled ? [-1, 1] : null;
  }
}

/** The batch repeated `r` times along the batch axis (several noise draws per example in one step). */
export function repeatBatch(b: Batch, r: number): Batch {
  if (r === 1) return b;
  const rep = (t: tf.Tensor) => tf.tile(t, [r, ...t.shape.slice(1).map(() => 1)]);
  return b.y ? { x: rep(b.x), y: rep(b.y) as tf.Tensor1D } : { x: rep(b.x) };
}

/** Labels with probability p replaced by the null class C (classifier-free guidance training). */
export function dropLabels(y: tf.Tensor1D, C: number, p: number, seed: number): tf.Tensor1D {
  return tf.tidy(() => {
    const u = tf.randomUniform(y.shape, 0, 1, 'float32', seed);
    return tf.where(tf.less(u, p), tf.fill(y.shape, C, 'int32'), tf.cast(y, 'int32')) as tf.Tensor1D;
  });
}

/** Ho & Salimans 2022 eq. 6: eps~ = (1 + w) eps(x, y) - w eps(x) */
export function guide(cond: tf.Tensor, uncond: tf.Tensor, w: number): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.mul(cond, 1 + w), tf.mul(uncond, w)));
}

/** The guided output of a conditional denoiser: one pass over [x; x] with labels [y; null]. */
export function guidedPrediction(
  net: Denoiser,
  x: tf.Tensor,
  t: tf.Tensor1D,
  y: tf.Tensor1D,
  C: number,
  w: number,
): tf.Tensor {
  return tf.tidy(() => {
    const n = x.shape[0]!;
    const out = net.apply(
      tf.concat([x, x], 0),
      tf.concat([t, t]) as tf.Tensor1D,
      tf.concat([tf.cast(y, 'int32'), tf.fill([n], C, 'int32')]) as tf.Tensor1D,
    );
    const [cond, uncond] = tf.split(out, 2, 0) as [tf.Tensor, tf.Tensor];
    return guide(cond, uncond, w);
  });
}

/** The checked sample-time options of an iterative sampler (one-line UserErrors). */
export function samplerArgs(
  kind: string,
  o: SampleOptions,
  d: {
    samplers: readonly string[];
    sampler: string;
    steps: number;
    maxSteps?: number;
    conditional: boolean;
    guidance: number;
  },
): { sampler: string; steps: number; eta: number; guidance: number } {
  const sampler = o.sampler ?? d.sampler;
  if (!d.samplers.includes(sampler))
    throw new UserError(
      `model '${kind}': sampler must be one of ${d.samplers.join(', ')} (got ${JSON.stringify(sampler)})`,
    );
  const steps = o.steps ?? d.steps;
  if (!Number.isInteger(steps) || steps < 1 || (d.maxSteps !== undefined && steps > d.maxSteps))
    throw new UserError(
      `model '${kind}': steps must be an integer in 1..${d.maxSteps ?? 'inf'} (got ${JSON.stringify(o.steps ?? steps)})`,
    );
  if (o.eta !== undefined) {
    if (sampler !== 'ddim') throw new UserError(`model '${kind}': eta applies to the ddim sampler only`);
    if (!(Number.isFinite(o.eta) && o.eta >= 0)) throw new UserError(`eta must be >= 0 (got ${o.eta})`);
  }
  if (o.guidance !== undefined) {
    if (!d.conditional)
      throw new UserError(`model '${kind}' is not conditional: guidance needs conditional=true`);
    if (!(Number.isFinite(o.guidance) && o.guidance >= 0))
      throw new UserError(`guidance must be a number >= 0 (got ${o.guidance})`);
  }
  if (o.temperature !== undefined && o.temperature !== 1)
    throw new UserError(
      `model '${kind}': temperature does not apply to this sampler (use steps, eta, guidance)`,
    );
  return { sampler, steps, eta: o.eta ?? 0, guidance: o.guidance ?? d.guidance };
}

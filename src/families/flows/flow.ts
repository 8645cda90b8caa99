// A normalizing-flow model: an invertible f from data x to z with a standard-normal base p_Z = N(0, I),
//   log p(x) = log N(f(x); 0, I) + log|det df/dx|                       (RealNVP eq. 3)
// trained by maximum likelihood (loss: mean negative log-likelihood in nats per example), sampled by
// x = f^{-1}(z), z ~ N(0, T^2 I) with temperature T (Glow sec. 5.3 / Fig. 8). Class-conditional flows pass a
// one-hot label to every layer (p(x|y) = p_Z(f(x; y)) |det df(x; y)/dx|).
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
import type { FlowContext, Transform } from './transform.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log N(z; 0, I) per example, summed over every axis but the first. */
export function standardNormalLogProb(z: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const flat = tf.reshape(z, [z.shape[0]!, -1]);
    return tf.sub(tf.mul(-0.5, tf.sum(tf.square(flat), 1)), flat.shape[1]! * HALF_LOG_2PI) as tf.Tensor1D;
  });
}

export class FlowModel implements GenerativeModel {
  readonly taxonomy: Taxonomy;
  readonly D: number;
  readonly numClasses: number;
  /** per-example shape of z = f(x) (flat [D] after a multi-scale split) */
  readonly zShape: number[];

  constructor(
    readonly kind: string,
    readonly spec: DataSpec,
    readonly config: Record<string, unknown>,
    readonly flow: Transform,
    opts: { conditional: boolean; sampling: 'direct' | 'iterative'; zShape?: number[] },
  ) {
    this.D = dims(spec);
    this.zShape = opts.zShape ?? spec.shape;
    this.numClasses = conditionClasses(spec, opts.conditional);
    this.taxonomy = {
      family: 'flow',
      density: 'exact',
      sampling: opts.sampling,
      latent: true,
      conditional: opts.conditional,
    };
  }

  variables(): Map<string, tf.Variable> {
    return this.flow.variables;
  }

  /** y -> one-hot [n, C] for a conditional model (undefined otherwise), with checks. */
  private cond(y: tf.Tensor1D | undefined, n: number): tf.Tensor2D | undefined {
    return oneHotLabels(this.kind, this.numClasses, y, n) ?? undefined;
  }

  private checkShape(x: tf.Tensor): void {
    const s = this.spec.shape;
    if (x.rank !== s.length + 1 || s.some((d, i) => x.shape[i + 1] !== d))
      throw new UserError(
        `model '${this.kind}' expects x of shape [n, ${s.join(', ')}] (got [${x.shape.join(', ')}])`,
      );
  }

  /** log p(x) and its parts, per example. ctx.init: ActNorm layers may initialize from this batch. */
  terms(
    x: tf.Tensor,
    y: tf.Tensor1D | undefined,
    init = false,
  ): { logProb: tf.Tensor1D; logDet: tf.Tensor1D } {
    this.checkShape(x);
    return tf.tidy(() => {
      const ctx: FlowContext = { init };
      const c = this.cond(y, x.shape[0]!);
      if (c) ctx.cond = c;
      const { y: z, logDet } = this.flow.forward(x, ctx);
      return { logProb: tf.add(standardNormalLogProb(z), logDet) as tf.Tensor1D, logDet };
    });
  }

  logProb(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => this.terms(x, y).logProb);
  }

  objectives(): Objective[] {
    const vars = [...this.flow.variables.values()].filter((v) => v.trainable);
    return [
      {
        name: 'nll',
        variables: () => vars,
        loss: (batch: Batch, ctx) =>
          tf.tidy(() => {
            const { logProb, logDet } = this.terms(batch.x, batch.y, ctx.training);
            return {
              loss: tf.neg(tf.mean(logProb)) as tf.Scalar,
              metrics: { logDet: tf.mean(logDet) as tf.Scalar },
            };
          }),
      },
    ];
  }

  /** x = f^{-1}(z), z ~ N(0, T^2 I). */
  sample(n: number, opts: SampleOptions = {}): tf.Tensor {
    const { T, y } = sampleArgs(this.kind, this.taxonomy.conditional ? this.numClasses : 0, n, opts);
    const rng = new Rng(opts.seed ?? 0);
    try {
      return tf.tidy(() => {
        const z = tf.randomNormal([n, ...this.spec.shape], 0, T, 'float32', rng.nextSeed());
        return this.decode(z, y);
      });
    } finally {
      y?.dispose();
    }
  }

  /** z = f(x), flat [n, D] */
  encode(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor {
    this.checkShape(x);
    return tf.tidy(() => {
      const c = this.cond(y, x.shape[0]!);
      return tf.reshape(this.flow.forward(x, c ? { cond: c } : {}).y, [x.shape[0]!, this.D]);
    });
  }

  /** x = f^{-1}(z) for z with D values per example */
  decode(z: tf.Tensor, y?: tf.Tensor1D): tf.Tensor {
    const n = z.shape[0]!;
    if (z.size !== n * this.D)
      throw new UserError(`decode expects ${this.D} latent values per example (got [${z.shape.join(', ')}])`);
    return tf.tidy(() => {
      const c = this.cond(y, n);
      const x = this.flow.inverse(tf.reshape(z, [n, ...this.zShape]), c ? { cond: c } : {}).x;
      return tf.reshape(x, [n, ...this.spec.shape]);
    });
  }

  dispose(): void {
    for (const v of this.flow.variables.values()) v.dispose();
    this.flow.dispose?.();
  }
}

// ------------------------------------------------------------------------------------- config helpers

/** Options shared by the multi-scale coupling flows (RealNVP, NICE, Glow); `over` sets their defaults. */
export function couplingFlowSchema(over: {
  scale: 'tanh' | 'sigmoid';
  coupling?: 'affine' | 'additive';
  depth: number;
}) {
  return z.object({
    levels: z
      .union([z.literal('auto'), z.int().min(0)])
      .default('auto')
      .describe(
        "images: squeeze + factor-out scales ('auto': as many as the image allows; 28x28: 2); vectors: unused",
      ),
    depth: z.int().min(1).default(over.depth).describe('couplings (steps of flow) per stage, images'),
    layers: z.int().min(1).default(8).describe('couplings (steps of flow), vectors'),
    hidden: z
      .union([z.literal('auto'), z.int().min(1)])
      .default('auto')
      .describe(
        "width of the coupling networks ('auto': conv channels 64 on images, MLP units 128 on vectors)",
      ),
    coupling: z
      .enum(['affine', 'additive'])
      .default(over.coupling ?? 'affine')
      .describe('affine (RealNVP) or additive (NICE) couplings'),
    scale: z
      .enum(['tanh', 'sigmoid'])
      .default(over.scale)
      .describe('squashing of the affine log-scale: tanh (RealNVP) or sigmoid(h + 2) (Glow)'),
    prior: z
      .enum(['standard', 'learned'])
      .default('standard')
      .describe("factored-out halves: N(0, I) (RealNVP eq. 16), or 'learned' N(mu(h), sigma(h)^2) (Glow)"),
    conditional: z.boolean().default(false).describe('class-conditional flow p(x | y)'),
  });
}

export type CouplingFlowOptions = z.output<ReturnType<typeof couplingFlowSchema>>;

/** The options of a multi-scale coupling flow (RealNVP, NICE, Glow), resolved. */
export interface CouplingFlowArch {
  levels: number;
  depth: number;
  layers: number;
  hidden: number;
  coupling: 'affine' | 'additive';
  scale: 'tanh' | 'sigmoid';
  /** the factored-out halves' distribution: N(0, I), or Glow's learned N(mu(h), sigma(h)^2) */
  prior: 'standard' | 'learned';
  conditional: boolean;
}

/** Why a coupling flow with these options cannot take this data (images: 1..maxSqueezes levels), or null. */
export function couplingFlowAccepts(spec: DataSpec, c: CouplingFlowOptions): string | null {
  if (spec.kind !== 'image' || c.levels === 'auto') return null;
  if (c.levels < 1) return `config 'levels' must be >= 1 on images (got ${c.levels})`;
  if (c.levels > maxSqueezes(spec.shape, c.levels))
    return `config 'levels' ${c.levels} is too many for images [${spec.shape}]`;
  return null;
}

/**
 * Resolve a coupling flow's options; levels 'auto' = as many squeezes as the image allows, at most
 * `autoLevels`; vectors have no levels.
 */
export function couplingFlowOptions(
  c: CouplingFlowOptions,
  spec: DataSpec,
  autoLevels: number,
): CouplingFlowArch {
  const why = couplingFlowAccepts(spec, c);
  if (why) throw new UserError(why);
  const image = spec.kind === 'image';
  const levels = !image ? 0 : c.levels === 'auto' ? maxSqueezes(spec.shape, autoLevels) : c.levels;
  conditionClasses(spec, c.conditional);
  return {
    levels,
    depth: c.depth,
    layers: c.layers,
    hidden: c.hidden === 'auto' ? (image ? 64 : 128) : c.hidden,
    coupling: c.coupling,
    scale: c.scale,
    prior: c.prior,
    conditional: c.conditional,
  };
}

/** How many times an image can be squeezed (H, W even at each step, at least 2x2 left), at most `max`. */
export function maxSqueezes(shape: number[], max = 3): number {
  let [H, W] = shape as [number, number];
  let l = 0;
  while (l < max && H % 2 === 0 && W % 2 === 0 && H >= 4 && W >= 4) {
    H /= 2;
    W /= 2;
    l++;
  }
  return l;
}

/** Why a flow cannot model this data (null = it can). */
export function flowAccepts(spec: DataSpec, kinds: ('image' | 'vector')[]): string | null {
  if (!kinds.includes(spec.kind)) return `it models ${kinds.join(' or ')} data (got ${spec.kind})`;
  if (spec.domain === 'binary')
    return 'a flow needs continuous data: use real-valued data or dequantized images (--set data.dequantize=true)';
  if (spec.kind === 'vector' && dims(spec) < 2) return 'it needs at least 2 dimensions';
  if (spec.kind === 'image' && (spec.shape.length !== 3 || maxSqueezes(spec.shape) < 1))
    return 'it needs images [H, W, C] with even H and W';
  return null;
}

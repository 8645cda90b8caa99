// A normalizing-flow model: an invertible f from data x to z with a standard-normal base p_Z = N(0, I),
//   log p(x) = log N(f(x); 0, I) + log|det df/dx|                       (RealNVP eq. 3)
// trained by maximum likelihood (loss: mean negative log-likelihood in nats per example), sampled by
// x = f^{-1}(z), z ~ N(0, T^2 I) with temperature T (Glow sec. 5.3 / Fig. 8). Class-conditional flows pass a
// one-hot label to every layer (p(x|y) = p_Z(f(x; y)) |det df(x; y)/dx|).
import * as tf from '@tensorflow/tfjs-core';
import { sampleArgs } from '../../core/labels.js';
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
    this.numClasses = opts.conditional ? spec.numClasses! : 0;
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
    if (!this.taxonomy.conditional) return undefined;
    if (!y) throw new UserError(`model '${this.kind}' is conditional: labels are required`);
    if (y.shape[0] !== n) throw new UserError(`got ${y.shape[0]} labels for ${n} examples`);
    return tf.oneHot(tf.cast(y, 'int32'), this.numClasses) as tf.Tensor2D;
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

export function intOption(c: Record<string, unknown>, name: string, min: number): number {
  const v = c[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new UserError(`config '${name}' must be an integer >= ${min} (got ${JSON.stringify(v)})`);
  return v;
}

export function numOption(c: Record<string, unknown>, name: string, min: number): number {
  const v = c[name];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= min)
    throw new UserError(`config '${name}' must be a number > ${min} (got ${JSON.stringify(v)})`);
  return v;
}

export function enumOption<T extends string>(
  c: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
): T {
  const v = c[name];
  if (!allowed.includes(v as T))
    throw new UserError(`config '${name}' must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}

/** The `conditional` option, checked against the data (labels needed). */
export function conditionalOption(c: Record<string, unknown>, spec: DataSpec): boolean {
  const v = c.conditional;
  if (v !== true && v !== false) throw new UserError(`config 'conditional' must be true or false`);
  if (v && !(spec.numClasses && spec.numClasses > 1))
    throw new UserError(`a conditional flow needs labelled data (this dataset has no classes)`);
  return v;
}

/** The options of a multi-scale coupling flow (RealNVP, NICE, Glow), checked. */
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

/**
 * Resolve and check a coupling flow's options `c` (defaults already merged); levels 'auto' = as many squeezes
 * as the image allows, at most `autoLevels`; vectors have no levels.
 */
export function couplingFlowOptions(
  c: Record<string, unknown>,
  spec: DataSpec,
  autoLevels: number,
): CouplingFlowArch {
  const image = spec.kind === 'image';
  const levels = !image
    ? 0
    : c.levels === 'auto'
      ? maxSqueezes(spec.shape, autoLevels)
      : intOption(c, 'levels', 1);
  if (image && levels > maxSqueezes(spec.shape, levels))
    throw new UserError(`config 'levels' ${levels} is too many for images [${spec.shape}]`);
  return {
    levels,
    depth: intOption(c, 'depth', 1),
    layers: intOption(c, 'layers', 1),
    hidden: c.hidden === 'auto' ? (image ? 64 : 128) : intOption(c, 'hidden', 1),
    coupling: enumOption(c, 'coupling', ['affine', 'additive'] as const),
    scale: enumOption(c, 'scale', ['tanh', 'sigmoid'] as const),
    prior: enumOption(c, 'prior', ['standard', 'learned'] as const),
    conditional: conditionalOption(c, spec),
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

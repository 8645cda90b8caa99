// Deep energy-based model p(x) = exp(-E_theta(x)) / Z with a neural energy (Du & Mordatch 2019, "Implicit
// generation and generalization in energy-based models"; Grathwohl et al. 2019, "Your classifier is secretly an
// energy based model", JEM). Trained by contrastive divergence with SGLD negatives from a replay buffer:
//   d/d theta E_data[-log p(x)] = E_data[dE/d theta] - E_model[dE/d theta]   (Du & Mordatch eq. 2)
//   loss = mean E(x+) - mean E(x-) + alpha (mean E(x+)^2 + mean E(x-)^2)     (eq. 3 + the §3.3 regularizer)
// with x- = K SGLD steps (sgld.ts) from buffer rows (5% fresh restarts), held constant. Z is never computed:
// density 'unnormalized' (on 2-D data, grid.ts normalizes exp(-E) over a grid for pictures).
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { UserError, type GenerativeModel, type Objective, type Taxonomy } from '../../core/model.js';
import { Rng } from '../../core/rng.js';
import { dims, type DataSpec } from '../../data/spec.js';
import type { ChainSampleOptions } from './estimate.js';
import { gridDensity, type GridDensity } from './grid.js';
import { ConvEnergy, MlpEnergy, type EnergyNet } from './nets.js';
import { checkSgld, ReplayBuffer, sgld } from './sgld.js';
import { offTape, parseOptions, randUniform } from './util.js';

const autoOr = <T extends z.ZodType>(t: T) => z.union([z.literal('auto'), t]);

export const EBM_SCHEMA = z.object({
  arch: z
    .enum(['auto', 'mlp', 'conv'])
    .default('auto')
    .describe('energy network: auto = conv for images, mlp else'),
  hidden: z.array(z.number().int().min(1)).default([128, 128]).describe('hidden sizes of the MLP energy'),
  channels: z
    .tuple([z.number().int().min(1), z.number().int().min(1)])
    .default([32, 64])
    .describe('channels of the conv energy'),
  sgldSteps: z.number().int().min(0).default(20).describe('SGLD steps per update (K)'),
  stepSize: autoOr(z.number())
    .default('auto')
    .describe('SGLD gradient step; auto = 0.005 for vectors, 1 for images (Grathwohl et al. 2019)'),
  noise: z
    .union([z.literal('auto'), z.literal('langevin'), z.number()])
    .default('auto')
    .describe('SGLD noise std; langevin = sqrt(2 stepSize); auto = langevin for vectors, 0.01 for images'),
  bufferSize: z.number().int().min(1).default(10000).describe('replay buffer size'),
  restart: z.number().min(0).max(1).default(0.05).describe('probability a chain restarts from fresh noise'),
  alpha: autoOr(z.number().min(0))
    .default('auto')
    .describe(
      'weight of the energy-magnitude regularizer; auto = 0.05 for vectors, 1 for images (Du & Mordatch)',
    ),
  noiseRange: autoOr(z.tuple([z.number(), z.number()]))
    .default('auto')
    .describe('fresh-noise range U[lo, hi]; auto = [0, 1] for data in [0, 1], [-4, 4] for reals'),
  sampleSteps: autoOr(z.number().int().min(1))
    .default('auto')
    .describe('SGLD steps of sample() from fresh noise; auto = 10 x sgldSteps (at least 100)'),
  sampleInit: z
    .enum(['noise', 'buffer'])
    .default('noise')
    .describe(
      "where sample()'s chains start: fresh noise (short-run), or rows of the replay buffer (the persistent chains training ran; Du & Mordatch 2019)",
    ),
});
export type EbmConfig = z.output<typeof EBM_SCHEMA>;

/** an energy without log Z (judged by sample metrics); SGLD chains sample */
export const EBM_TAXONOMY: Taxonomy = {
  family: 'energy',
  density: 'unnormalized',
  sampling: 'iterative',
  latent: false,
  conditional: false,
};

export function ebmAccepts(spec: DataSpec, config?: Partial<EbmConfig>): string | null {
  if (spec.shape.length === 0) return 'data has no dimensions';
  if (config?.arch === 'conv' && !(spec.kind === 'image' && spec.shape.length === 3))
    return `arch 'conv' needs images [H, W, C] (got ${spec.kind} [${spec.shape.join(', ')}])`;
  return null;
}

/** The options with 'auto' resolved for this data (the stored config, so a checkpoint rebuilds the same run). */
export function resolveEbmConfig(raw: Record<string, unknown>, spec: DataSpec) {
  const c = parseOptions(EBM_SCHEMA, raw, 'ebm');
  const why = ebmAccepts(spec, c);
  if (why) throw new UserError(`model 'ebm': ${why}`);
  const image = spec.kind === 'image' && spec.shape.length === 3;
  const stepSize = c.stepSize === 'auto' ? (image ? 1 : 0.005) : c.stepSize;
  const noise =
    c.noise === 'langevin' || (c.noise === 'auto' && !image)
      ? Math.sqrt(2 * stepSize)
      : c.noise === 'auto'
        ? 0.01
        : c.noise;
  checkSgld({ steps: c.sgldSteps, stepSize, noise });
  const noiseRange: [number, number] =
    c.noiseRange === 'auto' ? (spec.domain === 'real' ? [-4, 4] : [0, 1]) : c.noiseRange;
  if (!(noiseRange[0] < noiseRange[1]))
    throw new UserError(
      `model 'ebm': noiseRange must be [lo, hi] with lo < hi (got [${noiseRange.join(', ')}])`,
    );
  return {
    ...c,
    arch: c.arch === 'auto' ? (image ? 'conv' : 'mlp') : c.arch,
    stepSize,
    noise,
    noiseRange,
    alpha: c.alpha === 'auto' ? (image ? 1 : 0.05) : c.alpha,
    sampleSteps: c.sampleSteps === 'auto' ? Math.max(100, 10 * c.sgldSteps) : c.sampleSteps,
  };
}

export class EBM implements GenerativeModel {
  readonly kind = 'ebm';
  readonly taxonomy: Taxonomy = EBM_TAXONOMY;
  readonly config: Record<string, unknown>;
  readonly cfg: ReturnType<typeof resolveEbmConfig>;
  readonly net: EnergyNet;
  readonly buffer: ReplayBuffer;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly clamp: [number, number] | undefined;

  constructor(
    raw: Record<string, unknown>,
    readonly spec: DataSpec,
    seed: number,
  ) {
    const cfg = (this.cfg = resolveEbmConfig(raw, spec));
    // the options as given ('auto' / 'langevin' kept): a checkpoint rebuilds the same model from them
    this.config = { ...EBM_SCHEMA.parse(raw) };
    const rng = new Rng(seed);
    this.net =
      cfg.arch === 'conv'
        ? new ConvEnergy(spec.shape, cfg.channels, rng)
        : new MlpEnergy(dims(spec), cfg.hidden, rng);
    for (const [k, v] of this.net.variables) this.vars.set(k, v);
    this.clamp = spec.domain === 'real' ? undefined : [0, 1];
    this.buffer = new ReplayBuffer(cfg.bufferSize, spec.shape, (n, s) => this.fresh(n, s), rng.nextSeed());
    this.vars.set('ebm.buffer', this.buffer.data);
  }

  /** n draws of U[lo, hi] in data shape */
  fresh(n: number, seed: number): tf.Tensor {
    const [lo, hi] = this.cfg.noiseRange;
    return randUniform([n, ...this.spec.shape], seed, lo, hi);
  }

  variables(): Map<string, tf.Variable> {
    return this.vars;
  }

  /** E(x) [n]: the anomaly score (lower = more normal) */
  energy(x: tf.Tensor): tf.Tensor1D {
    return this.net.apply(x);
  }

  /** K SGLD steps from x0 with the model's step size, noise and clamp */
  chain(
    x0: tf.Tensor,
    steps: number,
    seed: number,
    hooks: Pick<ChainSampleOptions, 'onStep' | 'onState'> = {},
  ): tf.Tensor {
    return sgld((x) => this.net.apply(x), x0, {
      steps,
      stepSize: this.cfg.stepSize,
      noise: this.cfg.noise,
      seed,
      ...(this.clamp ? { clamp: this.clamp } : {}),
      ...(hooks.onStep ? { onStep: hooks.onStep } : {}),
      ...(hooks.onState ? { onState: hooks.onState } : {}),
    });
  }

  objectives(): Objective[] {
    const { alpha, restart, sgldSteps } = this.cfg;
    return [
      {
        name: 'cd',
        variables: () => [...this.net.variables.values()],
        loss: (batch, ctx) => {
          const n = batch.x.shape[0]!;
          const drawSeed = ctx.seed();
          const chainSeed = ctx.seed();
          const xNeg = offTape(() => {
            const { idx, x } = this.buffer.draw(n, restart, drawSeed);
            const out = this.chain(x, sgldSteps, chainSeed);
            x.dispose();
            this.buffer.write(idx, out);
            return out;
          });
          const ePos = this.net.apply(batch.x);
          const eNeg = this.net.apply(xNeg);
          const cd = tf.sub(tf.mean(ePos), tf.mean(eNeg));
          const reg = tf.mul(alpha, tf.add(tf.mean(tf.square(ePos)), tf.mean(tf.square(eNeg))));
          return {
            loss: tf.add(cd, reg) as tf.Scalar,
            metrics: { ePos: tf.mean(ePos) as tf.Scalar, eNeg: tf.mean(eNeg) as tf.Scalar },
          };
        },
      },
    ];
  }

  /**
   * n samples: SGLD chains `steps` (default sampleSteps) long, from fresh noise or (sampleInit 'buffer') from
   * distinct replay-buffer rows, drawn anew for every bufferSize samples; the buffer itself is not changed.
   */
  sample(n: number, opts: ChainSampleOptions = {}): tf.Tensor {
    if (!Number.isInteger(n) || n < 1)
      throw new UserError(`sample count must be a positive integer (got ${n})`);
    const steps = opts.steps ?? this.cfg.sampleSteps;
    if (!Number.isInteger(steps) || steps < 0)
      throw new UserError(`steps must be a non-negative integer (got ${steps})`);
    const rng = new Rng(opts.seed ?? 0);
    const x0 =
      this.cfg.sampleInit === 'buffer' ? this.fromBuffer(n, rng.nextSeed()) : this.fresh(n, rng.nextSeed());
    try {
      return this.chain(x0, steps, rng.nextSeed(), opts);
    } finally {
      x0.dispose();
    }
  }

  /** n buffer rows: distinct within each block of bufferSize */
  private fromBuffer(n: number, seed: number): tf.Tensor {
    const rng = new Rng(seed);
    const parts: tf.Tensor[] = [];
    for (let left = n; left > 0; left -= this.buffer.size)
      parts.push(this.buffer.draw(Math.min(left, this.buffer.size), 0, rng.nextSeed()).x);
    if (parts.length === 1) return parts[0]!;
    const x = tf.concat(parts);
    for (const p of parts) p.dispose();
    return x;
  }

  /** 2-D data: exp(-E) normalized over an n x n grid (see grid.ts) */
  gridDensity(xRange: [number, number], yRange: [number, number], n: number): GridDensity {
    if (dims(this.spec) !== 2)
      throw new UserError(`a grid density needs 2-D data (this data has ${dims(this.spec)} dims)`);
    return gridDensity((x) => this.energy(x), xRange, yRange, n);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

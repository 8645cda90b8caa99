// Denoising diffusion probabilistic model (Ho et al. 2020).
//   Training (Algorithm 1, L_simple of eq. 14): t ~ U{1..T}, eps ~ N(0, I),
//     x_t = sqrt(alphaBar_t) x_0 + sqrt(1 - alphaBar_t) eps,  loss = || target - net(x_t, t) ||^2 (mean),
//     target = eps (Ho et al.), x_0, or v = sqrt(alphaBar_t) eps - sqrt(1 - alphaBar_t) x_0 (Salimans & Ho 2022
//     sec. 4); all three are turned into eps-hat for the samplers and the bound.
//   Sampling: ancestral (Algorithm 2) or DDIM (Song et al. 2021), samplers.ts; any trained DDPM takes either.
//   Density: the variational bound L_vlb (eq. 5), vlb.ts, reported as a bound (nats, bits/dim).
//   Conditional: classifier-free guidance (Ho & Salimans 2022), label dropped to a learned null class w.p.
//     pUncond; eps~ = (1 + w) eps(x_t, y) - w eps(x_t).
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { sampleLabels } from '../../core/labels.js';
import {
  UserError,
  type Batch,
  type Estimate,
  type GenerativeModel,
  type Objective,
  type SampleOptions,
  type Taxonomy,
} from '../../core/model.js';
import { Rng } from '../../core/rng.js';
import type { DataSpec } from '../../data/spec.js';
import {
  DataMap,
  dropLabels,
  repeatBatch,
  guidedPrediction,
  makeDenoiser,
  netFields,
  parseConfig,
  samplerArgs,
} from './common.js';
import type { Denoiser } from './layers.js';
import { ddimSample, ddpmSample } from './samplers.js';
import { NoiseSchedule } from './schedule.js';
import { vlb } from './vlb.js';

export const ddpmSchema = z.strictObject({
  T: z.int().min(1).default(1000).describe('number of diffusion steps T'),
  schedule: z
    .enum(['linear', 'cosine'])
    .default('linear')
    .describe('beta schedule: linear (Ho et al.) or cosine (Nichol & Dhariwal)'),
  prediction: z
    .enum(['eps', 'x0', 'v'])
    .default('eps')
    .describe('what the network predicts (the L_simple target)'),
  variance: z
    .enum(['small', 'large'])
    .default('small')
    .describe('reverse-step variance: small = posterior betaTilde_t, large = beta_t (Ho et al. sec. 3.2)'),
  sampler: z.enum(['ddpm', 'ddim']).default('ddpm').describe('default sampler: ancestral DDPM or DDIM'),
  sampleSteps: z
    .union([z.literal('auto'), z.int().min(1)])
    .default('auto')
    .describe('default number of sampling steps (auto: T for ddpm, min(T, 50) for ddim)'),
  eta: z.number().min(0).default(0).describe('default DDIM eta (0: deterministic)'),
  vlbTerms: z
    .union([z.literal('auto'), z.int().min(0)])
    .default('auto')
    .describe(
      'KL terms of the bound per example: 0 = all T - 1; K = unbiased stratified estimate from K random t (auto: 100 for vectors, 4 for images)',
    ),
  decoder: z
    .enum(['auto', 'discretized', 'gaussian'])
    .default('auto')
    .describe(
      'L_0 decoder: discretized Gaussian (8-bit / binarized images) or Gaussian density (continuous data)',
    ),
  ...netFields,
});
export type DdpmConfig = z.output<typeof ddpmSchema>;

/** Taxonomy of a DDPM (the registry's taxonomy(config)). */
export function ddpmTaxonomy(config: { conditional: boolean }): Taxonomy {
  return {
    family: 'diffusion',
    density: 'bound',
    sampling: 'iterative',
    latent: true,
    conditional: config.conditional,
  };
}

export type { Estimate } from '../../core/model.js';

export class DDPM implements GenerativeModel {
  readonly taxonomy: Taxonomy;
  readonly config: Record<string, unknown>;
  readonly cfg: DdpmConfig;
  readonly sched: NoiseSchedule;
  readonly net: Denoiser;
  readonly map: DataMap;
  /** number of classes of a conditional model (the null class is index C), 0 otherwise */
  readonly C: number;
  private readonly decoderKind: 'discretized' | 'gaussian';

  constructor(
    readonly kind: string,
    raw: Record<string, unknown>,
    readonly spec: DataSpec,
    seed: number,
  ) {
    const cfg = parseConfig(kind, ddpmSchema, raw);
    this.cfg = cfg;
    this.config = { ...cfg } as Record<string, unknown>;
    this.taxonomy = ddpmTaxonomy(cfg);
    if (cfg.conditional && !(spec.numClasses && spec.numClasses > 1))
      throw new UserError(
        `model '${kind}': conditional=true needs labelled data (this dataset has no classes)`,
      );
    if (typeof cfg.sampleSteps === 'number' && cfg.sampleSteps > cfg.T)
      throw new UserError(`config 'sampleSteps' must be <= T = ${cfg.T} (got ${cfg.sampleSteps})`);
    this.C = cfg.conditional ? spec.numClasses! : 0;
    this.map = new DataMap(spec);
    this.decoderKind = cfg.decoder === 'auto' ? (this.map.levels ? 'discretized' : 'gaussian') : cfg.decoder;
    if (this.decoderKind === 'discretized' && !this.map.levels)
      throw new UserError(
        `decoder 'discretized' needs images of discrete levels (8-bit or binarized), not '${spec.domain}' data`,
      );
    this.sched = new NoiseSchedule(cfg.T, cfg.schedule);
    this.net = makeDenoiser(kind, cfg, spec, this.C, new Rng(seed));
  }

  variables(): Map<string, tf.Variable> {
    return this.net.variables;
  }

  /** network time input: t in 1..T scaled to [0, 1000] */
  private tIn(t: tf.Tensor1D): tf.Tensor1D {
    return tf.mul(tf.cast(t, 'float32'), 1000 / this.cfg.T) as tf.Tensor1D;
  }

  /** eps-hat(x_t, t) from the network's output under the configured parameterization; t [n] int32 */
  epsFromOutput(out: tf.Tensor, xt: tf.Tensor, t: tf.Tensor1D): tf.Tensor {
    return tf.tidy(() => {
      if (this.cfg.prediction === 'eps') return out;
      const r = xt.rank;
      const sqrtAb = this.sched.gather(this.sched.alphaBar.map(Math.sqrt), t, r);
      const sqrt1mAb = this.sched.gather(
        this.sched.alphaBar.map((a) => Math.sqrt(1 - a)),
        t,
        r,
      );
      // x0: eps = (x_t - sqrt(ab) x0) / sqrt(1 - ab);  v: eps = sqrt(1 - ab) x_t + sqrt(ab) v
      return this.cfg.prediction === 'x0'
        ? tf.div(tf.sub(xt, tf.mul(sqrtAb, out)), sqrt1mAb)
        : tf.add(tf.mul(sqrt1mAb, xt), tf.mul(sqrtAb, out));
    });
  }

  /**
   * eps-hat(x_t, t, y) per row; y: labels (conditional), guided with weight w when w > 0 (null: unconditional,
   * i.e. the null class of a conditional model).
   */
  predictEps(xt: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D | null, w = 0): tf.Tensor {
    return tf.tidy(() => {
      const n = xt.shape[0]!;
      let out: tf.Tensor;
      if (this.C === 0) out = this.net.apply(xt, this.tIn(t), null);
      else if (w > 0 && y) out = guidedPrediction(this.net, xt, this.tIn(t), y, this.C, w);
      else out = this.net.apply(xt, this.tIn(t), y ?? (tf.fill([n], this.C, 'int32') as tf.Tensor1D));
      return this.epsFromOutput(out, xt, t);
    });
  }

  private labels(y: tf.Tensor1D | undefined, n: number): tf.Tensor1D | null {
    if (this.C === 0) return null;
    if (!y) throw new UserError(`model '${this.kind}' is conditional: labels are required`);
    if (y.shape[0] !== n) throw new UserError(`got ${y.shape[0]} labels for ${n} examples`);
    return y;
  }

  objectives(): Objective[] {
    return [
      {
        name: 'simple',
        variables: () => [...this.net.variables.values()],
        loss: (b: Batch, ctx) =>
          tf.tidy(() => {
            const batch = repeatBatch(b, this.cfg.draws);
            const x0 = this.map.toModel(batch.x);
            const n = x0.shape[0]!;
            const rng = new Rng(ctx.seed());
            const t = tf.tensor1d(
              Int32Array.from({ length: n }, () => 1 + Math.floor(rng.next() * this.cfg.T)),
              'int32',
            );
            const eps = tf.randomNormal(x0.shape, 0, 1, 'float32', rng.nextSeed());
            const xt = this.sched.qSample(x0, t, eps);
            let y = this.labels(batch.y, n);
            if (y && this.cfg.pUncond > 0) y = dropLabels(y, this.C, this.cfg.pUncond, rng.nextSeed());
            const out = this.net.apply(xt, this.tIn(t), y);
            const r = x0.rank;
            const target =
              this.cfg.prediction === 'eps'
                ? eps
                : this.cfg.prediction === 'x0'
                  ? x0
                  : tf.sub(
                      tf.mul(this.sched.gather(this.sched.alphaBar.map(Math.sqrt), t, r), eps),
                      tf.mul(
                        this.sched.gather(
                          this.sched.alphaBar.map((a) => Math.sqrt(1 - a)),
                          t,
                          r,
                        ),
                        x0,
                      ),
                    );
            return { loss: tf.mean(tf.squaredDifference(out, target)) as tf.Scalar };
          }),
      },
    ];
  }

  /** KL terms per example in the bound (config vlbTerms; auto: 100 for vectors, 4 for images); 0 = all */
  get vlbTerms(): number {
    const v = this.cfg.vlbTerms;
    const K = v === 'auto' ? (this.spec.kind === 'image' ? 4 : 100) : v;
    return K >= this.cfg.T - 1 ? 0 : K;
  }

  /**
   * Lower bound on log p(x) per example in nats: -L_vlb (k = 1 only; there is no importance-weighted
   * version). With vlbTerms K > 0 an unbiased estimate of it (vlb.ts).
   */
  logProbBound(x: tf.Tensor, opts: { k: number; seed: number; y?: tf.Tensor1D }): tf.Tensor1D {
    if (opts.k !== 1)
      throw new UserError(
        `model '${this.kind}' has no importance-weighted bound (--iw); its bound is the VLB (k = 1)`,
      );
    const n = x.shape[0]!;
    const y = this.labels(opts.y, n);
    return tf.tidy(() => {
      const x0 = this.map.toModel(x);
      const L = vlb(this.sched, (xt, t) => this.predictEps(xt, t, y), x0, {
        variance: this.cfg.variance,
        decoder:
          this.decoderKind === 'discretized'
            ? { kind: 'discretized', levels: this.map.levels! }
            : { kind: 'gaussian' },
        terms: this.vlbTerms,
        seed: opts.seed,
        clip: this.map.clip(),
      });
      // a Gaussian decoder is a density in model space; the data-space density carries the Jacobian
      const jac = this.decoderKind === 'gaussian' ? this.map.logJacobian() : 0;
      return tf.add(tf.neg(L), jac) as tf.Tensor1D;
    });
  }

  /** The likelihood estimates this model offers (interface 3): the VLB, a bound. */
  estimates(): Estimate[] {
    const K = this.vlbTerms;
    return [
      {
        name: 'vlb',
        label: K === 0 ? '-VLB' : `-VLB (${K} of ${this.cfg.T - 1} KL terms)`,
        kind: 'bound',
        logLik: (x, y, seed) => this.logProbBound(x, { k: 1, seed, ...(y ? { y } : {}) }),
      },
    ];
  }

  /** n samples in data space: ancestral DDPM or DDIM from x_T ~ N(0, I). */
  sample(n: number, opts: SampleOptions = {}): tf.Tensor {
    if (!Number.isInteger(n) || n < 1)
      throw new UserError(`number of samples must be a positive integer (got ${n})`);
    const c = this.cfg;
    const defSampler = c.sampler;
    const a = samplerArgs(this.kind, opts, {
      samplers: ['ddpm', 'ddim'],
      sampler: defSampler,
      steps:
        c.sampleSteps !== 'auto'
          ? c.sampleSteps
          : (opts.sampler ?? defSampler) === 'ddim'
            ? Math.min(c.T, 50)
            : c.T,
      maxSteps: c.T,
      conditional: c.conditional,
      guidance: c.guidance,
    });
    const y = sampleLabels(this.kind, this.C, n, opts.label) ?? null;
    try {
      const eps = (x: tf.Tensor, t: number) =>
        this.predictEps(x, tf.fill([x.shape[0]!], t, 'int32') as tf.Tensor1D, y, a.guidance);
      const base = {
        shape: [n, ...this.spec.shape],
        steps: a.steps,
        seed: opts.seed ?? 0,
        clip: this.map.clip(),
        ...this.map.samplerHooks(opts),
      };
      const x0 =
        a.sampler === 'ddim'
          ? ddimSample(this.sched, eps, { ...base, eta: opts.eta ?? c.eta })
          : ddpmSample(this.sched, eps, { ...base, variance: c.variance });
      const out = this.map.fromModel(x0);
      x0.dispose();
      return out;
    } finally {
      y?.dispose();
    }
  }

  dispose(): void {
    for (const v of this.net.variables.values()) v.dispose();
    this.net.variables.clear();
  }
}

// VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation Learning") with a learned autoregressive
// prior over its code grid (sec. 3.3: the prior is fit to the codes after the autoencoder):
//   z_e = enc(x) [h, w, D], z_q = nearest codes (quantize.ts), x ~ p(x | z_q) = dec(z_q)
//   autoencoder loss (eq. 3): -log p(x|z_q) + ||sg(z_e) - e||^2 + beta ||z_e - sg(e)||^2 (or the EMA codebook)
//   prior p(z) over the h x w grid of K-way tokens: the project's PixelCNN / Gated PixelCNN / Transformer on a
//     K-level one-channel "image" (optionally class-conditional: p(z | y))
//   bound: q(z|x) = delta(z = z_q(x)) is deterministic, so its entropy is 0 and the ELBO is
//     log p(x) >= E_q[log p(x|z)] - KL(q || p) = log p(x | z_q) + log p(z_q)
//   (a uniform prior gives KL = h w log K, the bound of sec. 3.1). Sampling: z ~ p(z), then E[x | z].
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { labelledDataReason, oneHotLabels, sampleArgs } from '../../core/labels.js';
import { parseModelOptions } from '../../core/registry.js';
import { Rng } from '../../core/rng.js';
import {
  UserError,
  type Batch,
  type Estimate,
  type GenerativeModel,
  type Objective,
  type SampleOptions,
  type Taxonomy,
} from '../../core/model.js';
import type { DataSpec } from '../../data/spec.js';
import { stopGradient, sumEvent } from '../../distributions/index.js';
import type { Autoregressive } from '../autoregressive/base.js';
import { GatedPixelCNN } from '../autoregressive/gated-pixelcnn.js';
import { PixelCNN } from '../autoregressive/pixelcnn.js';
import { PixelTransformer } from '../autoregressive/transformer.js';
import { Likelihood, defaultLikelihood } from './likelihood.js';
import { VectorQuantizer } from './quantize.js';
import { VqDecoder, VqEncoder } from './vqvae-nets.js';

const PRIORS = { pixelcnn: PixelCNN, 'gated-pixelcnn': GatedPixelCNN, transformer: PixelTransformer };

export const VQVAE_SCHEMA = z.object({
  codes: z.int().min(2).default(32).describe('K: codebook size (the values of one token)'),
  codeDim: z.int().min(1).default(16).describe('D: dimension of a code vector'),
  channels: z
    .tuple([z.int().min(1), z.int().min(1)])
    .default([32, 64])
    .describe('conv channels of the two stride-2 layers (the code grid is H/4 x W/4)'),
  beta: z.number().min(0).default(0.25).describe('weight of the commitment loss (eq. 3)'),
  codebook: z
    .enum(['ema', 'loss'])
    .default('ema')
    .describe("codebook learning: EMA of the assigned encoder outputs (appendix A.1), or eq. 3's term"),
  decay: z.number().gt(0).lt(1).default(0.99).describe('decay of the EMA codebook'),
  epsilon: z.number().gt(0).default(1e-5).describe('Laplace smoothing of the EMA counts'),
  restartAfter: z
    .int()
    .min(0)
    .default(100)
    .describe('restart a code no batch chose for this many steps from an encoder output (0: never)'),
  likelihood: z
    .enum(['auto', 'bernoulli', 'logistic', 'gaussian'])
    .default('auto')
    .describe("p(x|z_q) ('auto': bernoulli for binary data, discretized logistic for 8-bit levels)"),
  scale: z
    .enum(['dim', 'global'])
    .default('dim')
    .describe('learned log-scale of continuous likelihoods: one per data dimension or one global'),
  prior: z
    .enum(['pixelcnn', 'gated-pixelcnn', 'transformer'])
    .default('pixelcnn')
    .describe('autoregressive prior over the code grid'),
  priorOptions: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('options of the prior model (its own, e.g. {"channels":32}; default inputs \'onehot\')'),
  aeEpochs: z
    .int()
    .min(0)
    .default(0)
    .describe(
      'epochs of the autoencoder stage; the prior trains after it on the frozen codes (0: both together)',
    ),
  conditional: z.boolean().default(false).describe('class-conditional prior p(z | y)'),
});

export type VqvaeOptions = z.output<typeof VQVAE_SCHEMA>;

export function vqvaeAccepts(spec: DataSpec): string | null {
  const [H, W] = spec.shape as [number, number];
  if (spec.kind !== 'image' || spec.shape.length !== 3 || H % 4 !== 0 || W % 4 !== 0)
    return `needs images [H, W, C] with H and W divisible by 4 (got ${spec.kind} [${spec.shape.join(', ')}])`;
  return null;
}

export class VQVAE implements GenerativeModel {
  readonly taxonomy: Taxonomy;
  readonly config: Record<string, unknown>;
  readonly cfg: VqvaeOptions;
  readonly vq: VectorQuantizer;
  readonly prior: Autoregressive;
  readonly lik: Likelihood;
  /** the code grid h x w */
  readonly grid: [number, number];
  private readonly enc: VqEncoder;
  private readonly dec: VqDecoder;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly aeVars: tf.Variable[];
  private readonly C: number;

  constructor(
    readonly kind: string,
    raw: object,
    readonly spec: DataSpec,
    seed: number,
  ) {
    const c = parseModelOptions(kind, VQVAE_SCHEMA, raw);
    const why = vqvaeAccepts(spec) ?? labelledDataReason(spec, c.conditional);
    if (why) throw new UserError(why);
    const [H, W, Cx] = spec.shape as [number, number, number];
    this.grid = [H / 4, W / 4];
    this.C = c.conditional ? spec.numClasses! : 0;
    this.taxonomy = {
      family: 'latent',
      density: 'bound',
      sampling: 'iterative',
      latent: true,
      conditional: c.conditional,
    };
    const rng = new Rng(seed);
    const likelihood = c.likelihood === 'auto' ? defaultLikelihood(spec) : c.likelihood;
    this.enc = new VqEncoder(Cx, c.channels, c.codeDim, rng, 'enc');
    this.vq = new VectorQuantizer(c.codes, c.codeDim, c, rng, 'vq');
    this.dec = new VqDecoder(c.codeDim, c.channels, Cx, rng, 'dec');
    this.lik = new Likelihood(likelihood, spec, c.scale);
    for (const m of [this.enc, this.vq, this.dec, this.lik])
      for (const [k, v] of m.variables) this.vars.set(k, v);
    this.aeVars = [
      ...this.enc.variables.values(),
      ...this.dec.variables.values(),
      ...this.lik.variables.values(),
      ...this.vq.trainable,
    ];
    this.prior = this.buildPrior(c, rng.nextSeed());
    for (const [k, v] of this.prior.variables()) this.vars.set(`prior.${k}`, v);
    // priorOptions as given (the prior's own schema fills the rest; its resolved config is prior.config)
    this.cfg = { ...c, likelihood };
    this.config = { ...this.cfg } as unknown as Record<string, unknown>;
  }

  /** the prior: an autoregressive model of a K-level [h, w, 1] token image (one-hot inputs by default) */
  private buildPrior(c: VqvaeOptions, seed: number): Autoregressive {
    const o = c.priorOptions;
    if (o.conditional !== undefined && o.conditional !== c.conditional)
      throw new UserError(`priorOptions.conditional: set 'conditional' of the vqvae instead`);
    if (o.output !== undefined && o.output !== 'categorical' && o.output !== 'auto')
      throw new UserError(
        `priorOptions.output: the prior over codes is categorical (got '${String(o.output)}')`,
      );
    const tokenSpec: DataSpec = {
      kind: 'image',
      shape: [...this.grid, 1],
      domain: 'unit',
      levels: c.codes,
      ...(this.spec.numClasses !== undefined ? { numClasses: this.spec.numClasses } : {}),
    };
    const raw = { inputs: 'onehot', ...o, output: 'categorical', conditional: c.conditional };
    return new PRIORS[c.prior](c.prior, raw, tokenSpec, seed);
  }

  variables(): Map<string, tf.Variable> {
    return this.vars;
  }

  private oneHot(y: tf.Tensor1D | undefined, n: number): tf.Tensor2D | null {
    return oneHotLabels(this.kind, this.C, y, n);
  }

  /** encoder rows z_e [n h w, D] and their quantization */
  private encodeRows(x: tf.Tensor) {
    const n = x.shape[0]!;
    const ze = tf.reshape(this.enc.apply(x as tf.Tensor4D), [-1, this.cfg.codeDim]) as tf.Tensor2D;
    return { ze, q: this.vq.quantize(ze), n };
  }

  /** code indices as the prior's token image: k / (K - 1), [n, h, w, 1] */
  tokenImage(idx: tf.Tensor): tf.Tensor4D {
    return tf.tidy(
      () =>
        tf.reshape(tf.div(tf.cast(idx, 'float32'), this.cfg.codes - 1), [-1, ...this.grid, 1]) as tf.Tensor4D,
    );
  }

  /** log p(x | z_q(x)) and the codes, per example */
  reconTerms(x: tf.Tensor): { logPxz: tf.Tensor1D; idx: tf.Tensor1D } {
    return tf.tidy(() => {
      const { q, n } = this.encodeRows(x);
      const zq = tf.reshape(q.zq, [n, ...this.grid, this.cfg.codeDim]) as tf.Tensor4D;
      const logPxz = sumEvent(this.lik.dist(this.dec.apply(zq)).logProb(x)) as tf.Tensor1D;
      return { logPxz, idx: q.idx };
    });
  }

  /** the ELBO log p(x | z_q) + log p(z_q) (learned prior) or log p(x | z_q) - h w log K (uniform prior) */
  bound(x: tf.Tensor, y: tf.Tensor1D | undefined, prior: 'learned' | 'uniform'): tf.Tensor1D {
    return tf.tidy(() => {
      const { logPxz, idx } = this.reconTerms(x);
      if (prior === 'uniform') return tf.sub(logPxz, this.grid[0] * this.grid[1] * Math.log(this.cfg.codes));
      return tf.add(logPxz, this.prior.logProb(this.tokenImage(idx), y)) as tf.Tensor1D;
    });
  }

  logProbBound(x: tf.Tensor, opts: { k: number; seed: number; y?: tf.Tensor1D }): tf.Tensor1D {
    return this.bound(x, opts.y, 'learned');
  }

  /** the posterior is deterministic: no importance-weighted bound; the uniform-prior bound for comparison */
  estimates(): Estimate[] {
    return [
      {
        name: 'elbo',
        label: '-ELBO (learned prior)',
        kind: 'bound',
        logLik: (x, y) => this.bound(x, y, 'learned'),
      },
      {
        name: 'elbo-uniform',
        label: '-ELBO (uniform prior)',
        kind: 'bound',
        logLik: (x) => this.bound(x, undefined, 'uniform'),
      },
    ];
  }

  /** is this objective's stage on in this epoch (aeEpochs > 0: autoencoder first, then the prior) */
  private stage(which: 'ae' | 'prior', epoch: number): boolean {
    const E = this.cfg.aeEpochs;
    return E === 0 || (which === 'ae' ? epoch < E : epoch >= E);
  }

  objectives(): Objective[] {
    const { beta, codebook } = this.cfg;
    return [
      {
        name: 'autoencoder',
        variables: () => this.aeVars,
        active: (ctx) => this.stage('ae', ctx.epoch),
        loss: (batch: Batch, ctx) =>
          tf.tidy(() => {
            const { ze, q, n } = this.encodeRows(batch.x);
            const zst = tf.reshape(q.zst, [n, ...this.grid, this.cfg.codeDim]) as tf.Tensor4D;
            const recon = sumEvent(this.lik.dist(this.dec.apply(zst)).logProb(batch.x));
            const perEx = (t: tf.Tensor1D) => tf.sum(tf.reshape(t, [n, -1]), 1);
            const commit = perEx(q.commitLoss);
            let loss = tf.add(tf.neg(recon), tf.mul(beta, commit));
            if (codebook === 'loss') loss = tf.add(loss, perEx(q.codebookLoss));
            const usage = VectorQuantizer.usage(q.idx, this.cfg.codes);
            // after the loss is formed: the EMA codebook update and dead-code restarts of this step
            const restarts = ctx.training ? this.vq.update(ze, q.idx, ctx.seed()) : tf.scalar(0);
            return {
              loss: tf.mean(loss) as tf.Scalar,
              metrics: {
                recon: tf.neg(tf.mean(recon)) as tf.Scalar,
                commit: tf.mean(commit) as tf.Scalar,
                perplexity: usage.perplexity,
                used: usage.used,
                restarts,
              },
            };
          }),
      },
      {
        name: 'prior',
        variables: () => [...this.prior.variables().values()],
        active: (ctx) => this.stage('prior', ctx.epoch),
        loss: (batch: Batch) =>
          tf.tidy(() => {
            const idx = this.encodeTokens(batch.x);
            const logPz = this.prior.logProb(this.tokenImage(idx), batch.y && this.C ? batch.y : undefined);
            const nll = tf.neg(tf.mean(logPz)) as tf.Scalar;
            return {
              loss: nll,
              metrics: { natsPerCode: tf.div(nll, this.grid[0] * this.grid[1]) as tf.Scalar },
            };
          }),
      },
    ];
  }

  /** the nearest-code grid of x: int32 [n, h, w] */
  encodeTokens(x: tf.Tensor): tf.Tensor3D {
    return tf.tidy(() => {
      const { q, n } = this.encodeRows(x);
      return tf.reshape(q.idx, [n, ...this.grid]) as tf.Tensor3D;
    });
  }

  /** E[x | z_q] for a code grid [n, h, w] of indices in 0..K-1 */
  decodeTokens(idx: tf.Tensor): tf.Tensor {
    const [h, w] = this.grid;
    if (idx.rank !== 3 || idx.shape[1] !== h || idx.shape[2] !== w)
      throw new UserError(`tokens must have shape [n, ${h}, ${w}] (got [${idx.shape.join(', ')}])`);
    return tf.tidy(() => {
      const zq = this.vq.lookup(tf.reshape(tf.cast(idx, 'int32'), [-1]) as tf.Tensor1D);
      return this.decode(tf.reshape(zq, [idx.shape[0]!, h, w, this.cfg.codeDim]));
    });
  }

  /** z ~ p(z) (or p(z | y)) by the prior, then the decoder mean E[x | z] */
  sample(n: number, opts: SampleOptions = {}): tf.Tensor {
    const { T, y } = sampleArgs(this.kind, this.C, n, opts, { positive: true });
    try {
      return tf.tidy(() => {
        const tokens = this.prior.sample(n, {
          seed: opts.seed ?? 0,
          temperature: T,
          ...(y ? { label: Array.from(y.dataSync()) } : {}),
        });
        const idx = tf.reshape(tf.round(tf.mul(tokens, this.cfg.codes - 1)), [n, ...this.grid]);
        return this.decodeTokens(idx);
      });
    } finally {
      y?.dispose();
    }
  }

  /** the quantized encoding z_q(x) [n, h, w, D] (continuous: interpolation decodes between codes) */
  encode(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { q, n } = this.encodeRows(x);
      return tf.reshape(q.zq, [n, ...this.grid, this.cfg.codeDim]);
    });
  }

  /** the decoder mean E[x | z] for z [n, h, w, D] */
  decode(z: tf.Tensor): tf.Tensor {
    const [h, w] = this.grid;
    if (z.rank !== 4 || z.shape[1] !== h || z.shape[2] !== w || z.shape[3] !== this.cfg.codeDim)
      throw new UserError(
        `decode expects z of shape [n, ${h}, ${w}, ${this.cfg.codeDim}] (got [${z.shape.join(', ')}])`,
      );
    return tf.tidy(() => this.lik.mean(this.dec.apply(z as tf.Tensor4D)));
  }

  dispose(): void {
    this.prior.dispose();
    for (const v of this.vars.values()) if (!v.isDisposed) v.dispose();
    this.vars.clear();
  }
}

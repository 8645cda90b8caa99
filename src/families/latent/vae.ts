// Variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes") and its variants:
//   ELBO (K&W eq. 3 / eq. 10):  L(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)),
//     q(z|x) = N(mu(x), diag exp(logVar(x))), p(z) = N(0, I), z = mu + exp(logVar/2) * eps (reparameterization),
//     KL in closed form (K&W appendix B).
//   IWAE (Burda et al. 2016, eq. 8):  L_k(x) = E[log (1/k) sum_i p(x, z_i) / q(z_i|x)],  z_i ~ q(z|x) iid;
//     L_1 = ELBO <= L_k <= L_{k+1} <= log p(x).
//   beta-VAE (Higgins et al. 2017, eq. 4):  E_q[log p(x|z)] - beta KL(q(z|x) || p(z)).
//   CVAE (Sohn et al. 2015, eq. 4): q(z|x,y), p(x|z,y), p(z) = N(0, I); y one-hot, concatenated to the encoder's
//     input features and to z for the decoder.
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { labelledDataReason, oneHotLabels, sampleArgs } from '../../core/labels.js';
import { parseModelOptions } from '../../core/registry.js';
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
import { Normal, sumEvent } from '../../distributions/index.js';
import { ConvDecoder, ConvEncoder } from './conv.js';
import type { Activation } from './init.js';
import { Likelihood, defaultLikelihood, type LikelihoodKind } from './likelihood.js';
import { MLP } from './mlp.js';

export interface VaeConfig {
  latentDim: number;
  arch: 'mlp' | 'conv';
  /** dense hidden sizes of the encoder (the decoder mirrors them); for conv, the dense layers after the convs */
  hidden: number[];
  /** conv channels of the two stride-2 layers */
  channels: [number, number];
  activation: Activation;
  beta: number;
  /** k of the IWAE training objective; 1 = the ELBO */
  iwTrainK: number;
  conditional: boolean;
  likelihood: LikelihoodKind;
  /** learned log-scale of continuous likelihoods: one per data dimension or one global */
  scale: 'dim' | 'global';
  /** max rows (samples x examples) decoded at once by logProbBound */
  evalChunk: number;
}

export const VAE_SCHEMA = z.object({
  latentDim: z
    .union([z.literal('auto'), z.int().min(1)])
    .default('auto')
    .describe("latent dimensions ('auto': 32 for images, 2 for vectors of <= 4 dims, else min(16, D))"),
  // mlp by default: on CPU backends the conv nets' backward pass is several times slower per step
  arch: z
    .enum(['mlp', 'conv'])
    .default('mlp')
    .describe('encoder/decoder: MLPs, or two stride-2 convolutions (images with H, W divisible by 4)'),
  hidden: z
    .union([z.literal('auto'), z.array(z.int().min(1))])
    .default('auto')
    .describe(
      "dense hidden sizes of the encoder, mirrored by the decoder ('auto': mlp [512, 256], conv [256])",
    ),
  channels: z
    .tuple([z.int().min(1), z.int().min(1)])
    .default([32, 64])
    .describe('conv channels of the two stride-2 layers (arch conv)'),
  activation: z.enum(['relu', 'tanh', 'softplus', 'elu']).default('relu').describe('hidden activation'),
  beta: z.number().min(0).default(1).describe('weight of the KL term (beta-VAE, Higgins et al. 2017)'),
  iwTrainK: z.int().min(1).default(1).describe('k of the IWAE training bound; 1 = the ELBO'),
  conditional: z.boolean().default(false).describe('class-conditional q(z|x,y), p(x|z,y) (CVAE)'),
  likelihood: z
    .enum(['auto', 'bernoulli', 'logistic', 'gaussian'])
    .default('auto')
    .describe("p(x|z) ('auto': bernoulli for binary data, logistic for 8-bit levels, else gaussian)"),
  scale: z
    .enum(['dim', 'global'])
    .default('dim')
    .describe('learned log-scale of continuous likelihoods: one per data dimension or one global'),
  evalChunk: z
    .int()
    .min(1)
    .default(20000)
    .describe('max rows (samples x examples) decoded at once by logProbBound'),
});

export type VaeOptions = z.output<typeof VAE_SCHEMA>;

/** Why the VAE cannot take this data with these options, or null. */
export function vaeAccepts(spec: DataSpec, c: VaeOptions): string | null {
  if (spec.shape.length === 0) return 'data has no dimensions';
  const convOk =
    spec.kind === 'image' && spec.shape.length === 3 && spec.shape[0]! % 4 === 0 && spec.shape[1]! % 4 === 0;
  if (c.arch === 'conv' && !convOk)
    return `arch 'conv' needs images [H, W, C] with H and W divisible by 4 (got ${spec.kind} [${spec.shape.join(', ')}])`;
  return null;
}

/** Fill 'auto' values and check every key; the result is JSON and rebuilds the same model. */
export function resolveVaeConfig(raw: object, spec: DataSpec): VaeConfig {
  const c = parseModelOptions('vae', VAE_SCHEMA, raw);
  const why = vaeAccepts(spec, c) ?? labelledDataReason(spec, c.conditional);
  if (why) throw new UserError(why);
  const D = dims(spec);
  const isImage = spec.kind === 'image' && spec.shape.length === 3;
  const latentDim = c.latentDim === 'auto' ? (isImage ? 32 : D <= 4 ? 2 : Math.min(16, D)) : c.latentDim;
  const hidden = c.hidden === 'auto' ? (c.arch === 'conv' ? [256] : [512, 256]) : c.hidden;
  const likelihood = c.likelihood === 'auto' ? defaultLikelihood(spec) : c.likelihood;
  return {
    latentDim,
    arch: c.arch,
    hidden: [...hidden],
    channels: [c.channels[0], c.channels[1]],
    activation: c.activation,
    beta: c.beta,
    iwTrainK: c.iwTrainK,
    conditional: c.conditional,
    likelihood,
    scale: c.scale,
    evalChunk: c.evalChunk,
  };
}

/** log(exp(a) + exp(b)), stable. */
function logAddExp(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.maximum(a, b);
    return tf.add(m, tf.log(tf.add(tf.exp(tf.sub(a, m)), tf.exp(tf.sub(b, m)))));
  });
}

export class VAE implements GenerativeModel {
  readonly taxonomy: Taxonomy;
  readonly config: Record<string, unknown>;
  readonly cfg: VaeConfig;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly encConv: ConvEncoder | null = null;
  private readonly encMlp: MLP;
  private readonly decMlp: MLP;
  private readonly decConv: ConvDecoder | null = null;
  readonly lik: Likelihood;
  private readonly D: number;
  private readonly C: number;

  constructor(
    readonly kind: string,
    rawConfig: object,
    readonly spec: DataSpec,
    seed: number,
  ) {
    const cfg = resolveVaeConfig(rawConfig, spec);
    this.cfg = cfg;
    this.config = { ...cfg } as unknown as Record<string, unknown>;
    this.taxonomy = {
      family: 'latent',
      density: 'bound',
      sampling: 'direct',
      latent: true,
      conditional: cfg.conditional,
    };
    this.D = dims(spec);
    this.C = cfg.conditional ? spec.numClasses! : 0;
    const rng = new Rng(seed);
    const L = cfg.latentDim;
    const rev = [...cfg.hidden].reverse();
    if (cfg.arch === 'conv') {
      this.encConv = new ConvEncoder(spec.shape, cfg.channels, cfg.activation, rng, 'enc.conv');
      this.encMlp = new MLP(
        [this.encConv.outDim + this.C, ...cfg.hidden, 2 * L],
        cfg.activation,
        rng,
        'enc.mlp',
      );
      this.decConv = new ConvDecoder(
        spec.shape,
        spec.shape[2]!,
        cfg.channels,
        cfg.activation,
        rng,
        'dec.conv',
      );
      this.decMlp = new MLP([L + this.C, ...rev, this.decConv.inDim], cfg.activation, rng, 'dec.mlp', true);
    } else {
      this.encMlp = new MLP([this.D + this.C, ...cfg.hidden, 2 * L], cfg.activation, rng, 'enc.mlp');
      this.decMlp = new MLP([L + this.C, ...rev, this.D], cfg.activation, rng, 'dec.mlp');
    }
    this.lik = new Likelihood(cfg.likelihood, spec, cfg.scale);
    for (const m of [this.encConv, this.encMlp, this.decMlp, this.decConv, this.lik]) {
      for (const [k, v] of m?.variables ?? []) this.vars.set(k, v);
    }
  }

  variables(): Map<string, tf.Variable> {
    return this.vars;
  }

  /** y -> one-hot [n, C] for a conditional model (null otherwise), with checks. */
  private oneHot(y: tf.Tensor1D | undefined, n: number): tf.Tensor2D | null {
    return oneHotLabels(this.kind, this.C, y, n);
  }

  /** q(z|x[,y]) parameters: mu, logVar [n, L]. */
  posterior(x: tf.Tensor, yOh: tf.Tensor2D | null): { mu: tf.Tensor2D; logVar: tf.Tensor2D } {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      let h = this.encConv ? this.encConv.apply(x) : tf.reshape(x, [n, this.D]);
      if (yOh) h = tf.concat([h, yOh], 1);
      const out = this.encMlp.apply(h) as tf.Tensor2D;
      const [mu, logVar] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return { mu, logVar };
    });
  }

  /** decoder parameters of p(x|z[,y]) as [n, ...spec.shape] */
  decoderOut(z: tf.Tensor2D, yOh: tf.Tensor2D | null): tf.Tensor {
    return tf.tidy(() => {
      const n = z.shape[0];
      const zy = yOh ? tf.concat([z, yOh], 1) : z;
      const h = this.decMlp.apply(zy);
      return this.decConv ? this.decConv.apply(h) : tf.reshape(h, [n, ...this.spec.shape]);
    });
  }

  /**
   * One-sample ELBO terms per example (K&W eq. 10): recon = log p(x|z), z = mu + sigma*eps;
   * kl = KL(q(z|x) || N(0, I)) in closed form. Differentiable.
   */
  elboTerms(x: tf.Tensor, yOh: tf.Tensor2D | null, seed: number): { recon: tf.Tensor1D; kl: tf.Tensor1D } {
    return tf.tidy(() => {
      const { mu, logVar } = this.posterior(x, yOh);
      const q = Normal.fromLogVar(mu, logVar);
      const prior = new Normal(tf.zerosLike(mu), tf.zerosLike(mu));
      const z = q.rsample(seed) as tf.Tensor2D;
      const recon = sumEvent(this.lik.dist(this.decoderOut(z, yOh)).logProb(x)) as tf.Tensor1D;
      const kl = sumEvent(q.kl(prior)) as tf.Tensor1D;
      return { recon, kl };
    });
  }

  /**
   * Log importance weights log w_i = log p(x|z_i) + beta [log p(z_i) - log q(z_i|x)] for c samples per
   * example, as [c, n], with log p(x|z_i) (beta = 1: the IWAE weights, Burda et al. eq. 8). Differentiable.
   */
  logWeights(
    x: tf.Tensor,
    yOh: tf.Tensor2D | null,
    mu: tf.Tensor2D,
    logVar: tf.Tensor2D,
    c: number,
    seed: number,
    beta = 1,
  ): { logW: tf.Tensor2D; logPxz: tf.Tensor2D } {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const rep = (t: tf.Tensor) => tf.tile(t, [c, ...t.shape.slice(1).map(() => 1)]);
      const q = Normal.fromLogVar(rep(mu), rep(logVar)); // rows ordered (sample i, example j) -> i * n + j
      const z = q.rsample(seed) as tf.Tensor2D;
      const prior = new Normal(tf.zerosLike(z), tf.zerosLike(z));
      const yRep = yOh ? (rep(yOh) as tf.Tensor2D) : null;
      const logPxz = sumEvent(this.lik.dist(this.decoderOut(z, yRep)).logProb(rep(x)));
      const logRatio = tf.sub(sumEvent(prior.logProb(z)), sumEvent(q.logProb(z)));
      return {
        logW: tf.reshape(tf.add(logPxz, tf.mul(beta, logRatio)), [c, n]) as tf.Tensor2D,
        logPxz: tf.reshape(logPxz, [c, n]) as tf.Tensor2D,
      };
    });
  }

  /**
   * Lower bound on log p(x) per example in nats. k = 1: the ELBO with analytic KL; k > 1: the IWAE bound
   * log (1/k) sum_i w_i, drawn in chunks (at most evalChunk decoded rows) with a running log-sum-exp.
   */
  logProbBound(x: tf.Tensor, opts: { k: number; seed: number; y?: tf.Tensor1D }): tf.Tensor1D {
    const k = opts.k;
    if (!Number.isInteger(k) || k < 1) throw new UserError(`k must be a positive integer (got ${k})`);
    const n = x.shape[0]!;
    const yOh = this.oneHot(opts.y, n);
    try {
      if (k === 1) {
        return tf.tidy(() => {
          const { recon, kl } = this.elboTerms(x, yOh, opts.seed);
          return tf.sub(recon, kl) as tf.Tensor1D;
        });
      }
      const rng = new Rng(opts.seed);
      const { mu, logVar } = this.posterior(x, yOh); // the encoder runs once for all k samples
      const chunk = Math.max(1, Math.min(k, Math.floor(this.cfg.evalChunk / n)));
      let acc: tf.Tensor | null = null;
      try {
        for (let done = 0; done < k; done += chunk) {
          const c = Math.min(chunk, k - done);
          const next: tf.Tensor = tf.tidy(() => {
            const lse = tf.logSumExp(this.logWeights(x, yOh, mu, logVar, c, rng.nextSeed()).logW, 0);
            return acc ? logAddExp(acc, lse) : lse;
          });
          acc?.dispose();
          acc = next;
        }
        return tf.sub(acc!, Math.log(k)) as tf.Tensor1D;
      } finally {
        tf.dispose([mu, logVar]);
        acc?.dispose();
      }
    } finally {
      yOh?.dispose();
    }
  }

  objectives(): Objective[] {
    const vars = [...this.vars.values()];
    const { beta, iwTrainK: k } = this.cfg;
    return [
      {
        name: 'elbo',
        variables: () => vars,
        loss: (batch: Batch, ctx) =>
          tf.tidy(() => {
            const n = batch.x.shape[0]!;
            const yOh = this.oneHot(batch.y, n);
            let bound: tf.Tensor, recon: tf.Tensor, kl: tf.Tensor;
            if (k === 1) {
              // K&W eq. 10 (beta = 1) / Higgins et al. eq. 4 (beta != 1)
              ({ recon, kl } = this.elboTerms(batch.x, yOh, ctx.seed()));
              bound = tf.sub(recon, tf.mul(beta, kl));
            } else {
              // Burda et al. eq. 8 (with beta on log p(z) - log q(z|x) when beta != 1)
              const { mu, logVar } = this.posterior(batch.x, yOh);
              const { logW, logPxz } = this.logWeights(batch.x, yOh, mu, logVar, k, ctx.seed(), beta);
              bound = tf.sub(tf.logSumExp(logW, 0), Math.log(k));
              recon = tf.mean(logPxz, 0);
              kl = sumEvent(Normal.fromLogVar(mu, logVar).kl(new Normal(tf.zerosLike(mu), tf.zerosLike(mu))));
            }
            return {
              loss: tf.neg(tf.mean(bound)) as tf.Scalar,
              metrics: { recon: tf.mean(recon) as tf.Scalar, kl: tf.mean(kl) as tf.Scalar },
            };
          }),
      },
    ];
  }

  /** z ~ N(0, T^2 I); images: the decoder mean E[x|z]; vectors: x ~ p(x|z). */
  sample(n: number, opts: SampleOptions = {}): tf.Tensor {
    const { T, y } = sampleArgs(this.kind, this.cfg.conditional ? this.C : 0, n, opts);
    const rng = new Rng(opts.seed ?? 0);
    try {
      return tf.tidy(() => {
        const z = tf.randomNormal([n, this.cfg.latentDim], 0, T, 'float32', rng.nextSeed()) as tf.Tensor2D;
        const yOh = this.oneHot(y, n);
        const out = this.decoderOut(z, yOh);
        return this.spec.kind === 'image' ? this.lik.mean(out) : this.lik.sample(out, rng.nextSeed());
      });
    } finally {
      y?.dispose();
    }
  }

  /** posterior mean E[z|x] [n, L] */
  encode(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor {
    return tf.tidy(() => this.posterior(x, this.oneHot(y, x.shape[0]!)).mu);
  }

  /** decoder mean E[x|z] [n, ...shape] */
  decode(z: tf.Tensor, y?: tf.Tensor1D): tf.Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.cfg.latentDim) {
      throw new UserError(
        `decode expects z of shape [n, ${this.cfg.latentDim}] (got [${z.shape.join(', ')}])`,
      );
    }
    return tf.tidy(() => this.lik.mean(this.decoderOut(z as tf.Tensor2D, this.oneHot(y, z.shape[0]!))));
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

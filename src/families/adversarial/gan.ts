// Generative adversarial networks (Goodfellow et al. 2014): a generator x = G(z), z ~ N(0, I), and a
// discriminator D trained against each other as a two-player minimax game (losses.ts). No density: GANs are
// judged by their samples (src/eval/sample-metrics.ts). This class is the whole family's model; the registered
// kinds differ in defaults only:
//   gan      MLP G and D (2-D and tabular data, small images), non-saturating loss
//   dcgan    convolutional G and D (dcgan.ts)
//   wgan-gp  Wasserstein critic with gradient penalty, 5 critic steps per generator step (wgan-gp.ts)
//   cgan     label-conditioned G and D (cgan.ts)
// Discriminator head on the body's features phi(x) (nets.ts):
//   h = phi(x), or [phi(x), o(phi(x))] with minibatch discrimination (minibatch-discrimination.ts);
//   logit = w^T h + b, plus e_y^T h for conditional models (projection discriminator, Miyato & Koyama 2018,
//   eq. 3), and optionally class logits A^T h + c (auxiliary classifier, AC-GAN, Odena et al. 2017); a
//   conditional G gets the one-hot label concatenated to z (Mirza & Osindero 2014).
// Objectives: 'discriminator' on every batch, then 'generator' on every `nCritic`-th batch (Gulrajani et al.
// 2017, Alg. 1: each critic iteration draws a fresh real batch). Labels of fake samples in training are the
// batch's labels.
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { labelledDataReason, oneHotLabels, sampleArgs } from '../../core/labels.js';
import { parseModelOptions, registerModelEntry } from '../../core/registry.js';
import {
  UserError,
  type Batch,
  type GenerativeModel,
  type Objective,
  type SampleOptions,
  type Taxonomy,
} from '../../core/model.js';
import { Rng } from '../../core/rng.js';
import { batchRandomNormal } from '../../distributed/rows.js';
import { dims, type DataSpec } from '../../data/spec.js';
import { Categorical } from '../../distributions/categorical.js';
import { initWeight, zeros } from '../latent/init.js';
import { GAN_OPTIONS, GAN_SCHEMA, convOk, ganAccepts, ganSchema, type GanOptions } from './options.js';
export { GAN_SCHEMA, ganAccepts, ganSchema, type GanOptions } from './options.js';
import { discriminatorLoss, generatorLoss, gradientPenalty, type GanLoss } from './losses.js';
import { MinibatchDiscrimination } from './minibatch-discrimination.js';
import {
  ConvDiscriminator,
  ConvGenerator,
  MlpDiscriminator,
  MlpGenerator,
  type DiscriminatorBody,
  type Generator,
} from './nets.js';

export interface GanConfig {
  arch: 'mlp' | 'conv';
  latentDim: number;
  /** MLP: hidden sizes of G (D mirrors them) */
  hidden: number[];
  /** conv: channels of D's two stride-2 layers (G mirrors them) */
  channels: [number, number];
  loss: GanLoss;
  /** generator normalization: 'batch' = batch norm on its hidden layers (running averages for sampling) */
  gNorm: 'none' | 'batch';
  /** one-sided label smoothing of the discriminator's real targets (1 -> 1 - s; not for wgan-gp) */
  labelSmoothing: number;
  /** WGAN-GP penalty weight lambda */
  gpWeight: number;
  /** discriminator updates per generator update */
  nCritic: number;
  /** minibatch discrimination: number of kernels B (0 = off) and their dimension C */
  mbdKernels: number;
  mbdDim: number;
  conditional: boolean;
  /**
   * how D sees the label (conditional models): 'projection' = e_y^T phi(x) added to the logit (Miyato & Koyama
   * 2018); 'input' = one-hot label maps concatenated to x as extra channels (features for MLPs), as in Mirza &
   * Osindero 2014; 'both'; 'none' (only an auxiliary classifier, if any, knows labels)
   */
  dLabel: 'projection' | 'input' | 'both' | 'none';
  /**
   * weight of the auxiliary classifier's loss (AC-GAN, Odena et al. 2017, eq. 2-3; 0 = off): a C-way head on
   * D's features; D minimizes its cross-entropy on real and generated images, G on generated ones
   */
  auxWeight: number;
  /** dropout rate on D's hidden features in training (0 = off); slows D down early in training */
  dDropout: number;
  /** Adam betas of both players (GANs: beta1 = 0.5, Radford et al. 2016; WGAN-GP: (0, 0.9)) */
  beta1: number;
  beta2: number;
  /** learning-rate factors of each player (two time-scale updates, Heusel et al. 2017) */
  dLrScale: number;
  gLrScale: number;
}

/** Fill 'auto' values and check every key; the result is JSON and rebuilds the same model. */
export function resolveGanConfig(raw: object, spec: DataSpec, kind = 'gan'): GanConfig {
  const c = parseModelOptions(kind, GAN_SCHEMA, raw);
  const why = ganAccepts(spec, c) ?? labelledDataReason(spec, c.conditional);
  if (why) throw new UserError(why);
  const isImage = spec.kind === 'image';
  const arch = c.arch === 'auto' ? (convOk(spec) ? 'conv' : 'mlp') : c.arch;
  return {
    ...c,
    arch,
    latentDim: c.latentDim === 'auto' ? (isImage ? 64 : 16) : c.latentDim,
    hidden: [...(c.hidden === 'auto' ? (isImage ? [512, 512] : [128, 128]) : c.hidden)],
    channels: [c.channels[0], c.channels[1]],
  };
}

export class GAN implements GenerativeModel {
  readonly taxonomy: Taxonomy;
  readonly config: Record<string, unknown>;
  readonly cfg: GanConfig;
  private readonly gVars = new Map<string, tf.Variable>();
  private readonly dVars = new Map<string, tf.Variable>();
  readonly G: Generator;
  readonly body: DiscriminatorBody;
  readonly mbd: MinibatchDiscrimination | null = null;
  private readonly w: tf.Variable;
  private readonly b: tf.Variable;
  /** projection embedding of labels [C, F] (conditional) */
  private readonly embed: tf.Variable | null = null;
  /** auxiliary classifier head [F, C] and [C] (auxWeight > 0) */
  private readonly auxW: tf.Variable | null = null;
  private readonly auxB: tf.Variable | null = null;
  private readonly C: number;
  /** D gets the label as input channels / features */
  private readonly labelIn: boolean;

  constructor(
    readonly kind: string,
    rawConfig: object,
    readonly spec: DataSpec,
    seed: number,
  ) {
    const cfg = resolveGanConfig(rawConfig, spec, kind);
    this.cfg = cfg;
    this.config = { ...cfg } as unknown as Record<string, unknown>;
    this.taxonomy = {
      family: 'adversarial',
      density: 'none',
      sampling: 'direct',
      latent: true,
      conditional: cfg.conditional,
    };
    this.C = cfg.conditional ? spec.numClasses! : 0;
    const rng = new Rng(seed);
    const zIn = cfg.latentDim + this.C;
    const revCh: [number, number] = [cfg.channels[0], cfg.channels[1]];
    this.G =
      cfg.arch === 'conv'
        ? new ConvGenerator(zIn, revCh, spec.shape, cfg.gNorm === 'batch', rng, 'G')
        : new MlpGenerator(zIn, cfg.hidden, spec.shape, cfg.gNorm === 'batch', rng, 'G');
    // label as D's input: C extra channels (conv) or C extra features (MLP)
    this.labelIn = cfg.conditional && (cfg.dLabel === 'input' || cfg.dLabel === 'both');
    const cIn = this.labelIn ? this.C : 0;
    const dShape = [...spec.shape.slice(0, -1), spec.shape[spec.shape.length - 1]! + cIn];
    this.body =
      cfg.arch === 'conv'
        ? new ConvDiscriminator(dShape, cfg.channels, rng, 'D.body')
        : new MlpDiscriminator(dims(spec) + cIn, [...cfg.hidden].reverse(), rng, 'D.body');
    let F = this.body.outDim;
    if (cfg.mbdKernels > 0) {
      this.mbd = new MinibatchDiscrimination(F, cfg.mbdKernels, cfg.mbdDim, rng, 'D.mbd');
      F = this.mbd.outDim;
    }
    this.w = initWeight([F, 1], F, 1, 'glorot', rng);
    this.b = zeros([1]);
    for (const [k, v] of this.G.variables) this.gVars.set(k, v);
    for (const m of [this.body, this.mbd]) for (const [k, v] of m?.variables ?? []) this.dVars.set(k, v);
    this.dVars.set('D.head.w', this.w);
    this.dVars.set('D.head.b', this.b);
    if (this.C > 0 && cfg.auxWeight > 0) {
      this.auxW = initWeight([F, this.C], F, this.C, 'glorot', rng);
      this.auxB = zeros([this.C]);
      this.dVars.set('D.aux.w', this.auxW);
      this.dVars.set('D.aux.b', this.auxB);
    }
    if (this.C > 0 && (cfg.dLabel === 'projection' || cfg.dLabel === 'both')) {
      this.embed = initWeight([this.C, F], F, this.C, 'glorot', rng);
      this.dVars.set('D.head.embed', this.embed);
    }
  }

  variables(): Map<string, tf.Variable> {
    return new Map([...this.gVars, ...this.dVars]);
  }

  /** G's trainable weights (not the batch-norm running averages) */
  generatorVariables(): tf.Variable[] {
    return [...this.gVars.values()].filter((v) => v.trainable);
  }

  discriminatorVariables(): tf.Variable[] {
    return [...this.dVars.values()];
  }

  private oneHot(y: tf.Tensor1D | undefined, n: number): tf.Tensor2D | null {
    return oneHotLabels(this.kind, this.C, y, n);
  }

  /**
   * x = G(z[, y]) in data space: sigmoid output for [0,1] data, linear for real-valued data. training: batch
   * norm (if any) uses and updates batch statistics; otherwise its running averages.
   */
  generate(z: tf.Tensor2D, y?: tf.Tensor1D, training = false): tf.Tensor {
    return tf.tidy(() => {
      const yOh = this.oneHot(y, z.shape[0]);
      const out = this.G.apply(yOh ? tf.concat([z, yOh], 1) : z, training);
      return this.spec.domain === 'real' ? out : tf.sigmoid(out);
    });
  }

  /** discriminator (critic) logits [n] of a batch; minibatch features are computed within this batch */
  logits(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => {
      const { logit, classLogits } = this.discriminate(x, y);
      classLogits?.dispose();
      return logit;
    });
  }

  /**
   * D on a batch: the real/fake logit [n] and, with an auxiliary classifier, class logits [n, C]. `seed`
   * (training only) turns on D's dropout, with fresh masks per call.
   */
  discriminate(
    x: tf.Tensor,
    y?: tf.Tensor1D,
    seed?: () => number,
  ): { logit: tf.Tensor1D; classLogits: tf.Tensor2D | null } {
    const out = tf.tidy((): tf.Tensor[] => {
      const n = x.shape[0]!;
      const yOh = this.oneHot(y, n);
      let xIn = x;
      if (yOh && this.labelIn) {
        // conv D: one-hot maps [n, H, W, C] as extra channels; MLP D: the one-hot next to the flattened x
        xIn =
          this.cfg.arch === 'conv'
            ? tf.concat([x, tf.tile(tf.reshape(yOh, [n, 1, 1, this.C]), [1, x.shape[1]!, x.shape[2]!, 1])], 3)
            : tf.concat([tf.reshape(x, [n, -1]), yOh], 1);
      }
      const rate = this.cfg.dDropout;
      const noise = seed && rate > 0 ? (h: tf.Tensor) => tf.dropout(h, rate, undefined, seed()) : undefined;
      let h = this.body.apply(xIn, noise);
      if (this.mbd) h = this.mbd.apply(h);
      let l = tf.add(tf.matMul(h, this.w as tf.Tensor2D), this.b);
      if (yOh && this.embed)
        l = tf.add(l, tf.sum(tf.mul(tf.matMul(yOh, this.embed as tf.Tensor2D), h), 1, true));
      const logit = tf.reshape(l, [n]) as tf.Tensor1D;
      if (!this.auxW) return [logit];
      return [logit, tf.add(tf.matMul(h, this.auxW as tf.Tensor2D), this.auxB!) as tf.Tensor2D];
    });
    return { logit: out[0] as tf.Tensor1D, classLogits: (out[1] as tf.Tensor2D | undefined) ?? null };
  }

  /** mean cross-entropy -log p(y | x) of class logits [n, C] (the AC-GAN class term) */
  private classLoss(classLogits: tf.Tensor2D, y: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => tf.neg(tf.mean(new Categorical(classLogits).logProb(y))) as tf.Scalar);
  }

  private noise(n: number, seed: number): tf.Tensor2D {
    return batchRandomNormal([n, this.cfg.latentDim], 0, 1, seed) as tf.Tensor2D; // split-invariant (src/distributed/rows.ts)
  }

  /** the discriminator's loss on a batch (+ logged scalars); differentiable in D's weights */
  discriminatorStep(batch: Batch, seed: () => number) {
    return tf.tidy(() => {
      const n = batch.x.shape[0]!;
      const y = this.C > 0 ? batch.y : undefined;
      const fake = this.generate(this.noise(n, seed()), y, true);
      const real = this.discriminate(batch.x, y, seed);
      const gen = this.discriminate(fake, y, seed);
      const [lReal, lFake] = [real.logit, gen.logit];
      let loss = discriminatorLoss(this.cfg.loss, lReal, lFake, this.cfg.labelSmoothing);
      const metrics: Record<string, tf.Scalar> = {};
      if (this.cfg.loss === 'wgan-gp') {
        const gp = gradientPenalty((x) => this.discriminate(x, y, seed).logit, batch.x, fake, seed());
        metrics.wdist = tf.sub(tf.mean(lReal), tf.mean(lFake)) as tf.Scalar;
        metrics.gp = gp;
        loss = tf.add(loss, tf.mul(this.cfg.gpWeight, gp)) as tf.Scalar;
      } else {
        metrics.dReal = tf.mean(tf.sigmoid(lReal)) as tf.Scalar;
        metrics.dFake = tf.mean(tf.sigmoid(lFake)) as tf.Scalar;
      }
      if (real.classLogits && gen.classLogits && y) {
        // AC-GAN (Odena et al. 2017, eq. 3): D maximizes L_S + L_C, L_C over real and generated images
        const cls = tf.add(this.classLoss(real.classLogits, y), this.classLoss(gen.classLogits, y));
        metrics.classCE = cls as tf.Scalar;
        loss = tf.add(loss, tf.mul(this.cfg.auxWeight, cls)) as tf.Scalar;
      }
      return { loss, metrics };
    });
  }

  /** the generator's loss on a batch (its size and labels); differentiable in G's weights */
  generatorStep(batch: Batch, seed: () => number) {
    return tf.tidy(() => {
      const n = batch.x.shape[0]!;
      const y = this.C > 0 ? batch.y : undefined;
      const gen = this.discriminate(this.generate(this.noise(n, seed()), y, true), y, seed);
      let loss = generatorLoss(this.cfg.loss, gen.logit);
      // AC-GAN: G maximizes L_C - L_S, i.e. also makes its samples classified as the asked label
      if (gen.classLogits && y)
        loss = tf.add(loss, tf.mul(this.cfg.auxWeight, this.classLoss(gen.classLogits, y))) as tf.Scalar;
      return { loss };
    });
  }

  objectives(): Objective[] {
    const optim = (scale: number) => ({ beta1: this.cfg.beta1, beta2: this.cfg.beta2, lrScale: scale });
    return [
      {
        name: 'discriminator',
        variables: () => this.discriminatorVariables(),
        optim: optim(this.cfg.dLrScale),
        loss: (batch, ctx) => this.discriminatorStep(batch, ctx.seed),
      },
      {
        name: 'generator',
        variables: () => this.generatorVariables(),
        every: this.cfg.nCritic,
        optim: optim(this.cfg.gLrScale),
        loss: (batch, ctx) => this.generatorStep(batch, ctx.seed),
      },
    ];
  }

  /** x = G(T z[, y]), z ~ N(0, I) */
  sample(n: number, opts: SampleOptions = {}): tf.Tensor {
    const { T, y } = sampleArgs(this.kind, this.C, n, opts);
    const seed = new Rng(opts.seed ?? 0).nextSeed();
    try {
      return tf.tidy(() => this.generate(tf.mul(this.noise(n, seed), T) as tf.Tensor2D, y));
    } finally {
      y?.dispose();
    }
  }

  dispose(): void {
    for (const v of [...this.gVars.values(), ...this.dVars.values()]) v.dispose();
    this.gVars.clear();
    this.dVars.clear();
  }
}

/** Register one GAN kind: its defaults over the GAN options (and any aliases). */
export function registerGan(
  kind: string,
  description: string,
  over: Partial<z.input<typeof GAN_OPTIONS>>,
  aliases?: Record<string, { description: string; config: Partial<z.input<typeof GAN_OPTIONS>> }>,
): void {
  registerModelEntry({
    kind,
    family: 'adversarial',
    description,
    schema: ganSchema(over),
    taxonomy: (c) => ({
      family: 'adversarial',
      density: 'none',
      sampling: 'direct',
      latent: true,
      conditional: c.conditional,
    }),
    accepts: ganAccepts,
    create: (config, spec, seed) => new GAN(kind, config, spec, seed),
    ...(aliases ? { aliases } : {}),
  });
}

// The model interface every family implements, and the taxonomy the tools dispatch on.
import type * as tf from '@tensorflow/tfjs-core';
import type { DataSpec } from '../data/spec.js';

export type Family = 'autoregressive' | 'flow' | 'latent' | 'adversarial' | 'energy' | 'diffusion';

/** Where a model sits in the taxonomy. Tools (eval, sample, classify) read this, never the model's name. */
export interface Taxonomy {
  family: Family;
  /** exact: logProb is the exact log-likelihood; bound: a lower bound (ELBO/IWAE); estimate: a stochastic
   *  estimate of log p (e.g. AIS for an RBM); unnormalized: an energy without log Z; none: samples only */
  density: 'exact' | 'bound' | 'estimate' | 'unnormalized' | 'none';
  /** direct: one network pass per sample; iterative: a chain / sequence of passes */
  sampling: 'direct' | 'iterative';
  latent: boolean;
  conditional: boolean;
}

/** One minibatch. x has the model's data shape with a leading batch dim; y holds int32 class labels. */
export interface Batch {
  x: tf.Tensor;
  y?: tf.Tensor1D;
}

/** What the training loop passes to a loss. */
export interface StepContext {
  step: number;
  epoch: number;
  /** fresh integer seed for this call's random ops (reproducible, resumable) */
  seed: () => number;
  training: boolean;
}

/**
 * One thing the training loop minimizes, with its own optimizer. Most models have one objective;
 * GANs have two (discriminator, generator), updated in order on each batch; the generator of a WGAN-GP only
 * on every n_critic-th batch (`every`), so that each critic update sees a fresh real batch.
 */
export interface Objective {
  name: string;
  variables: () => tf.Variable[];
  /** update only on every `every`-th batch (steps every-1, 2 every-1, ... counting from 0; default 1) */
  every?: number;
  /**
   * Per-objective optimizer overrides: Adam betas, and a factor on the run's learning rate (e.g. GANs use
   * beta1 0.5; WGAN-GP betas (0, 0.9); two time-scale updates set lrScale). Unset: the run's values.
   */
  optim?: { beta1?: number; beta2?: number; lrScale?: number };
  /** scalar loss to minimize plus any scalars to log. Called inside tf.tidy by the loop. */
  loss: (batch: Batch, ctx: StepContext) => { loss: tf.Scalar; metrics?: Record<string, tf.Scalar> };
}

export interface SampleOptions {
  /** class label(s) for conditional models: one for all samples or one per sample */
  label?: number | number[];
  temperature?: number;
  seed?: number;
}

export interface GenerativeModel {
  /** registry name, e.g. 'vae' */
  readonly kind: string;
  readonly taxonomy: Taxonomy;
  readonly spec: DataSpec;
  /** JSON-serializable hyper-parameters: create(kind, config, spec) rebuilds the same architecture */
  readonly config: Record<string, unknown>;
  /** all trainable and persistent state, by stable name (used for checkpoints) */
  variables(): Map<string, tf.Variable>;
  objectives(): Objective[];
  /** exact log p(x) in nats per example (density: 'exact') */
  logProb?(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor1D;
  /** lower bound on log p(x) in nats per example; k=1 is the ELBO, k>1 an importance-weighted bound */
  logProbBound?(x: tf.Tensor, opts: { k: number; seed: number; y?: tf.Tensor1D }): tf.Tensor1D;
  /** samples in data space, shape [n, ...spec.shape] */
  sample(n: number, opts?: SampleOptions): tf.Tensor;
  encode?(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor;
  decode?(z: tf.Tensor, y?: tf.Tensor1D): tf.Tensor;
  dispose(): void;
}

export interface ModelEntry {
  kind: string;
  family: Family;
  description: string;
  /** default hyper-parameters; user config is merged over these */
  defaults: Record<string, unknown>;
  /**
   * Options added after checkpoints of this model were first written: the value that reproduces those
   * checkpoints' model, used when a saved config lacks the key (a new default must not change an old run).
   */
  savedDefaults?: Record<string, unknown>;
  /** which data the model accepts */
  accepts: (spec: DataSpec) => string | null; // null = ok, else the reason it cannot
  create: (config: Record<string, unknown>, spec: DataSpec, seed: number) => GenerativeModel;
}

const registry = new Map<string, ModelEntry>();

export function registerModel(entry: ModelEntry): void {
  registry.set(entry.kind, entry);
}

export function modelEntry(kind: string): ModelEntry {
  const e = registry.get(kind);
  if (!e) {
    throw new UserError(`unknown model '${kind}' (known: ${[...registry.keys()].sort().join(', ')})`);
  }
  return e;
}

export function modelKinds(): string[] {
  return [...registry.keys()].sort();
}

/** An error caused by user input: the CLI prints its message on one line and exits non-zero. */
export class UserError extends Error {
  override name = 'UserError';
}

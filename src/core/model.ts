// The model interface every family implements, and the taxonomy the tools dispatch on.
import type * as tf from '@tensorflow/tfjs-core';
import type { DataSpec } from '../data/spec.js';

export type Family = 'autoregressive' | 'flow' | 'latent' | 'adversarial' | 'energy' | 'diffusion';

/** Where a model sits in the taxonomy. Tools (eval, sample, classify) read this, never the model's name. */
export interface Taxonomy {
  family: Family;
  /**
   * exact: logProb is the exact log-likelihood; bound: a lower bound (ELBO/IWAE); estimate: a stochastic
   * estimate of log p (e.g. AIS for an RBM); unnormalized: an energy without log Z (judged by sample metrics);
   * none: samples only
   */
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
  /** whether the objective trains at this step (unset: always), e.g. one stage of a staged model */
  active?: (ctx: StepContext) => boolean;
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
  /** iterative samplers: number of steps (e.g. DDIM's S, an ODE solver's N) */
  steps?: number;
  /** DDIM stochasticity (0: deterministic) */
  eta?: number;
  /** classifier-free guidance weight w (conditional diffusion models) */
  guidance?: number;
  /** which sampler of the model to use (e.g. 'ddpm' | 'ddim'; 'euler' | 'heun') */
  sampler?: string;
  /** progress of an iterative sampler: called after step i of total */
  onStep?: (i: number, total: number) => void;
  /**
   * the chain's state for trajectory pictures: called at the start (i = 0) and after step i of total; `x()`
   * returns the current state in the space sample() returns (a new tensor the caller disposes), and is only
   * computed when called
   */
  onState?: (i: number, total: number, x: () => tf.Tensor) => void;
}

/**
 * One likelihood number eval reports: exact log p(x), a bound on it, or a stochastic estimate of it (e.g.
 * with log Z from annealed importance sampling). Eval reports -mean(logLik) in nats and bits/dim.
 */
export interface Estimate {
  /** stable key in result JSONs: 'nll' | 'elbo' | 'iwae' | 'vlb' | 'ais' | ... */
  name: string;
  /** shown in tables: 'NLL', '-ELBO', '-IWAE(k=5000)', '-VLB', 'NLL (AIS)' */
  label: string;
  kind: 'exact' | 'bound' | 'estimate';
  /** the sample count K this estimate takes from eval's --iw K (unset: it takes none) */
  k?: number;
  /**
   * Once before the data pass (e.g. AIS for log Z); may return the standard error (nats) it adds to every
   * per-example value, and extra numbers to report (e.g. { logZ, chains, seconds }).
   */
  prepare?: (opts: { seed: number }) => Promise<{ stderr?: number; info?: Record<string, number> } | void>;
  /** per-example value of log p(x) (or the bound / estimate of it) in nats, for one batch */
  logLik: (x: tf.Tensor, y: tf.Tensor1D | undefined, seed: number) => tf.Tensor1D;
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
  /** the likelihood estimates eval reports (default: from the taxonomy, see src/eval/estimates.ts) */
  estimates?(opts: { iw: number }): Estimate[];
  /** energy E(x) per example, p(x) proportional to exp(-E(x)) (energy-based models; lower = more normal) */
  energy?(x: tf.Tensor): tf.Tensor1D;
  /** samples in data space, shape [n, ...spec.shape] */
  sample(n: number, opts?: SampleOptions): tf.Tensor;
  encode?(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor;
  decode?(z: tf.Tensor, y?: tf.Tensor1D): tf.Tensor;
  /**
   * Non-variable state to checkpoint (e.g. a replay buffer, EMA counts): tensors go to the weights file
   * under `state/<name>`, json (JSON-serializable) to config.json. The saver does not dispose the tensors.
   */
  getState?(): ModelState;
  /** restore getState()'s output; the loader disposes the given tensors after this returns (clone to keep) */
  setState?(s: ModelState): void;
  dispose(): void;
}

/** Non-variable model state (see GenerativeModel.getState). */
export interface ModelState {
  tensors: Record<string, tf.Tensor>;
  json: unknown;
}

// The registry of models (one entry per model kind, options as one zod schema): registry.ts.
export { UserError } from './errors.js';
export {
  registerModel,
  registerModelEntry,
  resolveModel,
  parseModelOptions,
  createModel,
  modelEntry,
  modelKinds,
  modelAliases,
  modelTaxonomy,
  modelOptionsHelp,
  type ModelEntry,
  type ModelAlias,
  type ModelConfig,
  type LegacyModelEntry,
  type RegisteredModel,
  type ResolvedModel,
} from './registry.js';

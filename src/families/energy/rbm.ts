// Restricted Boltzmann machine (Smolensky 1986; Hinton 2002, "Training products of experts by minimizing
// contrastive divergence"; Hinton 2010, "A practical guide to training RBMs").
//   Binary visibles:   E(v, h) = -b.v - c.h - v'W h,             F(v) = -b.v - sum_j softplus(c_j + (v W)_j)
//   Gaussian visibles (unit variance, for standardized data; Hinton 2010 §13.2):
//                      E(v, h) = |v|^2/2 - b.v - c.h - v'W h,    F(v) = |v|^2/2 - b.v - sum_j softplus(...)
//   p(v) = exp(-F(v)) / Z;  p(h_j = 1 | v) = sigmoid(c_j + (v W)_j);  p(v|h): sigmoid(b + W h) or N(b + W h, I).
//   CD-k (Hinton 2002) / PCD (Tieleman 2008): d log p(v)/d theta = -dF(v)/d theta + E_model[dF/d theta]; the
//   model expectation uses v- from k block-Gibbs sweeps started at the data (CD) or at persistent chains (PCD).
//   As a loss for the shared loop: L = mean F(v_data) - mean F(v-), v- held constant (off the tape), whose
//   gradient is exactly minus the CD update.
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { UserError, type GenerativeModel, type Objective, type Taxonomy } from '../../core/model.js';
import { Rng } from '../../core/rng.js';
import { dims, type DataSpec } from '../../data/spec.js';
import type { ChainSampleOptions, Estimate } from './estimate.js';
import { aisLogZ, enumerableLayer, exactLogZ, type AisResult, type RbmParams } from './partition.js';
import { bernoulli, flat, offTape, parseOptions, randNormal } from './util.js';

export const RBM_SCHEMA = z.object({
  hidden: z.number().int().min(1).default(500).describe('number of binary hidden units'),
  visible: z
    .enum(['binary', 'gaussian'])
    .default('binary')
    .describe('visible units: binary (binarized data) or Gaussian with unit variance (standardized data)'),
  cdK: z.number().int().min(1).default(1).describe('Gibbs sweeps per update (CD-k, or PCD-k)'),
  persistent: z
    .boolean()
    .default(false)
    .describe('persistent CD (Tieleman 2008): chains carried across updates'),
  chains: z.number().int().min(1).default(100).describe('number of persistent chains (PCD)'),
  initStd: z.number().positive().default(0.01).describe('std of the initial weights N(0, initStd^2)'),
  aisChains: z.number().int().min(1).default(100).describe('AIS chains for the log Z estimate'),
  aisTemperatures: z
    .number()
    .int()
    .min(1)
    .default(14500)
    .describe('AIS intermediate temperatures (Salakhutdinov & Murray 2008 schedule, stretched)'),
  exactMaxUnits: z
    .number()
    .int()
    .min(0)
    .max(24)
    .default(20)
    .describe('enumerate the smaller layer for an exact log Z when it has at most this many units'),
  sampleSteps: z.number().int().min(1).default(1000).describe('Gibbs sweeps per sample() call'),
});
export type RbmConfig = z.output<typeof RBM_SCHEMA>;

/** p(v) = exp(-F(v)) / Z with log Z estimated (AIS) or enumerated; Gibbs chains sample; hidden units are latent */
export const RBM_TAXONOMY: Taxonomy = {
  family: 'energy',
  density: 'estimate',
  sampling: 'iterative',
  latent: true,
  conditional: false,
};

export function rbmAccepts(spec: DataSpec, config?: Partial<RbmConfig>): string | null {
  if (spec.shape.length === 0) return 'data has no dimensions';
  if ((config?.visible ?? 'binary') === 'binary' && spec.domain !== 'binary')
    return `binary visible units need binary data (this data is '${spec.domain}'); use visible=gaussian for continuous data`;
  return null;
}

export class RBM implements GenerativeModel {
  readonly kind = 'rbm';
  readonly taxonomy: Taxonomy;
  readonly config: Record<string, unknown>;
  readonly cfg: RbmConfig;
  readonly D: number;
  readonly W: tf.Variable;
  readonly b: tf.Variable;
  readonly c: tf.Variable;
  /** PCD chains [chains, D] (model state, not trained) */
  readonly pcd: tf.Variable | null = null;
  /** running sum of training visibles [D] and their count [1]: the base rates of the AIS base model */
  readonly dataSum: tf.Variable;
  readonly dataCount: tf.Variable;
  private readonly vars = new Map<string, tf.Variable>();

  constructor(
    raw: Record<string, unknown>,
    readonly spec: DataSpec,
    seed: number,
  ) {
    const cfg = parseOptions(RBM_SCHEMA, raw, 'rbm');
    const why = rbmAccepts(spec, cfg);
    if (why) throw new UserError(`model 'rbm': ${why}`);
    this.cfg = cfg;
    this.config = { ...cfg };
    this.taxonomy = RBM_TAXONOMY;
    const D = (this.D = dims(spec));
    const H = cfg.hidden;
    const rng = new Rng(seed);
    this.W = tf.tidy(() => tf.variable(tf.randomNormal([D, H], 0, cfg.initStd, 'float32', rng.nextSeed())));
    this.b = tf.variable(tf.zeros([D]));
    this.c = tf.variable(tf.zeros([H]));
    this.dataSum = tf.variable(tf.zeros([D]), false);
    this.dataCount = tf.variable(tf.zeros([1]), false);
    this.vars.set('rbm.W', this.W).set('rbm.b', this.b).set('rbm.c', this.c);
    this.vars.set('rbm.data_sum', this.dataSum).set('rbm.data_count', this.dataCount);
    if (cfg.persistent) {
      const s = rng.nextSeed();
      this.pcd = tf.tidy(() =>
        tf.variable(
          cfg.visible === 'gaussian'
            ? randNormal([cfg.chains, D], s)
            : bernoulli(tf.fill([cfg.chains, D], 0.5), s),
          false,
        ),
      );
      this.vars.set('rbm.pcd_chains', this.pcd);
    }
  }

  get gaussian(): boolean {
    return this.cfg.visible === 'gaussian';
  }

  params(): RbmParams {
    return {
      W: this.W as tf.Tensor2D,
      b: this.b as tf.Tensor1D,
      c: this.c as tf.Tensor1D,
      gaussian: this.gaussian,
    };
  }

  variables(): Map<string, tf.Variable> {
    return this.vars;
  }

  /** F(v) [n] for v [n, D] */
  freeEnergy(v: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const hid = tf.sum(tf.softplus(tf.add(tf.matMul(v, this.W as tf.Tensor2D), this.c)), 1);
      let f = tf.neg(tf.add(tf.sum(tf.mul(v, this.b), 1), hid));
      if (this.gaussian) f = tf.add(f, tf.mul(0.5, tf.sum(tf.square(v), 1)));
      return f as tf.Tensor1D;
    });
  }

  /** anomaly score: the free energy F(x) (lower = more probable) */
  energy(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => this.freeEnergy(flat(x)));
  }

  /** p(h = 1 | v) */
  hiddenProb(v: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(tf.add(tf.matMul(v, this.W as tf.Tensor2D), this.c)) as tf.Tensor2D);
  }

  /** E[v | h]: sigmoid(b + W h) or b + W h */
  visibleMean(h: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const a = tf.add(tf.matMul(h, this.W as tf.Tensor2D, false, true), this.b) as tf.Tensor2D;
      return this.gaussian ? a : tf.sigmoid(a);
    });
  }

  /** v ~ p(v | h) */
  sampleVisible(h: tf.Tensor2D, seed: number): tf.Tensor2D {
    return tf.tidy(() => {
      const m = this.visibleMean(h);
      return (this.gaussian ? tf.add(m, randNormal(m.shape, seed)) : bernoulli(m, seed)) as tf.Tensor2D;
    });
  }

  /** k block-Gibbs sweeps v -> h -> v from v0 [n, D]; returns the last v (a sample) */
  gibbs(v0: tf.Tensor2D, k: number, seed: number, onStep?: (i: number, total: number) => void): tf.Tensor2D {
    const rng = new Rng(seed);
    let v = tf.clone(v0) as tf.Tensor2D;
    for (let i = 0; i < k; i++) {
      const next = tf.tidy(() => {
        const h = bernoulli(this.hiddenProb(v), rng.nextSeed()) as tf.Tensor2D;
        return this.sampleVisible(h, rng.nextSeed());
      });
      v.dispose();
      v = next;
      onStep?.(i + 1, k);
    }
    return v;
  }

  objectives(): Objective[] {
    return [
      {
        name: 'cd',
        variables: () => [this.W, this.b, this.c],
        loss: (batch, ctx) => {
          const x = flat(batch.x);
          if (!this.biasesSet) this.initVisibleBias(x);
          // base rates for AIS: a running sum of the training data (state, not a parameter)
          this.dataSum.assign(tf.add(this.dataSum, tf.sum(x, 0)));
          this.dataCount.assign(tf.add(this.dataCount, x.shape[0]));
          const seed = ctx.seed();
          const vNeg = offTape(() =>
            this.gibbs(this.pcd ? (this.pcd as tf.Tensor2D) : x, this.cfg.cdK, seed),
          );
          if (this.pcd) this.pcd.assign(vNeg);
          const fData = tf.mean(this.freeEnergy(x)) as tf.Scalar;
          const fModel = tf.mean(this.freeEnergy(vNeg)) as tf.Scalar;
          return { loss: tf.sub(fData, fModel) as tf.Scalar, metrics: { fData, fModel } };
        },
      },
    ];
  }

  private biasesSet = false;

  /**
   * Before the first update of a fresh model (no data seen yet): visible biases at the base rates of the first
   * batch, b_i = log(p_i / (1 - p_i)) (Hinton 2010, §8), or its mean for Gaussian visibles. A resumed model has
   * seen data (dataCount > 0) and keeps its biases.
   */
  private initVisibleBias(x: tf.Tensor2D): void {
    this.biasesSet = true;
    if (this.dataCount.dataSync()[0]! > 0) return;
    offTape(() =>
      tf.tidy(() => {
        const m = tf.mean(x, 0);
        if (this.gaussian) return this.b.assign(m);
        const p = tf.div(tf.add(tf.mul(m, x.shape[0]), 1), x.shape[0] + 2);
        this.b.assign(tf.sub(tf.log(p), tf.log1p(tf.neg(p))));
      }),
    );
  }

  /** base-rate visible biases b_A: logit of the Laplace-smoothed data means (binary), the data mean (Gaussian) */
  baseBias(): tf.Tensor1D {
    return tf.tidy(() => {
      const n = this.dataCount;
      if (this.gaussian) return tf.div(this.dataSum, tf.maximum(n, 1)) as tf.Tensor1D;
      const p = tf.div(tf.add(this.dataSum, 1), tf.add(n, 2));
      return tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D;
    });
  }

  /** log Z: exact when the smaller layer is enumerable, else AIS (see partition.ts) */
  logZ(opts: {
    seed: number;
    chains?: number;
    temperatures?: number;
    onStep?: (k: number, K: number) => void;
  }): {
    logZ: number;
    kind: 'exact' | 'estimate';
    ais?: AisResult;
  } {
    const layer = enumerableLayer(
      { D: this.D, H: this.cfg.hidden, gaussian: this.gaussian },
      this.cfg.exactMaxUnits,
    );
    if (layer) return { logZ: exactLogZ(this.params(), layer), kind: 'exact' };
    const baseBias = this.baseBias();
    try {
      const ais = aisLogZ(this.params(), {
        baseBias,
        chains: opts.chains ?? this.cfg.aisChains,
        temperatures: opts.temperatures ?? this.cfg.aisTemperatures,
        seed: opts.seed,
        ...(opts.onStep ? { onStep: opts.onStep } : {}),
      });
      return { logZ: ais.logZ, kind: 'estimate', ais };
    } finally {
      baseBias.dispose();
    }
  }

  /** log p(x) = -F(x) - log Z: 'exact' when Z is enumerable, else the AIS estimate (optimistic on average) */
  estimates(): Estimate[] {
    const exact =
      enumerableLayer({ D: this.D, H: this.cfg.hidden, gaussian: this.gaussian }, this.cfg.exactMaxUnits) !==
      null;
    let logZ: number | null = null;
    return [
      {
        name: exact ? 'nll' : 'ais',
        label: exact ? 'NLL' : 'NLL (AIS)',
        kind: exact ? 'exact' : 'estimate',
        prepare: async ({ seed }): Promise<{ stderr?: number; info: Record<string, number> }> => {
          const r = this.logZ({ seed });
          logZ = r.logZ;
          if (!r.ais) return { info: { logZ: r.logZ } };
          const { stderr, chains, temperatures, seconds, logZBase } = r.ais;
          return {
            stderr,
            info: { logZ: r.logZ, logZStderr: stderr, logZBase, chains, temperatures, seconds },
          };
        },
        logLik: (x) => {
          if (logZ === null) {
            if (!exact) throw new Error('rbm: call prepare() (AIS for log Z) before logLik');
            logZ = this.logZ({ seed: 0 }).logZ;
          }
          const lz = logZ;
          return tf.tidy(() => tf.sub(tf.neg(this.energy(x)), lz) as tf.Tensor1D);
        },
      },
    ];
  }

  /**
   * n samples: chains start from the base-rate model and run `steps` Gibbs sweeps; returns E[v | h] of the
   * last sweep for images (probabilities: smoother pictures), a draw v ~ p(v | h) for vectors.
   */
  sample(n: number, opts: ChainSampleOptions = {}): tf.Tensor {
    if (!Number.isInteger(n) || n < 1)
      throw new UserError(`sample count must be a positive integer (got ${n})`);
    const steps = opts.steps ?? this.cfg.sampleSteps;
    if (!Number.isInteger(steps) || steps < 1)
      throw new UserError(`steps must be a positive integer (got ${steps})`);
    const rng = new Rng(opts.seed ?? 0);
    const v0 = tf.tidy(() => {
      const bA = this.baseBias();
      return this.gaussian
        ? tf.add(bA, randNormal([n, this.D], rng.nextSeed()))
        : bernoulli(tf.broadcastTo(tf.sigmoid(bA), [n, this.D]), rng.nextSeed());
    }) as tf.Tensor2D;
    const v = this.gibbs(
      v0,
      steps - 1,
      rng.nextSeed(),
      opts.onStep ? (i) => opts.onStep!(i, steps) : undefined,
    );
    v0.dispose();
    const out = tf.tidy(() => {
      const h = bernoulli(this.hiddenProb(v), rng.nextSeed()) as tf.Tensor2D;
      const last = this.spec.kind === 'image' ? this.visibleMean(h) : this.sampleVisible(h, rng.nextSeed());
      return tf.reshape(last, [n, ...this.spec.shape]);
    });
    v.dispose();
    opts.onStep?.(steps, steps);
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

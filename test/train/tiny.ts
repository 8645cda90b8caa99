// Test fixtures for the training loop: a tiny diagonal-Gaussian model (exact density), a linear-Gaussian latent
// model with a tractable marginal (bound density), and an in-memory dataset.
import * as tf from '@tensorflow/tfjs-core';
import { registerModel, type GenerativeModel, type Objective, type Taxonomy } from '../../src/core/model.js';
import { Rng } from '../../src/core/rng.js';
import type { DataSpec } from '../../src/data/spec.js';
import type { Dataset } from '../../src/data/types.js';

const LOG2PI = Math.log(2 * Math.PI);

/** x ~ N(mu, diag(exp(2 logSigma))). The loss adds seeded jitter to x so that the RNG matters. */
export class DiagGauss implements GenerativeModel {
  readonly kind = 'test-diag-gauss';
  readonly taxonomy: Taxonomy = {
    family: 'flow',
    density: 'exact',
    sampling: 'direct',
    latent: false,
    conditional: false,
  };
  readonly mu: tf.Variable;
  readonly logSigma: tf.Variable;
  constructor(
    readonly spec: DataSpec,
    readonly config: Record<string, unknown>,
    seed: number,
  ) {
    const D = spec.shape.reduce((a, b) => a * b, 1);
    this.mu = tf.tidy(() => tf.variable(tf.randomNormal([D], 0, 1, 'float32', seed)));
    this.logSigma = tf.tidy(() => tf.variable(tf.zeros([D])));
  }
  variables() {
    return new Map([
      ['mu', this.mu],
      ['log_sigma', this.logSigma],
    ]);
  }
  logProb(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      const D = this.mu.size;
      const z = tf.div(tf.sub(tf.reshape(x, [-1, D]), this.mu), tf.exp(this.logSigma));
      return tf.sub(
        tf.mul(-0.5, tf.sum(tf.square(z), 1)),
        tf.add(tf.sum(this.logSigma), 0.5 * D * LOG2PI),
      ) as tf.Tensor1D;
    });
  }
  objectives(): Objective[] {
    return [
      {
        name: 'nll',
        variables: () => [this.mu, this.logSigma],
        loss: (b, ctx) => {
          const jitter = tf.randomNormal(
            b.x.shape,
            0,
            Number(this.config.jitter ?? 0.05),
            'float32',
            ctx.seed(),
          );
          const lp = this.logProb(tf.add(b.x, jitter));
          const loss = tf.neg(tf.mean(lp)) as tf.Scalar;
          return {
            loss:
              this.config.nanAt !== undefined && ctx.step + 1 >= Number(this.config.nanAt)
                ? (tf.mul(loss, NaN) as tf.Scalar)
                : loss,
            metrics: { sigma: tf.mean(tf.exp(this.logSigma)) as tf.Scalar },
          };
        },
      },
    ];
  }
  sample(n: number, opts: { seed?: number } = {}): tf.Tensor {
    return tf.tidy(() =>
      tf.reshape(
        tf.add(
          this.mu,
          tf.mul(tf.exp(this.logSigma), tf.randomNormal([n, this.mu.size], 0, 1, 'float32', opts.seed)),
        ),
        [n, ...this.spec.shape],
      ),
    );
  }
  dispose(): void {
    this.mu.dispose();
    this.logSigma.dispose();
  }
}

/**
 * Linear-Gaussian latent model: z ~ N(0, 1), x | z ~ N(w z + b, s² I), with an amortized posterior
 * q(z|x) = N(a·(x − b), exp(2 ρ)). The marginal is N(b, wwᵀ + s²I), so log p(x) is exact (exactLogProb);
 * logProbBound is the importance-weighted bound (k=1: ELBO), tight when q is the true posterior.
 */
export class LinearGaussianLatent implements GenerativeModel {
  readonly kind = 'test-linear-latent';
  readonly taxonomy: Taxonomy = {
    family: 'latent',
    density: 'bound',
    sampling: 'direct',
    latent: true,
    conditional: false,
  };
  constructor(
    readonly spec: DataSpec,
    readonly config: Record<string, unknown>,
    readonly w: Float32Array,
    readonly b: Float32Array,
    readonly s: number,
    /** posterior mean weights and log std */
    readonly a: Float32Array,
    readonly rho: number,
  ) {}
  /** the exact posterior of this model: a = w / (s² + |w|²), var = s² / (s² + |w|²) */
  static exactPosterior(w: Float32Array, s: number): { a: Float32Array; rho: number } {
    const ww = w.reduce((acc, v) => acc + v * v, 0);
    return { a: w.map((v) => v / (s * s + ww)), rho: 0.5 * Math.log((s * s) / (s * s + ww)) };
  }
  exactLogProb(x: Float32Array): number[] {
    const D = this.w.length;
    const s2 = this.s * this.s;
    const ww = this.w.reduce((acc, v) => acc + v * v, 0);
    const logDet = D * Math.log(s2) + Math.log(1 + ww / s2);
    const out: number[] = [];
    for (let i = 0; i < x.length / D; i++) {
      let rr = 0;
      let wr = 0;
      for (let j = 0; j < D; j++) {
        const r = x[i * D + j]! - this.b[j]!;
        rr += r * r;
        wr += this.w[j]! * r;
      }
      const quad = (rr - (wr * wr) / (s2 + ww)) / s2;
      out.push(-0.5 * (D * LOG2PI + logDet + quad));
    }
    return out;
  }
  variables() {
    return new Map<string, tf.Variable>();
  }
  objectives(): Objective[] {
    return [];
  }
  logProbBound(x: tf.Tensor, opts: { k: number; seed: number }): tf.Tensor1D {
    return tf.tidy(() => {
      const D = this.w.length;
      const n = x.shape[0]!;
      const xr = tf.reshape(x, [n, D]);
      const r = tf.sub(xr, tf.tensor1d(this.b));
      const m = tf.sum(tf.mul(r, tf.tensor1d(this.a)), 1, true); // [n,1]
      const sd = Math.exp(this.rho);
      const eps = tf.randomNormal([n, opts.k], 0, 1, 'float32', opts.seed);
      const z = tf.add(m, tf.mul(eps, sd)); // [n,k]
      const logPz = tf.mul(-0.5, tf.add(tf.square(z), LOG2PI));
      const logQ = tf.sub(tf.mul(-0.5, tf.add(tf.square(eps), LOG2PI)), this.rho);
      const mean = tf.add(
        tf.mul(tf.expandDims(z, 2), tf.reshape(tf.tensor1d(this.w), [1, 1, D])),
        tf.reshape(tf.tensor1d(this.b), [1, 1, D]),
      );
      const res = tf.div(tf.sub(tf.expandDims(xr, 1), mean), this.s);
      const logPx = tf.sub(tf.mul(-0.5, tf.sum(tf.square(res), 2)), D * (Math.log(this.s) + 0.5 * LOG2PI));
      const logW = tf.sub(tf.add(logPz, logPx), logQ);
      return tf.sub(tf.logSumExp(logW, 1), Math.log(opts.k)) as tf.Tensor1D;
    });
  }
  sample(n: number): tf.Tensor {
    return tf.zeros([n, ...this.spec.shape]);
  }
  dispose(): void {}
}

export const VEC_SPEC: DataSpec = { kind: 'vector', shape: [3], domain: 'real' };

registerModel({
  kind: 'test-diag-gauss',
  family: 'flow',
  description: 'test model: diagonal Gaussian',
  defaults: { jitter: 0.05 },
  accepts: (s) => (s.kind === 'vector' ? null : 'vectors only'),
  create: (config, spec, seed) => new DiagGauss(spec, config, seed),
});

/** n rows of D-dim Gaussian data with per-dimension means 1..D; identity prepare/display. */
export function fakeDataset(nTrain: number, nTest: number, D = 3, seed = 1): Dataset {
  const rng = new Rng(seed);
  const make = (n: number) => {
    const x = new Float32Array(n * D);
    for (let i = 0; i < x.length; i++) x[i] = (i % D) + 1 + 0.5 * rng.normal();
    return { n, x };
  };
  const spec: DataSpec = { kind: 'vector', shape: [D], domain: 'real' };
  return {
    name: 'fake',
    spec,
    train: make(nTrain),
    test: make(nTest),
    prepare: (x) => x,
    toDisplay: (x) => x,
    describe: () => ({ name: 'fake', options: { nTrain, nTest, D, seed } }),
  };
}

// Decoder likelihoods p(x|z): the decoder emits one parameter per data dimension (logits or a location),
// the scale of continuous likelihoods is a learned variable (one per dimension or one global).
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/model.js';
import type { DataSpec } from '../../data/spec.js';
import { Bernoulli, DiscretizedLogistic, Normal, type Distribution } from '../../distributions/index.js';

export type LikelihoodKind = 'bernoulli' | 'logistic' | 'gaussian';

/** Default likelihood for a data domain: binary -> Bernoulli, unit (8-bit) -> discretized logistic, else Gaussian. */
export function defaultLikelihood(spec: DataSpec): LikelihoodKind {
  if (spec.domain === 'binary') return 'bernoulli';
  if (spec.domain === 'unit' && spec.levels) return 'logistic';
  return 'gaussian';
}

export class Likelihood {
  readonly variables = new Map<string, tf.Variable>();
  private readonly logScale: tf.Variable | null = null;

  constructor(
    readonly kind: LikelihoodKind,
    private readonly spec: DataSpec,
    scale: 'dim' | 'global',
  ) {
    if (kind === 'bernoulli' && spec.domain !== 'binary') {
      throw new UserError(`likelihood 'bernoulli' needs binary data (this data is '${spec.domain}')`);
    }
    if (kind === 'logistic' && !spec.levels) {
      throw new UserError(`likelihood 'logistic' needs data with a number of levels (e.g. 8-bit images)`);
    }
    if (kind !== 'bernoulli') {
      // log sigma (Gaussian) or log s (logistic); start at a moderate width for the data's range
      const init = kind === 'logistic' ? Math.log(0.1) : 0;
      this.logScale = tf.variable(tf.fill(scale === 'dim' ? spec.shape : [1], init));
      this.variables.set('lik.logScale', this.logScale);
    }
  }

  /** p(x|z) for decoder output `out` [n, ...shape], elementwise (the log-scale broadcasts). */
  dist(out: tf.Tensor): Distribution {
    switch (this.kind) {
      case 'bernoulli':
        return new Bernoulli(out);
      case 'logistic':
        return new DiscretizedLogistic(out, this.logScale!, this.spec.levels!);
      case 'gaussian':
        return new Normal(out, this.logScale!);
    }
  }

  /** E[x|z]: probabilities for Bernoulli, the exact discretized-logistic mean, mu for Gaussian. */
  mean(out: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.dist(out).mean());
  }

  /** x ~ p(x|z). */
  sample(out: tf.Tensor, seed: number): tf.Tensor {
    return tf.tidy(() => this.dist(out).sample(seed));
  }
}

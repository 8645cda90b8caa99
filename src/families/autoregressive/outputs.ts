// Output heads: the distribution of one scalar value given the network's P parameters for it.
//   bernoulli    binary pixels, P = 1 logit                                      p(x=1) = sigmoid(l)
//   categorical  8-bit pixels as one of L levels (PixelRNN, van den Oord et al. 2016a, sec. 5.3), P = L logits
//   logistic     mixture of K discretized logistics (PixelCNN++, Salimans et al. 2017, eq. 2), P = 3K
// Values are in data units: {0,1} for binary data, k / (L - 1) for L-level data.
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/model.js';
import type { DataSpec } from '../../data/spec.js';
import { Bernoulli, Categorical, MixtureDiscretizedLogistic } from '../../distributions/index.js';

export type OutputKind = 'bernoulli' | 'categorical' | 'logistic';

/** binary -> bernoulli, L-level unit data -> categorical; null when the data has no discrete levels */
export function defaultOutput(spec: DataSpec): OutputKind | null {
  if (spec.domain === 'binary') return 'bernoulli';
  if (spec.domain === 'unit' && spec.levels) return 'categorical';
  return null;
}

/** Why an output kind cannot model this data, or null. */
export function outputProblem(kind: OutputKind, spec: DataSpec): string | null {
  if (kind === 'bernoulli')
    return spec.domain === 'binary' ? null : `output 'bernoulli' needs binary data (got '${spec.domain}')`;
  if (spec.domain !== 'unit' || !spec.levels)
    return `output '${kind}' needs discrete pixel levels (e.g. 8-bit images without dequantization; got '${spec.domain}')`;
  return null;
}

export class OutputHead {
  /** parameters per value */
  readonly P: number;
  readonly levels: number;
  constructor(
    readonly kind: OutputKind,
    spec: DataSpec,
    readonly mixtures = 5,
  ) {
    const why = outputProblem(kind, spec);
    if (why) throw new UserError(why);
    this.levels = kind === 'bernoulli' ? 2 : spec.levels!;
    this.P = kind === 'bernoulli' ? 1 : kind === 'categorical' ? this.levels : 3 * mixtures;
  }

  /** log p(x) elementwise: params [..., P], x [...] -> [...] */
  logProb(params: tf.Tensor, x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      switch (this.kind) {
        case 'bernoulli':
          return new Bernoulli(tf.squeeze(params, [params.rank - 1])).logProb(x);
        case 'categorical':
          return new Categorical(params).logProb(this.index(x));
        case 'logistic':
          return MixtureDiscretizedLogistic.fromParams(params, this.levels).logProb(x);
      }
    });
  }

  /** x ~ p(x | params) in data units, [...]. Temperature T divides the logits (bernoulli, categorical, mixture weights). */
  sample(params: tf.Tensor, seed: number, temperature = 1): tf.Tensor {
    return tf.tidy(() => {
      const T = Math.max(temperature, 1e-6);
      switch (this.kind) {
        case 'bernoulli':
          return new Bernoulli(tf.div(tf.squeeze(params, [params.rank - 1]), T)).sample(seed);
        case 'categorical': {
          const k = new Categorical(tf.div(params, T)).sample(seed);
          return tf.div(tf.cast(k, 'float32'), this.levels - 1);
        }
        case 'logistic': {
          const [pi, mu, logS] = tf.split(params, 3, -1);
          return new MixtureDiscretizedLogistic(tf.div(pi!, T), mu!, logS!, this.levels).sample(seed);
        }
      }
    });
  }

  /** level index round(x (L - 1)) as int32 */
  private index(x: tf.Tensor): tf.Tensor {
    return tf.cast(tf.round(tf.mul(x, this.levels - 1)), 'int32');
  }
}

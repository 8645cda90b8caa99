// Weight initialization for the latent family's small tfjs-core modules (no tfjs-layers).
// Glorot & Bengio (2010): Var[w] = 2 / (fanIn + fanOut); He et al. (2015): Var[w] = 2 / fanIn (ReLU).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';

export type Init = 'glorot' | 'he';

/** A trainable weight tensor of `shape` drawn from N(0, std^2) with a seed from `rng`. */
export function initWeight(
  shape: number[],
  fanIn: number,
  fanOut: number,
  init: Init,
  rng: Rng,
): tf.Variable {
  const std = init === 'he' ? Math.sqrt(2 / fanIn) : Math.sqrt(2 / (fanIn + fanOut));
  // inside tidy: the initial tensor is released, the variable keeps the only reference to its memory
  return tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, std, 'float32', rng.nextSeed())));
}

export function zeros(shape: number[]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.zeros(shape)));
}

export type Activation = 'relu' | 'tanh' | 'softplus' | 'elu';

export function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  switch (act) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softplus':
      return tf.softplus(x);
    case 'elu':
      return tf.elu(x);
  }
}

/** He init suits ReLU-like units, Glorot suits tanh. */
export function initFor(act: Activation): Init {
  return act === 'tanh' ? 'glorot' : 'he';
}

/** A module: a function of its input plus named variables (for checkpoints). */
export interface Module {
  apply(x: tf.Tensor): tf.Tensor;
  variables: Map<string, tf.Variable>;
}

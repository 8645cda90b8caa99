// Class labels for sampling from (conditional) models: the one place that checks them.
import * as tf from '@tensorflow/tfjs-core';
import type { DataSpec } from '../data/spec.js';
import { UserError } from './errors.js';

/**
 * Labels for n samples: one for all or one per sample, default cycling through the classes; undefined for an
 * unconditional model (numClasses 0), which must not be given one. UserError for a wrong count or range.
 */
export function sampleLabels(
  kind: string,
  numClasses: number,
  n: number,
  label: number | number[] | undefined,
): tf.Tensor1D | undefined {
  if (numClasses === 0) {
    if (label !== undefined) throw new UserError(`model '${kind}' is not conditional: it takes no label`);
    return undefined;
  }
  const labels =
    label === undefined
      ? Array.from({ length: n }, (_, i) => i % numClasses)
      : Array.isArray(label)
        ? label
        : new Array<number>(n).fill(label);
  if (labels.length !== n) throw new UserError(`got ${labels.length} labels for ${n} samples`);
  for (const l of labels)
    if (!Number.isInteger(l) || l < 0 || l >= numClasses)
      throw new UserError(`label ${l} is out of range: this model has classes 0..${numClasses - 1}`);
  return tf.tensor1d(labels, 'int32');
}

/**
 * The checked arguments of sample(n, opts): n a positive integer, the temperature (default 1; >= 0, or > 0
 * where a zero temperature means nothing, e.g. dividing logits by it) and the labels as sampleLabels gives them.
 */
export function sampleArgs(
  kind: string,
  numClasses: number,
  n: number,
  opts: { label?: number | number[]; temperature?: number },
  temperature: { positive: boolean } = { positive: false },
): { T: number; y: tf.Tensor1D | undefined } {
  if (!Number.isInteger(n) || n < 1)
    throw new UserError(`number of samples must be a positive integer (got ${n})`);
  const T = opts.temperature ?? 1;
  if (temperature.positive ? !(T > 0) : !(T >= 0))
    throw new UserError(`temperature must be ${temperature.positive ? '>' : '>='} 0 (got ${T})`);
  return { T, y: sampleLabels(kind, numClasses, n, opts.label) };
}

/** Why a conditional model cannot take this data (it needs at least two classes), or null. */
export function labelledDataReason(spec: DataSpec, conditional: boolean): string | null {
  return conditional && !(spec.numClasses && spec.numClasses > 1)
    ? 'a conditional model needs labelled data (this dataset has no classes)'
    : null;
}

/** The number of classes a model conditions on: 0 when not conditional; UserError when the data has none. */
export function conditionClasses(spec: DataSpec, conditional: boolean): number {
  const why = labelledDataReason(spec, conditional);
  if (why) throw new UserError(why);
  return conditional ? spec.numClasses! : 0;
}

/**
 * The one-hot labels [n, numClasses] a conditional model (numClasses > 0) feeds its networks; null for an
 * unconditional one. UserError when labels are missing or their count is not n.
 */
export function oneHotLabels(
  kind: string,
  numClasses: number,
  y: tf.Tensor1D | undefined,
  n: number,
): tf.Tensor2D | null {
  if (numClasses === 0) return null;
  if (!y) throw new UserError(`model '${kind}' is conditional: labels are required`);
  if (y.shape[0] !== n) throw new UserError(`got ${y.shape[0]} labels for ${n} examples`);
  return tf.oneHot(tf.cast(y, 'int32'), numClasses) as tf.Tensor2D;
}

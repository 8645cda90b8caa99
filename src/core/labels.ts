// Class labels for sampling from (conditional) models: the one place that checks them.
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from './model.js';

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

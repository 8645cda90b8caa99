// Noise that does not depend on how a batch is split over data-parallel workers. A seeded tf.randomNormal
// fills its values in order, so the rows [offset, offset + n) of one draw of shape [total, ...] are what a
// single process drawing for the whole global batch gives those rows. During a sharded training step
// (withBatchRows, set by the loop) a draw whose first axis is this worker's rows takes that slice of the
// global batch's draw; outside one it is the plain draw. Cost: each worker draws the global batch's noise.
import * as tf from '@tensorflow/tfjs-core';

interface Rows {
  offset: number;
  n: number;
  total: number;
}
let current: Rows | null = null;

/** run fn with this worker's rows [offset, offset + n) of a global batch of `total` rows */
export function withBatchRows<T>(rows: Rows | null, fn: () => T): T {
  if (!rows || rows.total === rows.n) return fn();
  const prev = current;
  current = rows;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** tf.tidy(fn) inside withBatchRows(rows, ...) */
export function tidyInRows<T extends tf.TensorContainer>(rows: Rows | null, fn: () => T): T {
  return withBatchRows(rows, () => tf.tidy(fn));
}

/** tf.randomNormal of a shape whose first axis is the batch's rows (see the file comment) */
export function batchRandomNormal(shape: number[], mean: number, std: number, seed: number): tf.Tensor {
  const r = current;
  if (!r || shape[0] !== r.n) return tf.randomNormal(shape, mean, std, 'float32', seed);
  return tf.tidy(() =>
    tf.slice(tf.randomNormal([r.total, ...shape.slice(1)], mean, std, 'float32', seed), r.offset, r.n),
  );
}

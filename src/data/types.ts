// Datasets as the training loop and the tools see them.
import type * as tf from '@tensorflow/tfjs-core';
import type { DataSpec } from './spec.js';

/** Raw rows of one split. Images: x in [0,1] (pixel/255), NHWC row-major. Tables/toys: raw reals. */
export interface Split {
  n: number;
  x: Float32Array;
  y?: Int32Array;
}

/** Serializable description of a dataset + its preprocessing, stored in checkpoints to rebuild it. */
export interface DatasetConfig {
  name: string;
  options: Record<string, unknown>;
  /** statistics fitted on the training split (e.g. CSV standardization), restored from checkpoints */
  stats?: Record<string, unknown>;
}

export interface Dataset {
  name: string;
  /** the data as the model sees it, after `prepare` */
  spec: DataSpec;
  train: Split;
  test: Split;
  /** column names for tables */
  columns?: string[];
  /**
   * Map raw rows to what the model sees for one epoch (e.g. dynamic binarization, dequantization,
   * standardization). Deterministic given (split, epoch, seed); the test split ignores epoch so it is
   * the same every time. `offset`: position of the batch's first row in this epoch's order (for the
   * unshuffled test split: its row index); per-row noise is keyed by (seed, offset + row), so it does not
   * depend on the batch size.
   */
  prepare(
    x: Float32Array,
    ctx: { split: 'train' | 'test'; epoch: number; seed: number; offset: number },
  ): Float32Array;
  /** model-space values -> displayable values (images in [0,1], tables in original units) */
  toDisplay(x: Float32Array): Float32Array;
  describe(): DatasetConfig;
  /**
   * log|det d(model x)/d(original data)| per example, for a model-space batch x [n, ...] -> [n].
   * log p(original) = log p_model(x) + logDet(x). Images: the original data are the 8-bit integers plus
   * dequantization noise, v in [0, levels)^D, so bits/dim = -(logProb + logDet) / (D ln 2); zero when the
   * model sees discrete values (binarized, or not dequantized). Tables: -sum(log std) of standardization.
   * Toys: zero. Absent means zero.
   */
  logDet?(x: tf.Tensor): tf.Tensor1D;
}

export interface RawBatch {
  /** model-space values, n * prod(spec.shape) */
  x: Float32Array;
  y?: Int32Array;
  n: number;
  /**
   * data-parallel (BatchOptions.shard): this worker's rows start at `offset` of a global batch of `total`
   * rows; `weight` is its share of the batch's mean loss (n / total, or 0 for a worker whose shard is empty:
   * it then holds one row, weighted out)
   */
  shard?: { offset: number; total: number; weight: number };
}

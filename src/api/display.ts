// Model-space values -> what a person looks at (pixels in [0,1], table rows in their original units), from
// the checkpoint alone where it can: a standardized table is de-standardized with the mean and std stored in
// the checkpoint's dataset config (data/tables.ts describe().stats), so sampling needs no CSV. Only image
// datasets under a logit transform rebuild the dataset for its transform.
import { loadDataset } from '../data/index.js';
import { isToy } from '../data/toy.js';
import type { DataSpec } from '../data/spec.js';
import type { DatasetConfig } from '../data/types.js';

export type DisplayMap = (x: Float32Array) => Float32Array;

const isNumbers = (v: unknown, d: number): v is number[] =>
  Array.isArray(v) && v.length === d && v.every((e) => typeof e === 'number' && Number.isFinite(e));

export function displayMap(spec: DataSpec, data: DatasetConfig | null): DisplayMap {
  const identity: DisplayMap = (x) => x;
  if (spec.kind === 'image' && (spec.domain === 'unit' || spec.domain === 'binary')) return identity;
  if (!data) return identity;
  if (spec.kind === 'vector') {
    const d = spec.shape.reduce((a, b) => a * b, 1);
    const mean = data.stats?.['mean'];
    const std = data.stats?.['std'];
    if (isNumbers(mean, d) && isNumbers(std, d)) {
      return (x) => {
        const out = new Float32Array(x.length);
        for (let i = 0; i < x.length; i++) out[i] = x[i]! * std[i % d]! + mean[i % d]!;
        return out;
      };
    }
    if (isToy(data.name) || data.options?.['standardize'] === false) return identity;
  }
  const ds = loadDataset(data);
  return (x) => ds.toDisplay(x);
}

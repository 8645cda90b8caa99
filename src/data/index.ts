// Datasets: names, loading from a (checkpointed) config, the CLI's --data argument, and minibatches.
import * as path from 'node:path';
import { UserError } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { dims } from './spec.js';
import type { Dataset, DatasetConfig, RawBatch } from './types.js';
import {
  loadFashionMnist,
  loadMnist,
  loadMnistFixture,
  normalizeImageOptions,
  transformOf,
} from './images.js';
import { imageToDisplay } from './transforms.js';
import type { DataSpec } from './spec.js';
import { oneLine } from '../io/guard.js';
import { CSV_OPTIONS, loadCsv, normalizeTableOptions } from './tables.js';
import { loadBreastCancer, loadDigits, normalizeDigitsOptions } from './sklearn.js';
import { loadSensor } from './sensor.js';
import { isToy, loadToy, normalizeToyOptions, TOY_NAMES } from './toy.js';
import { deriveSeed } from './transforms.js';

export type { DataSpec } from './spec.js';
export { dims } from './spec.js';
export type { Dataset, DatasetConfig, RawBatch, Split } from './types.js';
export { parseIdx, readIdx, encodeIdx, type IdxArray } from './idx.js';
export { parseCsv, splitIndices, fitStandardization, tableDataset, type Table } from './tables.js';
export { readDigits, readBreastCancer } from './sklearn.js';
export { toyModes, sampleToy, TOY_NAMES, type ToyModes, type ToyName } from './toy.js';
export {
  binarize,
  dequantize,
  logitForward,
  logitInverse,
  logitLogDet,
  imageLogDet,
  bitsPerDim,
  deriveSeed,
  TEST_SEED,
  type ImageTransform,
} from './transforms.js';
export { imageDataset, DEFAULT_LOGIT_ALPHA } from './images.js';

type Loader = (options: Record<string, unknown>, stats?: Record<string, unknown>) => Dataset;

const LOADERS: Record<string, Loader> = {
  mnist: loadMnist,
  'fashion-mnist': loadFashionMnist,
  'mnist-fixture': loadMnistFixture,
  digits: loadDigits,
  'breast-cancer': loadBreastCancer,
  sensor: loadSensor,
  csv: loadCsv,
  ...Object.fromEntries(TOY_NAMES.map((n) => [n, (o: Record<string, unknown>) => loadToy(n, o)])),
};

/** Dataset names accepted by --data (besides a path to a .csv file). */
export const DATASET_NAMES: readonly string[] = Object.keys(LOADERS).filter((n) => n !== 'csv');

/** Build a dataset from its config (as parseDataArg makes it, or as describe() stored it in a checkpoint). */
export function loadDataset(cfg: DatasetConfig): Dataset {
  const load = LOADERS[cfg.name];
  if (!load)
    throw new UserError(`unknown dataset '${cfg.name}' (known: ${DATASET_NAMES.join(', ')}, or a .csv file)`);
  return load(cfg.options ?? {}, cfg.stats);
}

/**
 * Turn the CLI's `--data` value into a config: a dataset name (mnist, fashion-mnist, mnist-fixture, digits,
 * breast-cancer, moons, 8gaussians, 25gaussians, checkerboard, spirals, rings) or a path to a CSV file
 * (anything ending in .csv / .csv.gz or containing a path separator). `opts` are the dataset options
 * (undefined values are dropped). Option values are checked here, so bad input fails before any loading.
 */
export function parseDataArg(arg: string, opts: Record<string, unknown> = {}): DatasetConfig {
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) options[k] = v;
  const a = arg.trim();
  if (a === '') throw new UserError(`--data needs a dataset name or a .csv file`);
  if (/\.csv(\.gz)?$/i.test(a) || a.includes('/') || a.includes(path.sep)) {
    return { name: 'csv', options: normalizeOptions('csv', { ...options, path: path.resolve(a) }) };
  }
  if (!LOADERS[a] || a === 'csv') {
    throw new UserError(
      `unknown dataset '${a}' (known: ${DATASET_NAMES.join(', ')}, or a path to a .csv file)`,
    );
  }
  return { name: a, options: normalizeOptions(a, options) };
}

/** Check a dataset's options and make its defaults explicit (what describe() will store). */
export function normalizeOptions(name: string, options: Record<string, unknown>): Record<string, unknown> {
  if (isToy(name)) return normalizeToyOptions(name, options);
  switch (name) {
    case 'mnist':
    case 'fashion-mnist':
      return normalizeImageOptions(name, options, ['dir']);
    case 'mnist-fixture':
      return normalizeImageOptions(name, options);
    case 'digits':
      return normalizeDigitsOptions(options);
    case 'breast-cancer':
    case 'sensor':
      return normalizeTableOptions(name, options);
    case 'csv':
      return normalizeTableOptions(name, options, CSV_OPTIONS);
    default:
      throw new UserError(`unknown dataset '${name}' (known: ${DATASET_NAMES.join(', ')}, or a .csv file)`);
  }
}

/**
 * Check a dataset config read from a checkpoint without reading any file: options that
 * pass the dataset's own checks, a CSV path that names a .csv or .csv.gz file (a checkpoint cannot point
 * the loader at an arbitrary file), stored statistics that match the data shape.
 */
export function checkStoredDataset(cfg: DatasetConfig | null, spec: DataSpec): void {
  if (cfg === null) return;
  const where = 'checkpoint data config';
  // a name no loader knows cannot read anything (loadDataset refuses it); in-memory test datasets use such names
  if (!Object.hasOwn(LOADERS, cfg.name)) return;
  const o = normalizeOptions(cfg.name, cfg.options);
  if (cfg.name === 'csv') {
    const p = o['path'];
    if (typeof p !== 'string' || !/\.csv(\.gz)?$/i.test(p) || p.includes('\0'))
      throw new UserError(`${where}: the CSV path must name a .csv or .csv.gz file, got '${oneLine(p, 80)}'`);
  }
  const st = cfg.stats ?? {};
  const d = dims(spec);
  for (const k of ['mean', 'std'] as const) {
    const v = st[k];
    if (v !== undefined && (!Array.isArray(v) || v.length !== d))
      throw new UserError(
        `${where}: stored ${k} has ${Array.isArray(v) ? v.length : 0} values, the data ${d}`,
      );
  }
  const cl = st['classes'];
  if (cl !== undefined && spec.numClasses !== undefined && Array.isArray(cl) && cl.length !== spec.numClasses)
    throw new UserError(`${where}: ${cl.length} stored class names for ${spec.numClasses} classes`);
}

/**
 * Model space -> display values from a stored dataset config alone (no data file is read): the stored
 * standardization for tables, the image transform's inverse for images, identity otherwise. This is what
 * `sample` needs, so sampling a checkpoint never opens its training data.
 */
export function displayTransform(
  cfg: DatasetConfig | null,
  spec: DataSpec,
): (x: Float32Array) => Float32Array {
  if (cfg === null) return (x) => x;
  checkStoredDataset(cfg, spec);
  const o = normalizeOptions(cfg.name, cfg.options);
  if (spec.kind === 'image') {
    const t = transformOf(o, spec.levels ?? 256);
    return (x) => imageToDisplay(t, x);
  }
  const mean = cfg.stats?.['mean'];
  const std = cfg.stats?.['std'];
  if (o['standardize'] !== true || !Array.isArray(mean) || !Array.isArray(std)) return (x) => x;
  const d = dims(spec);
  return (x) => {
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i]! * (std[i % d] as number) + (mean[i % d] as number);
    return out;
  };
}

export interface BatchOptions {
  epoch?: number;
  seed?: number;
  /** default: true for train, false for test */
  shuffle?: boolean;
  /** drop the last incomplete batch (default false) */
  dropLast?: boolean;
  /**
   * data-parallel: yield only worker `rank`'s contiguous rows of each batch of `batchSize` (the global
   * batch), so that the union over ranks is the single-process epoch; see RawBatch.weight
   */
  shard?: { rank: number; size: number };
}

/**
 * Minibatches of one split in model space (ds.prepare applied). The training split is shuffled with a
 * permutation seeded by (seed, epoch); `offset` passed to prepare is the batch's position in that order.
 */
export function* batches(
  ds: Dataset,
  split: 'train' | 'test',
  batchSize: number,
  opts: BatchOptions = {},
): Generator<RawBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UserError(`batch size must be a positive integer`);
  const epoch = opts.epoch ?? 0;
  const seed = opts.seed ?? 0;
  const s = ds[split];
  const d = dims(ds.spec);
  const order =
    (opts.shuffle ?? split === 'train') ? new Rng(deriveSeed(seed, epoch, 2)).permutation(s.n) : null;
  for (let start = 0; start < s.n; start += batchSize) {
    const total = Math.min(batchSize, s.n - start);
    if (total < batchSize && opts.dropLast) break;
    const { lo, n, weight } = shardRows(total, opts.shard);
    let x: Float32Array;
    let y: Int32Array | undefined;
    if (order) {
      x = new Float32Array(n * d);
      y = s.y ? new Int32Array(n) : undefined;
      for (let i = 0; i < n; i++) {
        const r = order[start + lo + i]!;
        x.set(s.x.subarray(r * d, (r + 1) * d), i * d);
        if (y) y[i] = s.y![r]!;
      }
    } else {
      x = s.x.slice((start + lo) * d, (start + lo + n) * d);
      y = s.y?.slice(start + lo, start + lo + n);
    }
    const px = ds.prepare(x, { split, epoch, seed, offset: start + lo });
    const b: RawBatch = y ? { x: px, y, n } : { x: px, n };
    if (weight !== undefined) b.shard = { offset: lo, total, weight };
    yield b;
  }
}

/** worker rank's rows [lo, lo + n) of a global batch of `total` rows, and their share of it */
function shardRows(
  total: number,
  shard?: { rank: number; size: number },
): { lo: number; n: number; weight?: number } {
  if (!shard || shard.size === 1) return { lo: 0, n: total };
  const lo = Math.floor((shard.rank * total) / shard.size);
  const hi = Math.floor(((shard.rank + 1) * total) / shard.size);
  // an empty shard (a last batch smaller than the number of workers) computes on one row, weighted 0
  if (hi === lo) return { lo: Math.min(lo, total - 1), n: 1, weight: 0 };
  return { lo, n: hi - lo, weight: (hi - lo) / total };
}

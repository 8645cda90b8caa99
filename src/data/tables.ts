// Tabular data: reading a CSV (csv.ts: header row, numeric and categorical columns, optional label column),
// a seeded train/test split, and standardization z = (x - mean) / std of the numeric columns fitted on the
// training split and kept in describe().stats with the column schema. A categorical column's one-hot
// columns are not standardized; they are dequantized instead (Theis et al. 2016, as 8-bit pixels are):
// v + u - 1/2 with u ~ U[0,1), keyed by (seed, epoch, row) on the training split and by a fixed seed on the
// test split, so that a density model sees a continuous value whose argmax is still the category. With the
// option dequantize=true the numeric columns holding only integers (e.g. the digits' pixel counts 0..16) get
// the same noise before standardization (a constant or discrete column otherwise has infinite density).
import * as zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { oneLine, readRegularFile } from '../io/guard.js';
import { decodeRows, modelColumns, parseCsv, storedSchema, type ColumnSchema, type Table } from './csv.js';
import type { DataSpec } from './spec.js';
import { TEST_SEED, deriveSeed } from './transforms.js';
import type { Dataset, DatasetConfig, Split } from './types.js';
import { checkKeys, optBool, optInt, optNumber, optString, type Options } from './options.js';

export {
  MAX_CATEGORIES,
  MAX_CLASSES,
  csvCell,
  decodeRows,
  lines,
  modelColumns,
  parseCell,
  parseCsv,
  type ColumnSchema,
  type CsvOptions,
  type Table,
} from './csv.js';

export const TABLE_OPTIONS = ['testFraction', 'seed', 'standardize', 'limit', 'dequantize'] as const;
/** Options of a generic CSV besides the table options. */
export const CSV_OPTIONS = ['path', 'label', 'categorical'] as const;

/** Largest text file (after gunzip) read as a table: about the longest string V8 can hold. */
export const MAX_TEXT_BYTES = 512 * 1024 * 1024;

/**
 * Read a text file, gunzipping .gz; a missing file, a FIFO or device, or a file over MAX_TEXT_BYTES
 * (compressed or not) -> UserError.
 */
export function readText(file: string, howToInstall?: string): string {
  let buf: Buffer;
  try {
    buf = readRegularFile(file, { maxBytes: MAX_TEXT_BYTES });
  } catch (e) {
    if (howToInstall && e instanceof UserError && /\(ENOENT\)$/.test(e.message))
      throw new UserError(`${e.message}: ${howToInstall}`);
    throw e;
  }
  if (file.endsWith('.gz')) {
    try {
      buf = zlib.gunzipSync(buf, { maxOutputLength: MAX_TEXT_BYTES });
    } catch (e) {
      const big = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new UserError(
        big
          ? `${file}: more than ${MAX_TEXT_BYTES} bytes once decompressed; refused`
          : `${file}: corrupt gzip data (${oneLine((e as Error).message)})`,
      );
    }
  }
  return buf.toString('utf8');
}

/** Seeded split: a permutation of the rows; the first round(n * testFraction) go to test (kept in file order). */
export function splitIndices(
  n: number,
  testFraction: number,
  seed: number,
): { train: Int32Array; test: Int32Array } {
  const perm = new Rng(seed).permutation(n);
  const nTest = Math.min(n - 1, Math.round(n * testFraction));
  const test = perm.slice(0, nTest).sort();
  const train = perm.slice(nTest).sort();
  return { train, test };
}

function gather(t: Table, idx: Int32Array): Split {
  const d = t.columns.length;
  const x = new Float32Array(idx.length * d);
  idx.forEach((r, i) => x.set(t.x.subarray(r * d, (r + 1) * d), i * d));
  if (!t.y) return { n: idx.length, x };
  const y = new Int32Array(idx.length);
  idx.forEach((r, i) => (y[i] = t.y![r]!));
  return { n: idx.length, x, y };
}

/** Column means and standard deviations (population std; constant columns get std 1). */
export function fitStandardization(s: Split, d: number): { mean: number[]; std: number[] } {
  const mean = new Array<number>(d).fill(0);
  const sq = new Array<number>(d).fill(0);
  for (let i = 0; i < s.n; i++) for (let j = 0; j < d; j++) mean[j]! += s.x[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= s.n;
  for (let i = 0; i < s.n; i++) {
    for (let j = 0; j < d; j++) {
      const c = s.x[i * d + j]! - mean[j]!;
      sq[j]! += c * c;
    }
  }
  const std = sq.map((v) => {
    const sd = Math.sqrt(v / s.n);
    return sd > 1e-12 ? sd : 1;
  });
  return { mean, std };
}

function isNumArray(v: unknown, d: number): v is number[] {
  return Array.isArray(v) && v.length === d && v.every((e) => typeof e === 'number' && Number.isFinite(e));
}

/** Normalize the options shared by all tables (extra: dataset-specific keys, copied as given). */
export function normalizeTableOptions(name: string, opts: Options, extra: readonly string[] = []): Options {
  checkKeys(name, opts, [...TABLE_OPTIONS, ...extra]);
  const out: Options = {
    testFraction: optNumber(name, opts, 'testFraction', 0.2, 0, 0.9),
    seed: optInt(name, opts, 'seed', 0, 0),
    standardize: optBool(name, opts, 'standardize', true),
  };
  const limit = optInt(name, opts, 'limit', undefined, 1);
  if (limit !== undefined) out['limit'] = limit;
  if (optBool(name, opts, 'dequantize', false)) out['dequantize'] = true;
  for (const k of extra) if (opts[k] !== undefined) out[k] = opts[k];
  return out;
}

/** Which model columns are one-hot indicators of a categorical column. */
function oneHotMask(schema: ColumnSchema[]): boolean[] {
  return schema.flatMap((c) => (c.kind === 'numeric' ? [false] : c.categories!.map(() => true)));
}

/** Which model columns get dequantization noise: one-hot columns and integer-valued numeric columns. */
function noisyMask(schema: ColumnSchema[]): boolean[] {
  return schema.flatMap((c) => (c.kind === 'numeric' ? [c.integer === true] : c.categories!.map(() => true)));
}

/** dequantize=true: mark the numeric columns whose training values are all integers (unless stored). */
function integerColumns(schema: ColumnSchema[], t: Table): ColumnSchema[] {
  if (schema.some((c) => c.integer !== undefined)) return schema;
  const d = t.columns.length;
  let j = 0;
  return schema.map((c) => {
    if (c.kind !== 'numeric') {
      j += c.categories!.length;
      return c;
    }
    let integer = true;
    for (let i = 0; i < t.n && integer; i++) integer = Number.isInteger(t.x[i * d + j]!);
    j++;
    return { ...c, integer };
  });
}

/**
 * A vector dataset over a table. Standardization statistics come from `stats` when given (a checkpoint),
 * else are fitted on the training split. opts must be normalized (normalizeTableOptions).
 */
export function tableDataset(
  name: string,
  opts: Options,
  table: Table,
  stats?: Record<string, unknown>,
): Dataset {
  const d = table.columns.length;
  const schema0 = table.schema ?? table.columns.map((c): ColumnSchema => ({ name: c, kind: 'numeric' }));
  const schema = opts['dequantize'] === true ? integerColumns(schema0, table) : schema0;
  // the columns that get dequantization noise: one-hot columns, and integer columns under dequantize=true
  const hot = noisyMask(schema);
  const anyHot = hot.some(Boolean);
  const { train: trIdx, test: teIdx } = splitIndices(
    table.n,
    opts['testFraction'] as number,
    opts['seed'] as number,
  );
  const limit = opts['limit'] as number | undefined;
  const train = gather(table, limit === undefined ? trIdx : trIdx.subarray(0, limit));
  const test = gather(table, limit === undefined ? teIdx : teIdx.subarray(0, limit));
  let mean: number[] | null = null;
  let std: number[] | null = null;
  if (opts['standardize'] === true) {
    if (stats && (stats['mean'] !== undefined || stats['std'] !== undefined)) {
      if (!isNumArray(stats['mean'], d) || !isNumArray(stats['std'], d) || stats['std'].some((s) => s <= 0)) {
        throw new UserError(`dataset '${name}': stored standardization does not match its ${d} columns`);
      }
      mean = stats['mean'];
      std = stats['std'];
    } else {
      ({ mean, std } = fitStandardization(train, d));
      oneHotMask(schema).forEach((h, j) => {
        if (h) [mean![j], std![j]] = [0, 1];
      });
    }
  }
  const numClasses =
    typeof stats?.['numClasses'] === 'number' ? (stats['numClasses'] as number) : table.numClasses;
  const spec: DataSpec = {
    kind: 'vector',
    shape: [d],
    domain: 'real',
    ...(numClasses ? { numClasses } : {}),
  };
  const logDetConst = std ? -std.reduce((a, s) => a + Math.log(s), 0) : 0;
  const outStats: Record<string, unknown> = {};
  if (mean && std) Object.assign(outStats, { mean, std });
  if (table.classes) outStats['classes'] = table.classes;
  if (numClasses) outStats['numClasses'] = numClasses;
  outStats['schema'] = schema;
  if (table.label !== undefined) outStats['label'] = table.label;
  const config: DatasetConfig = { name, options: { ...opts }, stats: outStats };
  return {
    name,
    spec,
    train,
    test,
    columns: table.columns,
    prepare(x, ctx) {
      if (!mean && !anyHot) return x;
      const out = new Float32Array(x.length);
      out.set(x);
      if (anyHot) {
        // per-row noise keyed by the row's position, as images' dequantization (transforms.ts)
        const seed = ctx.split === 'test' ? TEST_SEED : deriveSeed(ctx.seed, ctx.epoch, 3);
        for (let r = 0; r < x.length / d; r++) {
          const rng = new Rng(seed, (ctx.offset + r) * d);
          for (let j = 0; j < d; j++) {
            const u = rng.next();
            if (hot[j]) out[r * d + j] = x[r * d + j]! + u - 0.5;
          }
        }
      }
      if (mean && std) for (let i = 0; i < x.length; i++) out[i] = (out[i]! - mean[i % d]!) / std[i % d]!;
      return out;
    },
    toDisplay(x) {
      if (!mean || !std) return Float32Array.from(x);
      const out = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) out[i] = x[i]! * std[i % d]! + mean[i % d]!;
      return out;
    },
    logDet: (x: tf.Tensor) => tf.fill([x.shape[0]!], logDetConst) as tf.Tensor1D,
    describe: () => JSON.parse(JSON.stringify(config)) as DatasetConfig,
  };
}

/** The `categorical` option: column names as an array or one comma-separated string. */
function categoricalOption(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  throw new UserError(`dataset 'csv': option categorical must be column names (a list or 'a,b')`);
}

function storedClasses(stats?: Record<string, unknown>): string[] | undefined {
  const cl = stats?.['classes'];
  return Array.isArray(cl) && cl.every((c) => typeof c === 'string') ? (cl as string[]) : undefined;
}

/** A generic CSV file (options: path, label, categorical + table options). */
export function loadCsv(opts: Options, stats?: Record<string, unknown>): Dataset {
  const o = normalizeTableOptions('csv', opts, CSV_OPTIONS);
  const file = optString('csv', o, 'path');
  if (!file) throw new UserError(`dataset 'csv' needs option path`);
  const label = optString('csv', o, 'label');
  const categorical = categoricalOption(o['categorical']);
  const mean = stats?.['mean'];
  const d = Array.isArray(mean) ? mean.length : modelColumnsOf(stats);
  const schema = d === undefined ? undefined : storedSchema(stats?.['schema'], d, `dataset 'csv'`);
  const table = parseCsv(readText(file), file, label, storedClasses(stats), {
    ...(schema ? { schema } : {}),
    ...(categorical ? { categorical } : {}),
  });
  return tableDataset('csv', o, table, stats);
}

function modelColumnsOf(stats?: Record<string, unknown>): number | undefined {
  const s = stats?.['schema'];
  return Array.isArray(s) ? modelColumns(s as ColumnSchema[]).length : undefined;
}

/** Rows of a CSV read against a checkpoint's table (its stored schema): model-space x, labels when present. */
export interface TableRows {
  n: number;
  /** model space: standardized numeric columns, one-hot columns dequantized with the test split's noise */
  x: Float32Array;
  y?: Int32Array;
  columns: string[];
}

/**
 * Read `file` as rows of the table a model was trained on (`data`: the checkpoint's dataset config, `d`: the
 * model's dimension). Columns are matched by name against the stored schema (a table trained before schemas
 * were stored: its column names); different columns, an unknown category, a bad cell -> one-line UserError.
 * The label column is read when present.
 */
export function readTableFor(file: string, data: DatasetConfig, d: number): TableRows {
  const stats = data.stats ?? {};
  const where = `the model's training table`;
  const schema = storedSchema(stats['schema'], d, where);
  const label =
    typeof data.options['label'] === 'string'
      ? (data.options['label'] as string)
      : (stats['label'] as string | undefined);
  if (!schema)
    throw new UserError(
      `${where} stores no column schema (trained before schemas were kept); retrain to read CSVs against it`,
    );
  const table = parseCsv(readText(file), file, label, storedClasses(stats), { schema, labelOptional: true });
  // every row in one split, read with the stored statistics
  const o: Options = { ...data.options, testFraction: 0 };
  delete o['limit'];
  const ds = tableDataset(data.name, o, table, stats);
  const x = ds.prepare(table.x, { split: 'test', epoch: 0, seed: 0, offset: 0 });
  return { n: table.n, x, ...(table.y ? { y: table.y } : {}), columns: table.columns };
}

/** Model-space rows -> CSV cells in the original units and categories, by a dataset config's stored schema. */
export function tableDecoder(data: DatasetConfig, d: number): (x: Float32Array, n: number) => string[][] {
  const stats = data.stats ?? {};
  const schema = storedSchema(stats['schema'], d, `the model's training table`) ?? [];
  const mean = stats['mean'];
  const std = stats['std'];
  const standardized = data.options['standardize'] === true && isNumArray(mean, d) && isNumArray(std, d);
  const cols = schema.length
    ? schema
    : Array.from({ length: d }, (_, j): ColumnSchema => ({ name: `x${j}`, kind: 'numeric' }));
  return (x, n) => {
    const raw = standardized
      ? x.map((v, i) => v * (std as number[])[i % d]! + (mean as number[])[i % d]!)
      : x;
    return decodeRows(raw, n, cols);
  };
}

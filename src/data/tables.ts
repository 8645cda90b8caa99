// Tabular data: a CSV reader (header row, numeric columns, optional label column), a seeded train/test
// split, and standardization z = (x - mean) / std fitted on the training split and kept in describe().stats.
import * as zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { oneLine, readRegularFile } from '../io/guard.js';
import type { DataSpec } from './spec.js';
import type { Dataset, DatasetConfig, Split } from './types.js';
import { checkKeys, optBool, optInt, optNumber, optString, type Options } from './options.js';

/** Rows of a table before splitting. x is n * columns.length, row-major. */
export interface Table {
  n: number;
  columns: string[];
  x: Float32Array;
  y?: Int32Array;
  /** label names by class index when the label column held strings */
  classes?: string[];
  numClasses?: number;
}

/** Most classes a label column may have. */
export const MAX_CLASSES = 100_000;

export const TABLE_OPTIONS = ['testFraction', 'seed', 'standardize', 'limit'] as const;

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

/** Split into lines, remembering 1-based line numbers; blank lines are skipped. */
export function lines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  text.split(/\r?\n/).forEach((t, i) => {
    if (t.trim() !== '') out.push({ line: i + 1, text: t });
  });
  return out;
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Parse one numeric cell or throw a UserError naming file, line and column. */
export function parseCell(raw: string, file: string, line: number, column: string): number {
  const s = unquote(raw);
  const v = s === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) {
    const what =
      s === '' ? 'empty' : /^[+-]?(nan|inf(inity)?)$/i.test(s) ? 'not a finite number' : 'not a number';
    throw new UserError(`${file}:${line}: column '${oneLine(column, 40)}': '${oneLine(s, 40)}' is ${what}`);
  }
  return v;
}

/**
 * Parse a CSV with a header row. All columns but `label` must be numeric. The label column holds either
 * non-negative integers (used as class indices) or names (classes in sorted order, or `classes` when given,
 * e.g. restored from a checkpoint).
 */
export function parseCsv(text: string, file: string, label?: string, classes?: string[]): Table {
  const ls = lines(text);
  if (ls.length === 0) throw new UserError(`${file}: empty CSV file`);
  const header = ls[0]!.text.split(',').map(unquote);
  const k = header.length;
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') throw new UserError(`${file}:${ls[0]!.line}: column ${i + 1} has an empty name`);
    if (seen.has(h)) throw new UserError(`${file}:${ls[0]!.line}: duplicate column name '${oneLine(h, 40)}'`);
    seen.add(h);
  });
  const li = label === undefined ? -1 : header.indexOf(label);
  if (label !== undefined && li < 0) {
    throw new UserError(
      `${file}: no label column '${oneLine(label, 40)}' (columns: ${oneLine(header.join(', '), 120)})`,
    );
  }
  const columns = header.filter((_, i) => i !== li);
  const rows = ls.slice(1);
  if (rows.length === 0) throw new UserError(`${file}: no data rows after the header`);
  const n = rows.length;
  const x = new Float32Array(n * columns.length);
  const rawLabels: string[] = [];
  rows.forEach((r, ri) => {
    const cells = r.text.split(',');
    if (cells.length !== k)
      throw new UserError(`${file}:${r.line}: expected ${k} columns, got ${cells.length}`);
    let c = 0;
    for (let i = 0; i < k; i++) {
      if (i === li) rawLabels.push(unquote(cells[i]!));
      else x[ri * columns.length + c++] = parseCell(cells[i]!, file, r.line, header[i]!);
    }
  });
  if (li < 0) return { n, columns, x };
  const labelLine = (i: number) => rows[i]!.line;
  const allInts = classes === undefined && rawLabels.every((s) => /^\d+$/.test(s));
  const y = new Int32Array(n);
  if (allInts) {
    // a loop, not Math.max(...y): spreading >~125k arguments overflows the call stack
    let max = 0;
    for (let i = 0; i < n; i++) {
      const v = Number(rawLabels[i]);
      if (!Number.isSafeInteger(v) || v > MAX_CLASSES)
        throw new UserError(
          `${file}:${labelLine(i)}: label '${oneLine(rawLabels[i], 40)}' is more than ${MAX_CLASSES}`,
        );
      y[i] = v;
      if (v > max) max = v;
    }
    return { n, columns, x, y, numClasses: max + 1 };
  }
  const names = classes ?? [...new Set(rawLabels)].sort();
  if (names.length > MAX_CLASSES)
    throw new UserError(
      `${file}: column '${oneLine(label, 40)}' has more than ${MAX_CLASSES} distinct labels`,
    );
  const index = new Map(names.map((c, i) => [c, i]));
  rawLabels.forEach((s, i) => {
    const c = index.get(s);
    if (c === undefined)
      throw new UserError(
        `${file}:${labelLine(i)}: unknown label '${oneLine(s, 40)}' in column '${oneLine(label, 40)}'`,
      );
    y[i] = c;
  });
  return { n, columns, x, y, classes: names, numClasses: names.length };
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
  for (const k of extra) if (opts[k] !== undefined) out[k] = opts[k];
  return out;
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
  const config: DatasetConfig = { name, options: { ...opts }, stats: outStats };
  return {
    name,
    spec,
    train,
    test,
    columns: table.columns,
    prepare(x) {
      if (!mean || !std) return x;
      const out = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) out[i] = (x[i]! - mean[i % d]!) / std[i % d]!;
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

/** A generic CSV file (options: path, label + table options). */
export function loadCsv(opts: Options, stats?: Record<string, unknown>): Dataset {
  const o = normalizeTableOptions('csv', opts, ['path', 'label']);
  const file = optString('csv', o, 'path');
  if (!file) throw new UserError(`dataset 'csv' needs option path`);
  const label = optString('csv', o, 'label');
  const cl = stats?.['classes'];
  const classes = Array.isArray(cl) && cl.every((c) => typeof c === 'string') ? (cl as string[]) : undefined;
  const table = parseCsv(readText(file), file, label, classes);
  return tableDataset('csv', o, table, stats);
}

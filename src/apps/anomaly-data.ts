// The inputs `genmodels anomaly` scores, prepared the way the model's training data was: a dataset split
// (the checkpoint's own data, or another image set through the same image transform), or a CSV table
// standardized with the training statistics, with the training table's columns. Anything the model cannot
// score (other data shapes, other columns, empty input) is a one-line UserError.
import { parse as parseCsvSync } from 'csv-parse/sync';
import { UserError } from '../core/model.js';
import { loadDataset, normalizeOptions, parseDataArg } from '../data/index.js';
import type { DataSpec } from '../data/spec.js';
import { readText } from '../data/tables.js';
import type { Dataset, DatasetConfig } from '../data/types.js';
import { oneLine } from '../io/guard.js';

/** Image options that define the transform into model space (the rest, e.g. dir or limit, do not). */
const IMAGE_TRANSFORM_KEYS = ['binarize', 'dequantize', 'logit'] as const;

/** One scored set: a split of a dataset in the model's space. */
export interface ScoreInput {
  /** ids are `<source>:<row>` */
  source: string;
  ds: Dataset;
  split: 'train' | 'test';
}

const shapeOf = (s: DataSpec) => `[${s.shape.join(', ')}]`;

function checkSpec(input: Dataset, spec: DataSpec, what: string): void {
  if (input.spec.kind !== spec.kind || shapeOf(input.spec) !== shapeOf(spec))
    throw new UserError(
      `the model was trained on ${spec.kind} data of shape ${shapeOf(spec)}; ${what} has shape ${shapeOf(input.spec)}`,
    );
  if (input.spec.domain !== spec.domain)
    throw new UserError(
      `the model sees ${spec.domain} values; ${what} gives ${input.spec.domain} values (another preprocessing)`,
    );
}

/** The first row of a CSV file (the header), parsed by csv-parse. */
function csvHeader(file: string): string[] {
  const text = readText(file);
  let rows: string[][];
  try {
    rows = parseCsvSync(text, { bom: true, to_line: 1, trim: true }) as string[][];
  } catch (e) {
    throw new UserError(`${file}: not a CSV file (${oneLine((e as Error).message, 100)})`);
  }
  if (rows.length === 0 || rows[0]!.length === 0) throw new UserError(`${file}: empty CSV file`);
  return rows[0]!;
}

/** The columns of the training table, when the checkpoint's data can be read (else null). */
function trainingColumns(train: DatasetConfig): string[] | null {
  const stored = train.stats?.['columns'];
  if (Array.isArray(stored) && stored.every((c) => typeof c === 'string')) return stored as string[];
  try {
    return loadDataset(train).columns ?? null;
  } catch {
    return null;
  }
}

/**
 * A CSV file as the model's training table saw it: the same columns (label column aside), standardized
 * with the stored training statistics. `labelColumn`: the column of anomaly labels or classes, if any;
 * by default the training label column when the file has it.
 */
export function csvInput(
  file: string,
  train: DatasetConfig | null,
  spec: DataSpec,
  labelColumn?: string,
): ScoreInput {
  if (spec.kind !== 'vector' || !train)
    throw new UserError(`a CSV input needs a model trained on a table; this one saw ${spec.kind} data`);
  const header = csvHeader(file);
  const trainLabel =
    typeof train.options['label'] === 'string' ? (train.options['label'] as string) : undefined;
  if (labelColumn !== undefined && !header.includes(labelColumn))
    throw new UserError(
      `${file}: no label column '${oneLine(labelColumn, 40)}' (columns: ${oneLine(header.join(', '), 120)})`,
    );
  const label =
    labelColumn ?? (trainLabel !== undefined && header.includes(trainLabel) ? trainLabel : undefined);
  const want = trainingColumns(train);
  const got = header.filter((h) => h !== label && h !== trainLabel);
  if (want && (want.length !== got.length || want.some((c, i) => c !== got[i]))) {
    const missing = want.filter((c) => !got.includes(c));
    const extra = got.filter((c) => !want.includes(c));
    const why = [
      missing.length ? `missing ${missing.slice(0, 5).join(', ')}` : '',
      extra.length ? `unexpected ${extra.slice(0, 5).join(', ')}` : '',
      !missing.length && !extra.length ? 'in another order' : '',
    ]
      .filter((s) => s)
      .join('; ');
    throw new UserError(
      `${file}: its columns differ from the training table's ${want.length} columns (${oneLine(why, 160)})`,
    );
  }
  if (label !== undefined && label !== trainLabel && trainLabel !== undefined && header.includes(trainLabel))
    throw new UserError(
      `${file}: has both the training label column '${trainLabel}' and the label column '${labelColumn}'; keep one`,
    );
  const standardize = train.options['standardize'] !== false;
  const cfg = parseDataArg(file, { ...(label !== undefined ? { label } : {}), testFraction: 0, standardize });
  const stats = { ...(train.stats ?? {}) };
  // class names of the training label do not apply to another column
  if (label !== trainLabel) {
    delete stats['classes'];
    delete stats['numClasses'];
  }
  const ds = loadDataset({ ...cfg, stats });
  checkSpec(ds, spec, file);
  return { source: 'row', ds, split: 'train' };
}

/**
 * A dataset split as the model sees it: the checkpoint's own dataset (same options and statistics), or
 * another dataset through the training data's image transform. `arg`: --data (a name or a .csv path);
 * undefined: the checkpoint's dataset.
 */
export function datasetInput(
  arg: string | undefined,
  split: 'train' | 'test',
  train: DatasetConfig | null,
  spec: DataSpec,
  labelColumn?: string,
): ScoreInput {
  if (arg === undefined) {
    if (labelColumn !== undefined)
      throw new UserError('--labels names a column of a CSV input (--data file.csv)');
    if (!train) throw new UserError('this checkpoint does not record its dataset: give --data');
    const ds = loadDataset(train);
    checkSpec(ds, spec, `its dataset '${train.name}'`);
    return { source: `${train.name}:${split}`, ds, split };
  }
  const cfg = parseDataArg(arg);
  if (cfg.name === 'csv') return csvInput(cfg.options['path'] as string, train, spec, labelColumn);
  if (labelColumn !== undefined) throw new UserError('--labels names a column of a CSV input');
  if (train && cfg.name === train.name) {
    const ds = loadDataset(train);
    checkSpec(ds, spec, `dataset '${cfg.name}'`);
    return { source: `${cfg.name}:${split}`, ds, split };
  }
  // another dataset: its own options, with the training data's transform for images
  const probe = loadDataset(cfg);
  if (probe.spec.kind === 'image' && train && spec.kind === 'image') {
    const opts: Record<string, unknown> = {};
    for (const k of IMAGE_TRANSFORM_KEYS) if (train.options[k] !== undefined) opts[k] = train.options[k];
    const ds = loadDataset({ name: cfg.name, options: normalizeOptions(cfg.name, opts) });
    checkSpec(ds, spec, `dataset '${cfg.name}'`);
    return { source: `${cfg.name}:${split}`, ds, split };
  }
  checkSpec(probe, spec, `dataset '${cfg.name}'`);
  if (spec.kind === 'vector' && train?.stats?.['mean'] !== undefined) {
    // a table of the same width: standardized with the model's statistics
    const ds = loadDataset({ ...cfg, stats: { mean: train.stats['mean'], std: train.stats['std'] } });
    return { source: `${cfg.name}:${split}`, ds, split };
  }
  return { source: `${cfg.name}:${split}`, ds: probe, split };
}

// scikit-learn's bundled CSVs (Debian python3-sklearn), which have their own header conventions:
//  digits.csv.gz      no header; 1797 rows of 64 pixel values 0..16 (8x8 images) then the digit label
//  breast_cancer.csv  header "569,30,malignant,benign" (rows, features, class names); 30 features + label
import * as path from 'node:path';
import { UserError } from '../core/model.js';
import type { Dataset, Split } from './types.js';
import { SKLEARN_DATA_DIR } from './paths.js';
import {
  lines,
  normalizeTableOptions,
  parseCell,
  readText,
  splitIndices,
  tableDataset,
  type Table,
} from './tables.js';
import { imageDataset, normalizeImageOptions } from './images.js';
import { optBool, optInt, optNumber, type Options } from './options.js';

const INSTALL = 'install it with `apt-get install python3-sklearn`';

/** Rows of exactly `k` numeric cells starting at line index `from`. */
function numericRows(text: string, file: string, k: number, from: number, names: string[]): number[][] {
  return lines(text)
    .slice(from)
    .map((r) => {
      const cells = r.text.split(',');
      if (cells.length !== k)
        throw new UserError(`${file}:${r.line}: expected ${k} columns, got ${cells.length}`);
      return cells.map((c, i) => parseCell(c, file, r.line, names[i]!));
    });
}

function labelOf(v: number, file: string, row: number, numClasses: number): number {
  if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
    throw new UserError(`${file}: row ${row + 1}: label ${v} is not a class 0..${numClasses - 1}`);
  }
  return v;
}

/** The 8x8 digits as a table: 64 columns 'pixel_r_c' with values 0..16, labels 0..9. */
export function readDigits(file = path.join(SKLEARN_DATA_DIR, 'digits.csv.gz')): Table {
  const names = [...Array.from({ length: 64 }, (_, i) => `pixel_${Math.floor(i / 8)}_${i % 8}`), 'label'];
  const rows = numericRows(readText(file, INSTALL), file, 65, 0, names);
  const x = new Float32Array(rows.length * 64);
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    for (let j = 0; j < 64; j++) {
      if (r[j]! < 0 || r[j]! > 16)
        throw new UserError(`${file}: row ${i + 1}: pixel value ${r[j]} not in 0..16`);
      x[i * 64 + j] = r[j]!;
    }
    y[i] = labelOf(r[64]!, file, i, 10);
  });
  return { n: rows.length, columns: names.slice(0, 64), x, y, numClasses: 10, label: 'label' };
}

const CANCER_FEATURES = [
  'radius',
  'texture',
  'perimeter',
  'area',
  'smoothness',
  'compactness',
  'concavity',
  'concave points',
  'symmetry',
  'fractal dimension',
];

/** Wisconsin breast cancer: 30 features (mean, error, worst of 10 measurements), labels malignant=0 benign=1. */
export function readBreastCancer(file = path.join(SKLEARN_DATA_DIR, 'breast_cancer.csv')): Table {
  const text = readText(file, INSTALL);
  const ls = lines(text);
  const head = (ls[0]?.text ?? '').split(',');
  const n = Number(head[0]);
  const d = Number(head[1]);
  const classes = head.slice(2).map((s) => s.trim());
  if (!Number.isInteger(n) || !Number.isInteger(d) || d !== 30 || classes.length !== 2) {
    throw new UserError(`${file}:1: unexpected header '${ls[0]?.text ?? ''}' (want 'rows,30,class0,class1')`);
  }
  const columns = [
    ...CANCER_FEATURES.map((f) => `mean ${f}`),
    ...CANCER_FEATURES.map((f) => `${f} error`),
    ...CANCER_FEATURES.map((f) => `worst ${f}`),
  ];
  const rows = numericRows(text, file, d + 1, 1, [...columns, 'target']);
  if (rows.length !== n) throw new UserError(`${file}: header says ${n} rows, found ${rows.length}`);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) x[i * d + j] = r[j]!;
    y[i] = labelOf(r[d]!, file, i, 2);
  });
  return { n, columns, x, y, classes, numClasses: 2, label: 'target' };
}

export function loadBreastCancer(opts: Options, stats?: Record<string, unknown>): Dataset {
  const o = normalizeTableOptions('breast-cancer', opts);
  return tableDataset('breast-cancer', o, readBreastCancer(), stats);
}

/**
 * Digits: by default a standardized 64-column table; with option image=true, 8x8x1 images with
 * x = value / 16 (levels 17) and the image options (binarize, dequantize, logit, limit).
 */
/** Options of 'digits': table options, or with image=true the image options plus testFraction and seed. */
export function normalizeDigitsOptions(opts: Options): Options {
  if (!optBool('digits', opts, 'image', false)) {
    const { image: _unused, ...rest } = opts;
    return normalizeTableOptions('digits', rest);
  }
  const { image: _i, testFraction, seed, ...imgOpts } = opts;
  const o = normalizeImageOptions('digits', imgOpts);
  o['image'] = true;
  o['testFraction'] = optNumber('digits', { testFraction }, 'testFraction', 0.2, 0, 0.9);
  o['seed'] = optInt('digits', { seed }, 'seed', 0, 0);
  return o;
}

export function loadDigits(opts: Options, stats?: Record<string, unknown>): Dataset {
  const o = normalizeDigitsOptions(opts);
  if (o['image'] !== true) return tableDataset('digits', o, readDigits(), stats);
  const t = readDigits();
  const split = splitIndices(t.n, o['testFraction'] as number, o['seed'] as number);
  const pick = (idx: Int32Array): Split => {
    const x = new Float32Array(idx.length * 64);
    const y = new Int32Array(idx.length);
    idx.forEach((r, i) => {
      for (let j = 0; j < 64; j++) x[i * 64 + j] = t.x[r * 64 + j]! / 16;
      y[i] = t.y![r]!;
    });
    return { n: idx.length, x, y };
  };
  return imageDataset('digits', o, { train: pick(split.train), test: pick(split.test) }, [8, 8, 1], 17, 10);
}

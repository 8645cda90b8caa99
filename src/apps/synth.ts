// Synthetic table rows: the labels a conditional model is asked for, and the fidelity report of the rows
// against the real table (measures in synth-fidelity.ts).
import { UserError } from '../core/model.js';
import { Rng } from '../core/rng.js';
import type { ColumnSchema } from '../data/csv.js';
import {
  accuracy,
  column,
  correlationMatrix,
  correlationSimilarity,
  fitSoftmaxRegression,
  ksStatistic,
  nearestDistances,
  predictSoftmax,
  quantile,
  tvDistance,
} from './synth-fidelity.js';

export type LabelMode = 'balanced' | 'train';

/** n labels: 'balanced' cycles 0..K-1; 'train' draws from the training label frequencies (seeded). */
export function synthLabels(
  n: number,
  mode: LabelMode,
  K: number,
  yTrain: Int32Array,
  seed: number,
): Int32Array {
  const y = new Int32Array(n);
  if (mode === 'balanced') {
    for (let i = 0; i < n; i++) y[i] = i % K;
    return y;
  }
  if (mode !== 'train') throw new UserError(`--labels must be balanced or train, got '${String(mode)}'`);
  const cum = new Float64Array(K);
  for (const v of yTrain) cum[v]!++;
  for (let k = 1; k < K; k++) cum[k]! += cum[k - 1]!;
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) {
    const u = rng.next() * cum[K - 1]!;
    let k = 0;
    while (k < K - 1 && cum[k]! <= u) k++;
    y[i] = k;
  }
  return y;
}

/** Rows in original units (n x d, one-hot groups as written by the model). */
export interface Rows {
  n: number;
  x: Float32Array;
  y?: Int32Array;
}

export interface ColumnScore {
  name: string;
  metric: 'KS complement' | 'TV complement';
  score: number;
}

export interface FidelityReport {
  synthetic: number;
  real: { train: number; test: number };
  columns: ColumnScore[];
  /** mean of the per-column scores */
  columnShapes: number;
  correlationSimilarity: number;
  /** train on synthetic, test on real; null when the rows have no labels */
  tstr: { classifier: string; synthetic: number; real: number; difference: number } | null;
  dcr: {
    /** median distance of a synthetic row to its closest training row (standardized units) */
    syntheticMedian: number;
    /** the same for held-out real rows (the real test split) */
    holdoutMedian: number;
    /** syntheticMedian / holdoutMedian: about 1 when synthetic rows are no closer to the training rows than new real rows */
    ratio: number;
    /** share of synthetic rows closer than the holdout's 5th percentile (about 0.05 when no closer) */
    belowHoldoutP5: number;
    /** synthetic rows equal to a training row (distance < 1e-6) */
    copies: number;
  };
}

/** Snap each one-hot group to its argmax (0/1) and round integer columns, so that synthetic rows take the
 *  values real rows can take (as the CSV writes them). */
export function snapOneHot(x: Float32Array, n: number, schema: ColumnSchema[]): Float32Array {
  const out = Float32Array.from(x);
  const d = x.length / Math.max(1, n);
  for (let i = 0; i < n; i++) {
    let c = i * d;
    for (const col of schema) {
      if (col.kind === 'numeric') {
        if (col.integer) out[c] = Math.round(out[c]!);
        c++;
        continue;
      }
      const K = col.categories!.length;
      let best = 0;
      for (let j = 1; j < K; j++) if (out[c + j]! > out[c + best]!) best = j;
      for (let j = 0; j < K; j++) out[c + j] = j === best ? 1 : 0;
      c += K;
    }
  }
  return out;
}

function standardize(x: Float32Array, mean: number[], std: number[]): Float64Array {
  const d = mean.length;
  return Float64Array.from(x, (v, i) => (v - mean[i % d]!) / std[i % d]!);
}

/**
 * The fidelity of synthetic rows against the real training rows (column shapes, correlations, DCR) and the
 * real test rows (TSTR's test set, DCR's holdout). All rows in original units; mean / std standardize them
 * (one-hot columns 0 / 1). K: classes (TSTR needs labels on every side).
 */
export function fidelity(
  synth: Rows,
  train: Rows,
  test: Rows,
  schema: ColumnSchema[],
  norm: { mean: number[]; std: number[] },
  K: number,
): FidelityReport {
  const d = norm.mean.length;
  const s = snapOneHot(synth.x, synth.n, schema);
  const columns: ColumnScore[] = [];
  let c = 0;
  for (const col of schema) {
    if (col.kind === 'numeric') {
      const ks = ksStatistic(column(train.x, train.n, d, c), column(s, synth.n, d, c));
      columns.push({ name: col.name, metric: 'KS complement', score: 1 - ks });
      c++;
      continue;
    }
    const k = col.categories!.length;
    const code = (x: Float32Array, n: number) => {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < k; j++) if (x[i * d + c + j]! > x[i * d + c + out[i]!]!) out[i] = j;
      return out;
    };
    columns.push({
      name: col.name,
      metric: 'TV complement',
      score: 1 - tvDistance(code(train.x, train.n), code(s, synth.n), k),
    });
    c += k;
  }
  const zTrain = standardize(train.x, norm.mean, norm.std);
  const zTest = standardize(test.x, norm.mean, norm.std);
  const zSynth = standardize(s, norm.mean, norm.std);
  const rReal = correlationMatrix(zTrain, train.n, d);
  const varies = (j: number) => {
    const v = column(zTrain, train.n, d, j);
    return v.some((e) => e !== v[0]);
  };
  const keep = Array.from({ length: d }, (_, j) => j).filter(varies);
  const corr = correlationSimilarity(rReal, correlationMatrix(zSynth, synth.n, d), d, keep);
  let tstr: FidelityReport['tstr'] = null;
  if (synth.y && train.y && test.y && K >= 2) {
    const fit = (x: Float64Array, y: Int32Array, n: number) =>
      predictSoftmax(fitSoftmaxRegression(x, y, n, d, K), zTest, test.n);
    const a = accuracy(fit(zSynth, synth.y, synth.n), test.y);
    const b = accuracy(fit(zTrain, train.y, train.n), test.y);
    tstr = {
      classifier: 'softmax regression, L2 (C = 1), standardized features',
      synthetic: a,
      real: b,
      difference: a - b,
    };
  }
  const dSynth = nearestDistances(zSynth, synth.n, zTrain, train.n, d);
  const dHold = nearestDistances(zTest, test.n, zTrain, train.n, d);
  const p5 = quantile(dHold, 0.05);
  const [sm, hm] = [quantile(dSynth, 0.5), quantile(dHold, 0.5)];
  return {
    synthetic: synth.n,
    real: { train: train.n, test: test.n },
    columns,
    columnShapes: columns.reduce((a, v) => a + v.score, 0) / Math.max(1, columns.length),
    correlationSimilarity: corr,
    tstr,
    dcr: {
      syntheticMedian: sm,
      holdoutMedian: hm,
      ratio: sm / hm,
      belowHoldoutP5: dSynth.filter((v) => v < p5).length / synth.n,
      copies: dSynth.filter((v) => v < 1e-6).length,
    },
  };
}

/** The report as markdown: the summary table, then the worst columns. */
export function formatFidelity(r: FidelityReport, title = 'fidelity'): string {
  const f = (v: number) => v.toFixed(3);
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const lines = [
    `${title}: ${r.synthetic} synthetic rows against ${r.real.train} training / ${r.real.test} held-out real rows`,
    '',
    '| measure | value |',
    '|---|---|',
    `| column shapes (mean KS / TV complement, ${r.columns.length} columns) | ${f(r.columnShapes)} |`,
    `| correlation similarity (1 - mean abs difference / 2) | ${f(r.correlationSimilarity)} |`,
  ];
  if (r.tstr)
    lines.push(
      `| accuracy, train on synthetic / test on real | ${pct(r.tstr.synthetic)} |`,
      `| accuracy, train on real / test on real | ${pct(r.tstr.real)} |`,
    );
  else lines.push('| train on synthetic / test on real | n/a (no labels) |');
  lines.push(
    `| DCR median: synthetic -> train / holdout -> train (ratio) | ${f(r.dcr.syntheticMedian)} / ${f(r.dcr.holdoutMedian)} (${f(r.dcr.ratio)}) |`,
    `| synthetic rows closer than the holdout's 5th percentile DCR | ${pct(r.dcr.belowHoldoutP5)} |`,
    `| synthetic rows copying a training row | ${r.dcr.copies} |`,
  );
  const worst = [...r.columns].sort((a, b) => a.score - b.score).slice(0, 5);
  lines.push('', `worst columns: ${worst.map((c) => `${c.name} ${f(c.score)}`).join(', ')}`);
  return lines.join('\n');
}

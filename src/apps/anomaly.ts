// Anomaly detection with a trained model: per-example scores of a set of inputs (scores.ts), anomaly labels
// from classes or from a second, out-of-distribution set, the detection report (AUROC and AUPRC with
// stratified bootstrap intervals, src/eval/roc.ts), and thresholds calibrated on held-out normal data for a
// target false-positive rate, stored beside the checkpoint (anomaly.json, written atomically).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { batches, dims } from '../data/index.js';
import { auroc, averagePrecision, bootstrap, rocCurve, thresholdForFpr, type Interval } from '../eval/roc.js';
import { writeFileAtomic } from '../io/atomic.js';
import { oneLine, readRegularFile } from '../io/guard.js';
import { Progress, type ProgressMode } from '../train/progress.js';
import type { ScoreInput } from './anomaly-data.js';
import type { Scorer } from './scores.js';

export interface ScoreOptions {
  batchSize?: number;
  seed?: number;
  /** score the first maxN rows of each input (0/undefined: all) */
  maxN?: number;
  progress?: ProgressMode;
}

export interface ScoredSet {
  source: string;
  /** scores, higher = more anomalous */
  scores: Float64Array;
  /** class labels of the rows, when the input has them */
  classes?: Int32Array;
  /** wall seconds of the scoring pass (without prepare) */
  seconds: number;
}

/** Score the rows of each input in order; a progress bar with ETA over all of them. */
export async function scoreInputs(
  scorer: Scorer,
  inputs: ScoreInput[],
  opts: ScoreOptions = {},
): Promise<ScoredSet[]> {
  const bs = opts.batchSize ?? 256;
  const seed = opts.seed ?? 0;
  const counts = inputs.map((inp) => {
    const n = inp.ds[inp.split].n;
    return opts.maxN && opts.maxN > 0 ? Math.min(opts.maxN, n) : n;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) throw new UserError('nothing to score: the input is empty');
  const rng = new Rng(seed);
  if (scorer.prepare) await scorer.prepare(rng.fork().nextSeed());
  const progress = new Progress(opts.progress ?? (total >= 2000 ? 'auto' : 'none'));
  progress.start(total, `score (${scorer.label})`);
  const out: ScoredSet[] = [];
  let done = 0;
  for (const [k, inp] of inputs.entries()) {
    const N = counts[k]!;
    const split = inp.ds[inp.split];
    if (N === 0) throw new UserError(`nothing to score: ${inp.source} is empty`);
    const D = dims(inp.ds.spec);
    const scores = new Float64Array(N);
    const t0 = performance.now();
    let seen = 0;
    for (const b of batches(inp.ds, inp.split, bs, { epoch: 0, seed, shuffle: false })) {
      if (seen >= N) break;
      const n = Math.min(b.n, N - seen);
      const raw = split.x.subarray(seen * D, (seen + n) * D);
      const s = tf.tidy(() => {
        const x = tf.tensor(b.x.subarray(0, n * D), [n, ...inp.ds.spec.shape]);
        return scorer.score(x, rng.nextSeed(), raw).dataSync() as Float32Array;
      });
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(s[i]!))
          throw new UserError(
            `the score of ${inp.source}:${seen + i} is ${s[i]} (the model gives it no density)`,
          );
        scores[seen + i] = s[i]!;
      }
      seen += n;
      done += n;
      progress.update(done, `${inp.source}`);
      await new Promise<void>((r) => setImmediate(r));
    }
    const set: ScoredSet = { source: inp.source, scores, seconds: (performance.now() - t0) / 1000 };
    if (split.y) set.classes = split.y.slice(0, N);
    out.push(set);
  }
  progress.stop();
  return out;
}

/** How the anomaly labels are given: classes of the inputs, or whole inputs (an out-of-distribution set). */
export interface LabelRule {
  /** classes whose rows are anomalies (the rest are normal) */
  anomalyClasses?: number[];
  /** classes whose rows are normal (the rest are anomalies) */
  normalClasses?: number[];
  /** 0/1 labels taken from the input's label column as they are (a CSV with --labels) */
  binaryColumn?: boolean;
  /** indices of the inputs whose rows are all anomalies (the others: all normal) */
  anomalousInputs?: number[];
}

/** 0/1 anomaly labels for the scored rows (null when the rule gives none). */
export function anomalyLabels(sets: ScoredSet[], rule: LabelRule): Uint8Array | null {
  const n = sets.reduce((a, s) => a + s.scores.length, 0);
  const out = new Uint8Array(n);
  const byClass = rule.anomalyClasses ?? rule.normalClasses;
  if (!byClass && !rule.binaryColumn && !rule.anomalousInputs) return null;
  if (rule.anomalyClasses && rule.normalClasses)
    throw new UserError('give either --anomaly-class or --normal-class, not both');
  let off = 0;
  for (const [k, s] of sets.entries()) {
    if (rule.anomalousInputs) out.fill(rule.anomalousInputs.includes(k) ? 1 : 0, off, off + s.scores.length);
    else {
      if (!s.classes) throw new UserError(`${s.source} has no labels to tell anomalies by`);
      for (let i = 0; i < s.classes.length; i++) {
        const c = s.classes[i]!;
        if (rule.binaryColumn) {
          if (c !== 0 && c !== 1)
            throw new UserError(
              `${s.source}:${i}: label ${c}; anomaly labels must be 0 or 1 (or give --anomaly-class)`,
            );
          out[off + i] = c;
        } else {
          const inSet = byClass!.includes(c);
          out[off + i] = (rule.anomalyClasses ? inSet : !inSet) ? 1 : 0;
        }
      }
    }
    off += s.scores.length;
  }
  return out;
}

export interface DetectionReport {
  n: number;
  anomalies: number;
  auroc: Interval;
  auprc: Interval;
  /** share of the anomalies AUPRC would give at random */
  prevalence: number;
  roc: { fpr: number[]; tpr: number[] };
}

/** AUROC and AUPRC with stratified bootstrap intervals (`boot` replicates; 0: no interval). */
export function detectionReport(
  scores: Float64Array,
  labels: Uint8Array,
  opts: { boot?: number; seed?: number } = {},
): DetectionReport {
  const boot = opts.boot ?? 1000;
  const seed = opts.seed ?? 0;
  const point = (f: typeof auroc): Interval => {
    const v = f(scores, labels);
    return { value: v, lo: v, hi: v, n: 0, level: 0.95 };
  };
  const a = boot > 0 ? bootstrap(auroc, scores, labels, { n: boot, seed }) : point(auroc);
  const p =
    boot > 0
      ? bootstrap(averagePrecision, scores, labels, { n: boot, seed: seed + 1 })
      : point(averagePrecision);
  const anomalies = labels.reduce((s, l) => s + l, 0);
  const { fpr, tpr } = rocCurve(scores, labels);
  return {
    n: labels.length,
    anomalies,
    auroc: a,
    auprc: p,
    prevalence: anomalies / labels.length,
    roc: { fpr, tpr },
  };
}

// ------------------------------------------------------------------------------------- calibration

export const CALIBRATION_FILE = 'anomaly.json';
const CALIBRATION_FORMAT = 'genmodels-anomaly';

export interface Calibration {
  /** the score method and scorer, e.g. 'nll' / '-ELBO' */
  method: string;
  scorer: string;
  /** the background run of a likelihood ratio */
  background?: string;
  fpr: number;
  threshold: number;
  /** normal examples it was picked on, and their source */
  n: number;
  data: string;
  createdAt: string;
}

/** Where the thresholds of a checkpoint live: its run directory (the checkpoint folder is replaced on save). */
export function calibrationFile(checkpointDir: string): string {
  const base = path.basename(checkpointDir);
  const home =
    base === 'checkpoint' || base === 'checkpoint.prev' ? path.dirname(checkpointDir) : checkpointDir;
  return path.join(home, CALIBRATION_FILE);
}

/** The stored thresholds by method ({} when none); a malformed file is a UserError. */
export function readCalibrations(file: string): Record<string, Calibration> {
  if (!fs.existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readRegularFile(file, { maxBytes: 1 << 20 }).toString('utf8'));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: not valid JSON (${oneLine((e as Error).message, 80)})`);
  }
  const r = raw as { format?: unknown; thresholds?: unknown };
  if (r.format !== CALIBRATION_FORMAT || typeof r.thresholds !== 'object' || r.thresholds === null)
    throw new UserError(`${file}: not a genmodels anomaly calibration file`);
  const out: Record<string, Calibration> = {};
  for (const [k, v] of Object.entries(r.thresholds as Record<string, Calibration>)) {
    if (typeof v?.threshold !== 'number' || !Number.isFinite(v.threshold) || typeof v.fpr !== 'number')
      throw new UserError(`${file}: threshold '${oneLine(k, 40)}' is malformed`);
    out[k] = v;
  }
  return out;
}

/** The key a threshold is stored under: the method plus what it depends on. */
export function calibrationKey(method: string, scorer: string, background?: string): string {
  return [method, scorer, ...(background ? [path.resolve(background)] : [])].join('|');
}

/** Pick the threshold on normal scores for the target false-positive rate and store it (atomically). */
export function calibrate(
  file: string,
  key: string,
  normalScores: ArrayLike<number>,
  c: Omit<Calibration, 'threshold' | 'n' | 'createdAt'>,
): Calibration {
  const threshold = thresholdForFpr(normalScores, c.fpr);
  const entry: Calibration = { ...c, threshold, n: normalScores.length, createdAt: new Date().toISOString() };
  const all = readCalibrations(file);
  all[key] = entry;
  writeFileAtomic(file, JSON.stringify({ format: CALIBRATION_FORMAT, thresholds: all }, null, 2) + '\n');
  return entry;
}

// Detection metrics of a score where higher means "more anomalous" (label 1 = anomaly, 0 = normal):
//   ROC curve: one point (FPR, TPR) per distinct threshold, tied scores moving together (so a tie is a
//     diagonal segment, never a staircase that depends on the input order);
//   AUROC = P(s+ > s-) + P(s+ = s-) / 2 (Mann-Whitney U / (n+ n-), Hanley & McNeil 1982), equal to the
//     trapezoidal area under that curve; computed from average ranks;
//   AUPRC as average precision, AP = sum_n (R_n - R_{n-1}) P_n over the distinct thresholds (scikit-learn's
//     average_precision_score: a step function, no interpolation);
//   stratified bootstrap percentile intervals (anomalies and normals resampled separately, so every
//     replicate has both classes; Efron & Tibshirani 1993, ch. 13);
//   the threshold that flags at most a target share of normal scores (calibration on held-out normals).
import { UserError } from '../core/model.js';
import { Rng } from '../core/rng.js';

export type Scores = ArrayLike<number>;
export type Labels = ArrayLike<number>;

function check(scores: Scores, labels: Labels): { pos: number; neg: number } {
  if (scores.length !== labels.length)
    throw new UserError(`${scores.length} scores for ${labels.length} labels`);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l !== 0 && l !== 1) throw new UserError(`label ${l} at ${i}: anomaly labels must be 0 or 1`);
    if (!Number.isFinite(scores[i]!)) throw new UserError(`score ${scores[i]} at ${i} is not finite`);
    pos += l;
  }
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0)
    throw new UserError(
      `AUROC needs both normal and anomalous examples (got ${pos} anomalies, ${neg} normal)`,
    );
  return { pos, neg };
}

/** indices sorted by score, descending */
function orderDesc(scores: Scores): Int32Array {
  const idx = Int32Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => scores[b]! - scores[a]!);
}

export interface RocCurve {
  /** false-positive rates, ascending from 0 to 1 */
  fpr: number[];
  tpr: number[];
  /** the threshold of each point: flag score >= threshold (Infinity at the first point) */
  thresholds: number[];
}

/** The ROC curve: one point per distinct score, plus (0, 0). */
export function rocCurve(scores: Scores, labels: Labels): RocCurve {
  const { pos, neg } = check(scores, labels);
  const o = orderDesc(scores);
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Infinity];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < o.length; i++) {
    const k = o[i]!;
    if (labels[k] === 1) tp++;
    else fp++;
    if (i === o.length - 1 || scores[o[i + 1]!]! !== scores[k]!) {
      fpr.push(fp / neg);
      tpr.push(tp / pos);
      thresholds.push(scores[k]!);
    }
  }
  return { fpr, tpr, thresholds };
}

/** AUROC from average ranks (ties count one half). */
export function auroc(scores: Scores, labels: Labels): number {
  const { pos, neg } = check(scores, labels);
  const idx = Int32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSum = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!]! === scores[idx[i]!]!) j++;
    const avgRank = (i + j) / 2 + 1; // ranks i+1 .. j+1
    for (let k = i; k <= j; k++) if (labels[idx[k]!] === 1) rankSum += avgRank;
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Average precision (area under the precision-recall step curve), as scikit-learn computes it. */
export function averagePrecision(scores: Scores, labels: Labels): number {
  const { pos } = check(scores, labels);
  const o = orderDesc(scores);
  let tp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let i = 0; i < o.length; i++) {
    if (labels[o[i]!] === 1) tp++;
    if (i === o.length - 1 || scores[o[i + 1]!]! !== scores[o[i]!]!) {
      const recall = tp / pos;
      ap += (recall - prevRecall) * (tp / (i + 1));
      prevRecall = recall;
    }
  }
  return ap;
}

export interface Interval {
  value: number;
  lo: number;
  hi: number;
  /** bootstrap replicates */
  n: number;
  level: number;
}

/**
 * The metric with a stratified bootstrap percentile interval: `n` replicates, each drawing the anomalies
 * and the normals with replacement from their own groups (seeded: the same seed gives the same interval).
 */
export function bootstrap(
  metric: (s: Scores, l: Labels) => number,
  scores: Scores,
  labels: Labels,
  opts: { n?: number; seed?: number; level?: number } = {},
): Interval {
  check(scores, labels);
  const n = opts.n ?? 1000;
  const level = opts.level ?? 0.95;
  const rng = new Rng(opts.seed ?? 0);
  const posIdx: number[] = [];
  const negIdx: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? posIdx : negIdx).push(i);
  const N = labels.length;
  const s = new Float64Array(N);
  const l = new Uint8Array(N);
  l.fill(1, 0, posIdx.length);
  const reps = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < posIdx.length; i++) s[i] = scores[posIdx[Math.floor(rng.next() * posIdx.length)]!]!;
    for (let i = 0; i < negIdx.length; i++)
      s[posIdx.length + i] = scores[negIdx[Math.floor(rng.next() * negIdx.length)]!]!;
    reps[r] = metric(s, l);
  }
  reps.sort();
  const q = (p: number) => reps[Math.min(n - 1, Math.max(0, Math.round(p * (n - 1))))]!;
  return { value: metric(scores, labels), lo: q((1 - level) / 2), hi: q(1 - (1 - level) / 2), n, level };
}

/**
 * The smallest threshold t among the normal scores such that at most floor(fpr * n) of them are above it
 * (flag: score > t). With distinct scores the realized false-positive rate on these normals is <= fpr.
 */
export function thresholdForFpr(normalScores: Scores, fpr: number): number {
  if (!(fpr >= 0 && fpr < 1)) throw new UserError(`--fpr must be in [0, 1), got ${fpr}`);
  const n = normalScores.length;
  if (n === 0) throw new UserError('calibration needs at least one normal example');
  const s = Float64Array.from(normalScores).sort();
  if (!Number.isFinite(s[0]!) || !Number.isFinite(s[n - 1]!))
    throw new UserError('calibration scores must be finite');
  const allowed = Math.floor(fpr * n); // normals that may lie above t
  return s[n - 1 - allowed]!;
}

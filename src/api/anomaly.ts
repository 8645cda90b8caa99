// genmodels anomaly: score inputs with a checkpoint (src/apps/scores.ts), write id,score,flag as CSV, report
// AUROC / AUPRC with bootstrap intervals and ROC / histogram PNGs when anomaly labels are known, and
// calibrate a threshold on normal data for a target false-positive rate (stored beside the checkpoint).
import * as path from 'node:path';
import { UserError, type GenerativeModel } from '../core/model.js';
import { datasetInput, type ScoreInput } from '../apps/anomaly-data.js';
import {
  anomalyLabels,
  calibrate,
  calibrationFile,
  calibrationKey,
  detectionReport,
  readCalibrations,
  scoreInputs,
  type Calibration,
  type DetectionReport,
  type LabelRule,
  type ScoredSet,
} from '../apps/anomaly.js';
import {
  complexityScorer,
  densityScorer,
  modelScorer,
  ratioScorer,
  type ScoreMethod,
  type Scorer,
} from '../apps/scores.js';
import { writeFileAtomic } from '../io/atomic.js';
import { histogramSpec, rocSpec, savePlot } from '../plot/index.js';
import { loadCheckpoint, readCheckpointConfig, type CheckpointConfig } from '../train/checkpoint.js';
import type { ProgressMode } from '../train/progress.js';
import { stderrLog, useBackend, type Log } from './common.js';

export interface AnomalyOptions {
  /** a dataset name or a .csv file (default: the checkpoint's dataset) */
  data?: string;
  split?: 'train' | 'test';
  /** an out-of-distribution dataset: its rows (same split) are the anomalies, those of `data` normal */
  ood?: string;
  /** CSV input: the column of anomaly labels (0/1, or classes with anomalyClasses / normalClasses) */
  labels?: string;
  /** classes (indices, or names of a CSV's string labels) that are anomalies */
  anomalyClasses?: string[];
  /** classes that are normal (all others anomalies) */
  normalClasses?: string[];
  score?: ScoreMethod;
  /** the background run of --score ratio */
  background?: string;
  iw?: number;
  maxN?: number;
  batchSize?: number;
  seed?: number;
  /** pick and store the threshold on the (normal) inputs */
  calibrate?: boolean;
  fpr?: number;
  /** flag with this threshold instead of the stored one */
  threshold?: number;
  /** CSV of scores (undefined: stdout) */
  out?: string;
  roc?: string;
  hist?: string;
  /** bootstrap replicates of the intervals (default 1000) */
  boot?: number;
  progress?: ProgressMode;
  backend?: string;
  useEma?: boolean;
  log?: Log;
  /** where the CSV goes when out is undefined */
  write?: (text: string) => void;
}

export interface AnomalyResult {
  method: ScoreMethod;
  scorer: string;
  unit: string;
  sets: { source: string; n: number; seconds: number; perSecond: number }[];
  report?: DetectionReport;
  calibration?: Calibration;
  threshold?: number;
  flagged?: number;
  files: string[];
}

const TRANSFORM_KEYS = ['binarize', 'dequantize', 'logit'];

/** What decides the model-space values a checkpoint's model sees (spec, image transform, table statistics). */
function preprocessing(c: CheckpointConfig): string {
  const o = c.data?.options ?? {};
  const st = c.data?.stats ?? {};
  return JSON.stringify({
    shape: c.spec.shape,
    domain: c.spec.domain,
    levels: c.spec.levels ?? null,
    transform: TRANSFORM_KEYS.map((k) => o[k] ?? null),
    standardize: o['standardize'] ?? null,
    mean: st['mean'] ?? null,
    std: st['std'] ?? null,
  });
}

function classIndex(v: string, names: string[] | undefined): number {
  if (/^\d+$/.test(v)) return Number(v);
  const i = names?.indexOf(v) ?? -1;
  if (i < 0) throw new UserError(`unknown class '${v}'${names ? ` (classes: ${names.join(', ')})` : ''}`);
  return i;
}

function labelRule(o: AnomalyOptions, inputs: ScoreInput[]): LabelRule {
  const names = inputs[0]!.ds.describe().stats?.['classes'] as string[] | undefined;
  if (o.ood !== undefined) {
    if (o.anomalyClasses || o.normalClasses)
      throw new UserError(
        '--ood labels whole data sets; it does not combine with --anomaly-class / --normal-class',
      );
    return { anomalousInputs: [1] };
  }
  if (o.anomalyClasses) return { anomalyClasses: o.anomalyClasses.map((v) => classIndex(v, names)) };
  if (o.normalClasses) return { normalClasses: o.normalClasses.map((v) => classIndex(v, names)) };
  if (o.labels !== undefined) return { binaryColumn: true };
  return {};
}

function csvText(sets: ScoredSet[], labels: Uint8Array | null, threshold: number | undefined): string {
  const lines = [labels ? 'id,score,flag,label' : 'id,score,flag'];
  let k = 0;
  for (const s of sets)
    for (let i = 0; i < s.scores.length; i++, k++) {
      const v = s.scores[i]!;
      const flag = threshold === undefined ? '' : v > threshold ? '1' : '0';
      lines.push(`${s.source}:${i},${Number(v.toPrecision(9))},${flag}${labels ? `,${labels[k]}` : ''}`);
    }
  return lines.join('\n') + '\n';
}

function concat(sets: ScoredSet[]): Float64Array {
  const out = new Float64Array(sets.reduce((a, s) => a + s.scores.length, 0));
  let off = 0;
  for (const s of sets) {
    out.set(s.scores, off);
    off += s.scores.length;
  }
  return out;
}

/** Score inputs with the checkpoint in `dir` (see AnomalyOptions). */
export async function anomalyRun(dir: string, o: AnomalyOptions = {}): Promise<AnomalyResult> {
  const log = o.log ?? stderrLog;
  const method = o.score ?? 'nll';
  if (method === 'ratio' && o.background === undefined)
    throw new UserError('--score ratio needs a background model: --background <run>');
  if (method !== 'ratio' && o.background !== undefined)
    throw new UserError(`--background applies to --score ratio, not --score ${method}`);
  if (o.calibrate && o.threshold !== undefined)
    throw new UserError('give --calibrate or --threshold, not both');
  const fpr = o.fpr ?? 0.05;
  if (!(fpr >= 0 && fpr < 1)) throw new UserError(`--fpr must be in [0, 1), got ${fpr}`);
  const { dir: cdir, config } = readCheckpointConfig(dir);
  const bgConfig = o.background !== undefined ? readCheckpointConfig(o.background).config : undefined;
  if (bgConfig && preprocessing(bgConfig) !== preprocessing(config))
    throw new UserError(
      `the background model ${o.background} sees other data than the model (another shape, preprocessing or standardization)`,
    );
  const split = o.split ?? 'test';
  const inputs = [datasetInput(o.data, split, config.data, config.spec, o.labels)];
  if (o.ood !== undefined) inputs.push(datasetInput(o.ood, split, config.data, config.spec));
  const rule = labelRule(o, inputs);
  await useBackend(o.backend);
  const models: GenerativeModel[] = [];
  try {
    const ck = loadCheckpoint(cdir, { useEma: o.useEma ?? true });
    models.push(ck.model);
    const logDet = inputs[0]!.ds.logDet?.bind(inputs[0]!.ds);
    const sOpts = { ...(logDet ? { logDet } : {}), ...(o.iw !== undefined ? { iw: o.iw } : {}) };
    let scorer: Scorer = modelScorer(ck.model, sOpts);
    if (method === 'complexity') scorer = complexityScorer(scorer, config.spec.shape);
    if (method === 'ratio') {
      const bg = loadCheckpoint(o.background!, { useEma: o.useEma ?? true });
      models.push(bg.model);
      const bgScorer = densityScorer(bg.model, sOpts);
      if (!bgScorer)
        throw new UserError(
          `the background model '${bg.config.model.kind}' has no likelihood to take a ratio with`,
        );
      scorer = ratioScorer(scorer, bgScorer);
    }
    const sets = await scoreInputs(scorer, inputs, {
      ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.maxN !== undefined ? { maxN: o.maxN } : {}),
      ...(o.progress !== undefined ? { progress: o.progress } : {}),
    });
    const labels = anomalyLabels(sets, rule);
    const scores = concat(sets);
    const result: AnomalyResult = {
      method,
      scorer: scorer.label,
      unit: scorer.unit,
      sets: sets.map((s) => ({
        source: s.source,
        n: s.scores.length,
        seconds: s.seconds,
        perSecond: s.scores.length / Math.max(s.seconds, 1e-9),
      })),
      files: [],
    };
    const calFile = calibrationFile(cdir);
    const key = calibrationKey(method, scorer.name, o.background);
    if (o.calibrate) {
      const normal = labels ? scores.filter((_, i) => labels[i] === 0) : scores;
      result.calibration = calibrate(calFile, key, normal, {
        method,
        scorer: scorer.label,
        ...(o.background !== undefined ? { background: path.resolve(o.background) } : {}),
        fpr,
        data: inputs[0]!.source,
      });
      result.files.push(calFile);
      log(
        `calibrated on ${normal.length} normal examples: threshold ${result.calibration.threshold.toPrecision(6)} ${scorer.unit} for FPR ${fpr} -> ${calFile}`,
      );
    }
    const threshold =
      o.threshold ?? result.calibration?.threshold ?? readCalibrations(calFile)[key]?.threshold;
    if (threshold !== undefined) {
      result.threshold = threshold;
      result.flagged = scores.reduce((a, v) => a + (v > threshold ? 1 : 0), 0);
    }
    const text = csvText(sets, labels, threshold);
    if (o.out !== undefined) {
      writeFileAtomic(o.out, text);
      result.files.push(o.out);
    } else (o.write ?? ((t: string) => process.stdout.write(t)))(text);
    const stem = o.out !== undefined ? o.out.replace(/\.csv$/i, '') : undefined;
    if (labels) {
      result.report = detectionReport(scores, labels, { boot: o.boot ?? 1000, seed: o.seed ?? 0 });
      const rocFile = o.roc ?? (stem !== undefined ? `${stem}-roc.png` : undefined);
      if (rocFile) {
        await savePlot(rocFile, rocSpec([{ name: scorer.label, ...result.report.roc }], { title: 'ROC' }));
        result.files.push(rocFile);
      }
    }
    const histFile = o.hist ?? (labels && stem !== undefined ? `${stem}-hist.png` : undefined);
    if (histFile) {
      const series = labels
        ? [
            { name: 'normal', values: scores.filter((_, i) => labels[i] === 0) },
            { name: 'anomaly', values: scores.filter((_, i) => labels[i] === 1) },
          ]
        : [{ name: 'scores', values: scores }];
      await savePlot(
        histFile,
        histogramSpec(series, { density: true, xlabel: `${scorer.label} (${scorer.unit})`, title: 'scores' }),
      );
      result.files.push(histFile);
    }
    return result;
  } finally {
    for (const m of models) m.dispose();
  }
}

/** A short text report of a result. */
export function formatAnomaly(r: AnomalyResult): string {
  const lines = [`score: ${r.scorer} (${r.method}, ${r.unit})`];
  for (const s of r.sets)
    lines.push(
      `${s.source}: ${s.n} scored in ${s.seconds.toFixed(2)} s (${s.perSecond.toFixed(0)} inputs/s)`,
    );
  if (r.report) {
    const f = (v: { value: number; lo: number; hi: number }) =>
      `${v.value.toFixed(4)} [${v.lo.toFixed(4)}, ${v.hi.toFixed(4)}]`;
    lines.push(
      `AUROC ${f(r.report.auroc)}, AUPRC ${f(r.report.auprc)} (95% bootstrap, ${r.report.auroc.n} replicates; ` +
        `${r.report.anomalies} anomalies of ${r.report.n}, AUPRC at random ${r.report.prevalence.toFixed(4)})`,
    );
  }
  if (r.threshold !== undefined)
    lines.push(
      `threshold ${r.threshold.toPrecision(6)}: ${r.flagged} of ${r.sets.reduce((a, s) => a + s.n, 0)} flagged`,
    );
  if (r.files.length) lines.push(`wrote ${r.files.join(', ')}`);
  return lines.join('\n');
}

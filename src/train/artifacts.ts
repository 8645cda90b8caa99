// Pictures of a model and its run: sample grids (images) or scatter plots (2-D data), density heatmaps
// (2-D exact-density models) and loss curves. Used at the end of every epoch and by the `sample` command.
// Plots are vega-lite specs (src/plot/) rendered to PNG; image grids are drawn directly (src/io/png.ts).
import * as tf from '@tensorflow/tfjs-core';
import type { GenerativeModel } from '../core/model.js';
import { dims, type DataSpec } from '../data/spec.js';
import { imageGrid, savePng } from '../io/png.js';
import {
  densitySpec,
  lossCurveSpec,
  lossDomain,
  paddedRange,
  scatterSpec,
  type LineSeriesData,
} from '../plot/specs.js';
import { savePlot } from '../plot/render.js';
import type { StepRecord } from './types.js';

/** Number of NaN/Inf entries. */
export function countNonFinite(x: ArrayLike<number>): number {
  let bad = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) bad++;
  return bad;
}

/** samples of this data have a picture: an image grid (images) or a scatter plot (2-D vectors) */
export function hasSamplePicture(spec: DataSpec): boolean {
  return spec.kind === 'image' || (spec.kind === 'vector' && dims(spec) === 2);
}

/**
 * How a sample grid of about `n` samples is laid out: a class-conditional model gets one row per class
 * (floor(n / classes) each, at least one), labels in row order; otherwise n samples, no labels.
 */
export function sampleLayout(
  model: GenerativeModel,
  n: number,
): { n: number; labels?: number[]; nrow?: number } {
  const K = model.taxonomy.conditional ? (model.spec.numClasses ?? 0) : 0;
  if (!K) return { n };
  const per = Math.max(1, Math.floor(n / K));
  return { n: per * K, labels: Array.from({ length: per * K }, (_, i) => Math.floor(i / per)), nrow: per };
}

export interface SamplesOptions {
  n: number;
  seed: number;
  /** one label per sample (a class-conditional model), or one label for all */
  labels?: number[] | number;
  temperature?: number;
  /** images per row of the grid (default ceil(sqrt(n))) */
  nrow?: number;
  /** model space -> display space (the dataset's toDisplay; default: identity) */
  toDisplay?: (x: Float32Array) => Float32Array;
  /** 2-D data only: display-space points (interleaved x,y) drawn in gray under the samples */
  reference?: Float32Array;
  title?: string;
  /** more files that get the same picture (e.g. samples/epoch-003.png) */
  copies?: string[];
}

export interface SamplesResult {
  /** the samples, model space */
  samples: Float32Array;
  /** the samples, display space */
  display: Float32Array;
  /** NaN/Inf values among the samples: when > 0 nothing was written */
  nonFinite: number;
  written: boolean;
}

/**
 * Draw n samples and write their picture to `file`: an image grid for images, a scatter plot for 2-D
 * vectors (other data has no picture: an Error). Samples with NaN/Inf are never drawn; the result says so.
 * Uses the model's current weights (wrap in an EMA swap, or load the checkpoint with useEma, for those).
 */
export async function writeSamples(
  model: GenerativeModel,
  file: string,
  opts: SamplesOptions,
): Promise<SamplesResult> {
  const s = model.spec;
  if (!hasSamplePicture(s)) throw new Error(`samples of ${s.kind} [${s.shape}] data have no picture`);
  const { n, seed, labels, temperature } = opts;
  const samples = (await tf
    .tidy(() =>
      model.sample(n, {
        seed,
        ...(labels !== undefined ? { label: labels } : {}),
        ...(temperature !== undefined ? { temperature } : {}),
      }),
    )
    .data()) as Float32Array;
  const nonFinite = countNonFinite(samples);
  const display = (opts.toDisplay ?? ((x) => x))(samples);
  if (nonFinite > 0) return { samples, display, nonFinite, written: false };
  const files = [file, ...(opts.copies ?? [])];
  if (s.kind === 'image') {
    const png = imageGrid(display, [n, ...s.shape], opts.nrow ? { nrow: opts.nrow } : {}).encode();
    for (const f of files) savePng(f, png);
  } else {
    const spec = scatterSpec(
      [
        ...(opts.reference
          ? [{ name: 'data', points: opts.reference, color: '#a8a8a8', size: 8, opacity: 0.5 }]
          : []),
        { name: 'samples', points: display, color: '#1f5fa8', size: 14, opacity: 0.85 },
      ],
      { title: opts.title ?? `${model.kind} samples` },
    );
    for (const f of files) await savePlot(f, spec);
  }
  return { samples, display, nonFinite, written: true };
}

export interface DensityGrid {
  density: Float32Array;
  n: number;
  xRange: [number, number];
  yRange: [number, number];
}

/**
 * p(x) of a 2D model on an n x n grid of cell centers spanning the range of `points` (interleaved x,y, model
 * space) padded by 15%; row j = y index from the bottom. Exact densities: exp(log p); a conditional model's
 * density is the mixture over classes with equal weights. Energy models (no log Z): exp(-E) normalized over
 * the grid, Z = sum over cells of exp(-E) times the cell area (exact up to the mass outside the grid).
 */
export function densityGrid(model: GenerativeModel, points: Float32Array, n: number): DensityGrid {
  const xRange = paddedRange(
    points.filter((_, i) => i % 2 === 0),
    0.15,
  );
  const yRange = paddedRange(
    points.filter((_, i) => i % 2 === 1),
    0.15,
  );
  const density = new Float32Array(n * n);
  const grid = new Float32Array(n * n * 2);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      grid[2 * (j * n + i)] = xRange[0] + ((i + 0.5) * (xRange[1] - xRange[0])) / n;
      grid[2 * (j * n + i) + 1] = yRange[0] + ((j + 0.5) * (yRange[1] - yRange[0])) / n;
    }
  const K = model.taxonomy.conditional ? (model.spec.numClasses ?? 1) : 1;
  const exact = model.taxonomy.density === 'exact' && !!model.logProb;
  tf.tidy(() => {
    const x = tf.tensor2d(grid, [n * n, 2]);
    if (!exact) {
      const cell = ((xRange[1] - xRange[0]) * (yRange[1] - yRange[0])) / (n * n);
      const negE = tf.neg(model.energy!(x));
      density.set(tf.div(tf.exp(tf.sub(negE, tf.logSumExp(negE))), cell).dataSync());
      return;
    }
    let p: tf.Tensor = tf.zeros([n * n]);
    for (let k = 0; k < K; k++) {
      const y = model.taxonomy.conditional ? (tf.fill([n * n], k, 'int32') as tf.Tensor1D) : undefined;
      p = tf.add(p, tf.div(tf.exp(model.logProb!(x, y)), K));
    }
    density.set(p.dataSync());
  });
  return { density, n, xRange, yRange };
}

/** a model whose density can be pictured: 2-D vectors, with an exact log p(x) or an energy */
export function hasDensityPicture(model: GenerativeModel): boolean {
  const s = model.spec;
  const exact = model.taxonomy.density === 'exact' && !!model.logProb;
  return (exact || !!model.energy) && s.kind === 'vector' && dims(s) === 2;
}

/**
 * Write a heatmap of p(x) of a 2-D exact-density model to `file`, on an n x n grid (default 100) over the
 * range of `points` (model space, e.g. test data). A grid with NaN/Inf is not written; the result says so.
 */
export async function writeDensity(
  model: GenerativeModel,
  file: string,
  opts: { points: Float32Array; n?: number; title?: string },
): Promise<{ grid: DensityGrid; nonFinite: number; written: boolean }> {
  if (!hasDensityPicture(model))
    throw new Error(`model '${model.kind}' has no 2-D density (exact or energy) to picture`);
  const grid = densityGrid(model, opts.points, opts.n ?? 100);
  const nonFinite = countNonFinite(grid.density);
  if (nonFinite > 0) return { grid, nonFinite, written: false };
  const spec = densitySpec(
    { values: grid.density, nx: grid.n, ny: grid.n, xRange: grid.xRange, yRange: grid.yRange },
    { title: opts.title ?? `${model.kind} density` },
  );
  await savePlot(file, spec);
  return { grid, nonFinite, written: true };
}

export interface LossCurveOptions {
  /** objectives to draw, in order (default: every loss name in the history, in order of appearance) */
  names?: string[];
  /** test metric per evaluation (e.g. nats of NLL or -ELBO) */
  evals?: { step: number; nats: number }[];
  /** legend entry of the evals (default 'test nll') */
  evalName?: string;
  title?: string;
}

/** The loss-curve series of a history (one per objective, plus the evaluations). */
export function lossSeries(history: StepRecord[], opts: LossCurveOptions = {}): LineSeriesData[] {
  const names = opts.names ?? [...new Set(history.flatMap((h) => Object.keys(h.losses)))];
  const series: LineSeriesData[] = names.map((o) => ({
    name: `${o} loss`,
    x: history.map((h) => h.step),
    y: history.map((h) => h.losses[o] ?? NaN),
  }));
  if (opts.evals?.length)
    series.push({
      name: opts.evalName ?? 'test nll',
      x: opts.evals.map((e) => e.step),
      y: opts.evals.map((e) => e.nats),
    });
  return series;
}

/**
 * Write the loss curves of a run's step records (e.g. TrainResult.history, or the 'train' lines of
 * metrics.jsonl) to `file`; nothing is written for fewer than two records (returns false).
 */
export async function writeLossCurve(
  history: StepRecord[],
  file: string,
  opts: LossCurveOptions = {},
): Promise<boolean> {
  if (history.length < 2) return false;
  const series = lossSeries(history, opts);
  await savePlot(
    file,
    lossCurveSpec(series, { title: opts.title ?? 'training', yDomain: lossDomain(series) }),
  );
  return true;
}

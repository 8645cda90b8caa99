// Sampling a checkpoint into a file, in batches with bounded memory: the model draws `batchSize` samples at a
// time and each batch goes to the sink (render.ts) at once. Batch b > 0 uses seed deriveSeed(seed, b), so a
// result depends on (seed, batchSize), and n <= batchSize gives exactly model.sample(n, { seed }).
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type GenerativeModel, type SampleOptions } from '../core/model.js';
import { displayTransform } from '../data/index.js';
import { dims, type DataSpec } from '../data/spec.js';
import { deriveSeed } from '../data/transforms.js';
import type { DatasetConfig } from '../data/types.js';
import { loadCheckpoint, readCheckpointConfig } from '../train/checkpoint.js';
import { NonFiniteSampleError, countNonFinite } from '../train/loop.js';
import { Progress } from '../train/progress.js';
import {
  captureHook,
  trajectoryCapture,
  writeTrajectory,
  TRAJECTORY_FRAMES,
  type TrajectoryCapture,
} from './trajectory.js';
import { checkIterativeFlags, stderrLog, useBackend, type Log } from './common.js';
import {
  LIMITS,
  csvSink,
  gridSink,
  outputFormat,
  scatterSink,
  type OutputFormat,
  type Sink,
} from './render.js';

export const DEFAULT_SAMPLE_BATCH = 256;

export interface SampleBatchOptions {
  n: number;
  /** samples per model call (default DEFAULT_SAMPLE_BATCH) */
  batchSize?: number;
  seed?: number;
  label?: number;
  temperature?: number;
  /** iterative samplers (diffusion, energy models): sampler, steps, DDIM eta, guidance weight */
  iterative?: Pick<SampleOptions, 'sampler' | 'steps' | 'eta' | 'guidance'>;
  /** progress over the whole call: after step i of total (total = batches x steps of one batch) */
  onProgress?: (i: number, total: number) => void;
  /** iterative samplers: keep the first batch's chain states for a trajectory picture (trajectory.ts) */
  trajectory?: TrajectoryCapture;
}

/** Raw model-space samples, batch by batch: { x: count * D values, offset of the first, count }. */
export async function* sampleBatches(
  model: GenerativeModel,
  opts: SampleBatchOptions,
): AsyncGenerator<{ x: Float32Array; offset: number; count: number }> {
  const bs = opts.batchSize ?? DEFAULT_SAMPLE_BATCH;
  if (!Number.isInteger(bs) || bs < 1) throw new UserError(`--batch-size must be a positive integer`);
  const seed = opts.seed ?? 0;
  const nBatches = Math.ceil(opts.n / bs);
  for (let b = 0, offset = 0; offset < opts.n; b++, offset += bs) {
    const count = Math.min(bs, opts.n - offset);
    const progress = opts.onProgress;
    const t = tf.tidy(() =>
      model.sample(count, {
        seed: b === 0 ? seed : deriveSeed(seed, b),
        ...(opts.label !== undefined ? { label: opts.label } : {}),
        ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
        ...opts.iterative,
        ...(progress
          ? { onStep: (i: number, total: number) => progress(b * total + i, nBatches * total) }
          : {}),
        ...(b === 0 && opts.trajectory ? { onState: captureHook(opts.trajectory) } : {}),
      }),
    );
    const x = (await t.data()) as Float32Array;
    t.dispose();
    yield { x, offset, count };
  }
}

/** Where samples of this spec go: the format (.png / .csv by extension; stdout CSV when out is undefined
 *  for tables) and the check of n against LIMITS, before anything is loaded. */
export function planSampleOutput(
  spec: DataSpec,
  n: number,
  out: string | undefined,
): { out: string | undefined; format: OutputFormat } {
  const D = dims(spec);
  const file = out ?? (spec.kind === 'image' || D === 2 ? 'samples.png' : undefined);
  const format = file === undefined ? 'csv' : outputFormat(file);
  if (format === 'png') {
    if (spec.kind !== 'image' && D !== 2)
      throw new UserError(
        `--out ${file}: a PNG shows images or 2-D points; ${D}-D samples go to a .csv file`,
      );
    const cap = spec.kind === 'image' ? LIMITS.gridImages : LIMITS.scatterPoints;
    if (n > cap)
      throw new UserError(
        `--n ${n}: a PNG ${spec.kind === 'image' ? 'grid holds' : 'scatter holds'} at most ${cap} ${spec.kind === 'image' ? 'images' : 'points'}; write more to a .csv file (at most ${LIMITS.csvRows} rows)`,
      );
  } else if (n > LIMITS.csvRows)
    throw new UserError(`--n ${n}: one call writes at most ${LIMITS.csvRows} CSV rows`);
  return { out: file, format };
}

export interface WriteSamplesOptions extends SampleBatchOptions {
  /** output file (.png or .csv); undefined: CSV on stdout */
  out?: string;
  /** model space -> display values (default identity) */
  display?: (x: Float32Array) => Float32Array;
  /** scatter title */
  title?: string;
  /** added to the NaN/Inf message, e.g. ' (checkpoint step 400)' */
  where?: string;
}

function sinkFor(model: GenerativeModel, opts: WriteSamplesOptions): Sink {
  const { out, format } = planSampleOutput(model.spec, opts.n, opts.out);
  const s = model.spec;
  if (format === 'csv') return csvSink(out, dims(s));
  if (s.kind === 'image') return gridSink(out!, opts.n, s.shape);
  return scatterSink(out!, opts.n, opts.title ?? `${model.kind} samples`);
}

/** Draw n samples into opts.out batch by batch. NaN/Inf samples: NonFiniteSampleError and no file written
 *  (CSV on stdout: the batches before the bad one are already out). */
export async function writeSamples(
  model: GenerativeModel,
  opts: WriteSamplesOptions,
): Promise<{ n: number; seconds: number }> {
  const sink = sinkFor(model, opts);
  const display = opts.display ?? ((x: Float32Array) => x);
  const t0 = performance.now();
  try {
    for await (const { x, offset, count } of sampleBatches(model, opts)) {
      const bad = countNonFinite(x);
      if (bad > 0) {
        const which = count < opts.n ? ` in samples ${offset}..${offset + count - 1}` : '';
        throw new NonFiniteSampleError(
          `${bad} of ${x.length} sampled values${which} are NaN/Inf${opts.where ?? ''}; nothing written (a lower --temperature may help)`,
        );
      }
      await sink.add(display(x), count);
    }
    await sink.finish();
  } catch (e) {
    sink.abort();
    throw e;
  }
  return { n: opts.n, seconds: (performance.now() - t0) / 1000 };
}

export interface SampleToFileOptions extends Omit<
  WriteSamplesOptions,
  'display' | 'where' | 'title' | 'trajectory'
> {
  backend?: string;
  /** iterative samplers: a PNG of the first chains' states along the chain, `frames` of them (default 10) */
  trajectory?: { out: string; frames?: number };
  /** use the EMA weights when the run kept them (default true) */
  useEma?: boolean;
  log?: Log;
}

export interface SampleToFileResult {
  n: number;
  /** the file written, or undefined for CSV on stdout */
  out: string | undefined;
  format: OutputFormat;
  seconds: number;
}

function checkLabel(label: number | undefined, kind: string, spec: DataSpec, conditional: boolean): void {
  if (label === undefined) return;
  if (!conditional) throw new UserError(`--label: model '${kind}' is not class-conditional`);
  const k = spec.numClasses ?? 0;
  if (label >= k)
    throw new UserError(`--label ${label} is out of range: the model has ${k} classes (0..${k - 1})`);
}

/** Sample a checkpoint (run dir or checkpoint/) into a PNG / CSV file (or stdout CSV for tables). */
export async function sampleToFile(ckptDir: string, opts: SampleToFileOptions): Promise<SampleToFileResult> {
  const log = opts.log ?? stderrLog;
  // fail on a foreign checkpoint, a bad output or too large an n before starting a backend
  const { config } = readCheckpointConfig(ckptDir);
  const { out, format } = planSampleOutput(config.spec, opts.n, opts.out);
  checkLabel(opts.label, config.model.kind, config.spec, config.model.taxonomy.conditional);
  const given = [...Object.keys(opts.iterative ?? {}), ...(opts.trajectory ? ['save-trajectory'] : [])];
  checkIterativeFlags(config.model, given);
  if (opts.trajectory && outputFormat(opts.trajectory.out, '--save-trajectory') !== 'png')
    throw new UserError(`--save-trajectory ${opts.trajectory.out}: the trajectory is a picture (.png)`);
  const capture = opts.trajectory
    ? trajectoryCapture(
        config.spec,
        opts.n,
        opts.batchSize ?? DEFAULT_SAMPLE_BATCH,
        opts.trajectory.frames ?? TRAJECTORY_FRAMES.default,
      )
    : undefined;
  const display = displayTransform(config.data as DatasetConfig | null, config.spec);
  await useBackend(opts.backend);
  const ck = loadCheckpoint(ckptDir, { useEma: opts.useEma ?? true });
  const model = ck.model;
  const bar = model.taxonomy.sampling === 'iterative' ? new Progress('auto') : null;
  let started = false;
  const onProgress = (i: number, total: number) => {
    if (!started) bar!.start(total, `sample ${opts.n}`);
    started = true;
    bar!.update(i, '');
  };
  try {
    const { trajectory: _t, ...rest } = opts;
    const { seconds } = await writeSamples(model, {
      ...rest,
      out,
      display,
      where: ` (checkpoint step ${ck.config.state.step})`,
      ...(bar ? { onProgress } : {}),
      ...(capture ? { trajectory: capture } : {}),
    });
    bar?.stop();
    if (out !== undefined) log(`wrote ${opts.n} samples to ${out}`);
    if (capture && opts.trajectory) {
      await writeTrajectory(opts.trajectory.out, config.spec, capture, display);
      log(
        `wrote the trajectory (${capture.captured.length} frames of ${capture.rows} chains) to ${opts.trajectory.out}`,
      );
    }
    if (model.taxonomy.sampling === 'iterative')
      log(`sampling: ${seconds.toFixed(2)} s, ${(opts.n / seconds).toFixed(2)} samples/s`);
    return { n: opts.n, out, format, seconds };
  } finally {
    bar?.stop();
    model.dispose();
  }
}

// The trajectory picture of an iterative sampler (`sample --save-trajectory FILE.png`): the state x_t of the
// first chains at evenly spaced steps, start and end included. Images: one row per chain, one column per
// frame. 2-D data: one scatter per frame, side by side, on shared axes.
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type SampleOptions } from '../core/model.js';
import { dims, type DataSpec } from '../data/spec.js';
import { GridBuilder, savePng } from '../io/png.js';
import { savePlot, scatterStripSpec } from '../plot/index.js';
import { LIMITS } from './render.js';

export interface TrajectoryCapture {
  /** frames, evenly spaced over the chain, the start and the last step included (>= 2) */
  frames: number;
  /** chains shown: the first `rows` samples of the first batch */
  rows: number;
  /** filled while sampling: the step and the first `rows` states (the space sample() returns) */
  captured: { step: number; total: number; x: Float32Array }[];
}

export const TRAJECTORY_FRAMES = { default: 10, max: 50 };

/** A capture for `n` samples of `spec` (images: up to 8 chains; 2-D points: the whole first batch). */
export function trajectoryCapture(
  spec: DataSpec,
  n: number,
  batch: number,
  frames: number,
): TrajectoryCapture {
  if (!Number.isInteger(frames) || frames < 2 || frames > TRAJECTORY_FRAMES.max)
    throw new UserError(
      `--trajectory-frames must be an integer in [2, ${TRAJECTORY_FRAMES.max}] (got ${frames})`,
    );
  if (spec.kind !== 'image' && dims(spec) !== 2)
    throw new UserError(
      `--save-trajectory draws images or 2-D points; this model's data are ${dims(spec)}-D ${spec.kind}s`,
    );
  const first = Math.min(n, batch);
  const rows = spec.kind === 'image' ? Math.min(first, 8) : Math.min(first, LIMITS.scatterPoints);
  return { frames, rows, captured: [] };
}

/** the steps a capture keeps: round(k total / (frames - 1)), k = 0..frames-1 */
export function frameSteps(total: number, frames: number): Set<number> {
  const s = new Set<number>();
  for (let k = 0; k < frames; k++) s.add(Math.round((k * total) / (frames - 1)));
  return s;
}

/** SampleOptions.onState that fills `cap` (the first cap.rows states at the frame steps) */
export function captureHook(cap: TrajectoryCapture): NonNullable<SampleOptions['onState']> {
  let keep: Set<number> | null = null;
  return (i, total, x) => {
    keep ??= frameSteps(total, cap.frames);
    if (!keep.has(i)) return;
    const all = x();
    const head = tf.tidy(() => tf.slice(all, 0, Math.min(cap.rows, all.shape[0]!)));
    cap.captured.push({ step: i, total, x: head.dataSync() as Float32Array });
    head.dispose();
    all.dispose();
  };
}

/** Write the captured frames (display-transformed) to a PNG. */
export async function writeTrajectory(
  file: string,
  spec: DataSpec,
  cap: TrajectoryCapture,
  display: (x: Float32Array) => Float32Array,
): Promise<void> {
  const frames = cap.captured.map((f) => ({ ...f, x: display(f.x) }));
  if (frames.length === 0) throw new UserError('--save-trajectory: the sampler reported no states');
  const D = dims(spec);
  if (spec.kind === 'image') {
    const rows = frames[0]!.x.length / D;
    const grid = new GridBuilder(rows * frames.length, spec.shape, { nrow: frames.length });
    for (let r = 0; r < rows; r++) for (const f of frames) grid.add(f.x.subarray(r * D, (r + 1) * D), 1);
    return savePng(file, grid.canvas);
  }
  await savePlot(
    file,
    scatterStripSpec(frames.map((f) => ({ title: `step ${f.step} / ${f.total}`, points: f.x }))),
  );
}

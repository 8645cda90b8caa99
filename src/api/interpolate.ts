// Latent interpolation: encode test images a and b, decode z(t) = z_a + t (z_b - z_a) for t on [0, 1] in
// `steps` points, batch by batch; the row shown is x_a, the decoded path, x_b (display values).
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type GenerativeModel } from '../core/model.js';
import { loadDataset } from '../data/index.js';
import { dims } from '../data/spec.js';
import type { Dataset } from '../data/types.js';
import { loadCheckpoint, readCheckpointConfig } from '../train/checkpoint.js';
import { stderrLog, useBackend, type Log } from './common.js';
import { LIMITS, csvSink, gridSink, outputFormat } from './render.js';

export interface InterpolateOptions {
  /** test-split indices of the end points (default 0 and 1) */
  a?: number;
  b?: number;
  /** points on the path, 2..LIMITS.interpolateSteps (default 10) */
  steps?: number;
  /** decoded images per model call (default 64) */
  batchSize?: number;
}

function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 2 || steps > LIMITS.interpolateSteps)
    throw new UserError(`--steps must be an integer in 2..${LIMITS.interpolateSteps}, got ${steps}`);
}

/** Display images in order (x_a, z(t_0..t_{steps-1}) decoded, x_b), a batch at a time: { x, count }. */
export async function* interpolateBatches(
  model: GenerativeModel,
  ds: Dataset,
  opts: InterpolateOptions = {},
): AsyncGenerator<{ x: Float32Array; count: number }> {
  const { a = 0, b = 1, steps = 10, batchSize = 64 } = opts;
  checkSteps(steps);
  if (!model.encode || !model.decode) throw new UserError(`model '${model.kind}' has no encoder/decoder`);
  for (const [flag, i] of [
    ['--a', a],
    ['--b', b],
  ] as const) {
    if (i >= ds.test.n)
      throw new UserError(`${flag} ${i} is out of range: the test split has ${ds.test.n} examples`);
  }
  const D = dims(ds.spec);
  const rows = new Float32Array(2 * D);
  rows.set(ds.test.x.subarray(a * D, (a + 1) * D), 0);
  rows.set(ds.test.x.subarray(b * D, (b + 1) * D), D);
  const xs = ds.prepare(rows, { split: 'test', epoch: 0, seed: 0, offset: 0 });
  const ys = model.taxonomy.conditional && ds.test.y ? [ds.test.y[a]!, ds.test.y[b]!] : undefined;
  const [za, zb] = tf.tidy(() => {
    const x = tf.tensor(xs, [2, ...ds.spec.shape]);
    const z = model.encode!(x, ys ? tf.tensor1d(ys, 'int32') : undefined);
    return tf.split(z, 2, 0) as [tf.Tensor, tf.Tensor];
  });
  try {
    yield { x: ds.toDisplay(xs.subarray(0, D)), count: 1 };
    for (let i0 = 0; i0 < steps; i0 += batchSize) {
      const k = Math.min(batchSize, steps - i0);
      const dec = tf.tidy(() => {
        const t = tf.reshape(tf.tensor1d(Array.from({ length: k }, (_, j) => (i0 + j) / (steps - 1))), [
          k,
          ...Array<number>(za.rank - 1).fill(1),
        ]);
        const zt = tf.add(za, tf.mul(t, tf.sub(zb, za))); // z(t) = z_a + t (z_b - z_a)
        const y = ys
          ? tf.tensor1d(
              Array.from({ length: k }, (_, j) => (i0 + j < steps / 2 ? ys[0]! : ys[1]!)),
              'int32',
            )
          : undefined;
        return model.decode!(zt, y);
      });
      const vals = (await dec.data()) as Float32Array;
      dec.dispose();
      yield { x: ds.toDisplay(vals), count: k };
    }
    yield { x: ds.toDisplay(xs.subarray(D)), count: 1 };
  } finally {
    za.dispose();
    zb.dispose();
  }
}

/** All steps + 2 display images of the interpolation, [steps + 2, ...spec.shape] row-major. */
export async function interpolate(
  model: GenerativeModel,
  ds: Dataset,
  opts: InterpolateOptions = {},
): Promise<Float32Array> {
  const D = dims(ds.spec);
  const out = new Float32Array(((opts.steps ?? 10) + 2) * D);
  let k = 0;
  for await (const { x, count } of interpolateBatches(model, ds, opts)) {
    out.set(x, k * D);
    k += count;
  }
  return out;
}

export interface InterpolateToFileOptions extends InterpolateOptions {
  /** .png: one row of steps + 2 images; .csv: one row of pixel values per image */
  out: string;
  backend?: string;
  log?: Log;
}

/** Interpolate between two test images of a checkpoint's dataset into a PNG (or CSV) file. */
export async function interpolateToFile(ckptDir: string, opts: InterpolateToFileOptions): Promise<void> {
  const log = opts.log ?? stderrLog;
  const { a = 0, b = 1, steps = 10 } = opts;
  checkSteps(steps);
  const format = outputFormat(opts.out);
  const { config } = readCheckpointConfig(ckptDir);
  if (!config.model.taxonomy.latent)
    throw new UserError(
      `interpolate needs a latent-variable model; '${config.model.kind}' (${config.model.taxonomy.family}) has no latent space`,
    );
  if (config.spec.kind !== 'image')
    throw new UserError(`interpolate draws images; this model's data is a ${config.spec.kind}`);
  if (!config.data) throw new UserError('this checkpoint does not record its dataset');
  await useBackend(opts.backend);
  const ck = loadCheckpoint(ckptDir, { useEma: true });
  try {
    const ds = loadDataset(config.data);
    const sink =
      format === 'png'
        ? gridSink(opts.out, steps + 2, ds.spec.shape, { nrow: steps + 2 })
        : csvSink(opts.out, dims(ds.spec));
    try {
      for await (const { x, count } of interpolateBatches(ck.model, ds, opts)) await sink.add(x, count);
      await sink.finish();
    } catch (e) {
      sink.abort();
      throw e;
    }
    log(`wrote test image ${a} -> ${b} in ${steps} steps to ${opts.out}`);
  } finally {
    ck.model.dispose();
  }
}

// What the playground computes with a loaded model, as plain arrays: samples (with the chain's states for
// iterative samplers), per-example log-likelihoods by the model's own estimates (the ones eval reports),
// and latent interpolation. The same model code as the CLI; the taxonomy says what applies.
import * as tf from '@tensorflow/tfjs-core';
import type { GenerativeModel, SampleOptions } from '../core/model.js';
import { modelEstimates } from '../eval/estimates.js';

export interface Arrays {
  /** row-major values, n * prod(shape) */
  values: Float32Array;
  n: number;
  /** the per-example shape */
  shape: number[];
}

/** One state of an iterative chain (an autoregressive sampler's: the positions drawn so far, the rest 0). */
export interface Frame {
  step: number;
  total: number;
  values: Float32Array;
}

export interface SampleResult extends Arrays {
  seconds: number;
  /** iterative samplers with `frames`: the chain's state at up to `frames` steps, first to last */
  frames?: Frame[];
}

/**
 * n samples in model space; `frames` > 0 keeps that many states of an iterative chain (evenly spaced, every
 * sampler that reports its state: diffusion, flow matching, Langevin chains, autoregressive models), and
 * `onFrame` sees each as soon as it is taken (a worker posts them to the page, which draws them live).
 */
export async function sampleArrays(
  model: GenerativeModel,
  n: number,
  opts: Omit<SampleOptions, 'onState'> & { frames?: number; onFrame?: (f: Frame) => void } = {},
): Promise<SampleResult> {
  const { frames: want = 0, onFrame, ...so } = opts;
  const frames: SampleResult['frames'] = [];
  const t0 = performance.now();
  const onState: SampleOptions['onState'] =
    want > 0 && model.taxonomy.sampling === 'iterative'
      ? (i, total, x) => {
          const every = Math.max(1, Math.floor(total / want));
          if (i % every !== 0 && i !== total) return;
          const t = x();
          const f = { step: i, total, values: Float32Array.from(t.dataSync() as Float32Array) };
          t.dispose();
          frames.push(f);
          onFrame?.(f);
        }
      : undefined;
  const t = model.sample(n, { ...so, ...(onState ? { onState } : {}) });
  const values = (await t.data()) as Float32Array;
  t.dispose();
  return {
    values: Float32Array.from(values),
    n,
    shape: model.spec.shape.slice(),
    seconds: (performance.now() - t0) / 1000,
    ...(frames.length ? { frames } : {}),
  };
}

export interface LogLik {
  name: string;
  label: string;
  kind: 'exact' | 'bound' | 'estimate';
  /** per example, nats */
  values: Float32Array;
}

/**
 * log p(x) (or the model's bound / estimate of it) per example for x in model space, by each of the model's
 * estimates that needs no preparation pass (eval's numbers; an RBM's AIS estimate is left out).
 */
export async function logLikelihoods(
  model: GenerativeModel,
  x: Float32Array,
  n: number,
  opts: { y?: number[]; iw?: number; seed?: number } = {},
): Promise<LogLik[]> {
  const out: LogLik[] = [];
  for (const e of modelEstimates(model, opts.iw ?? 1)) {
    if (e.prepare) continue;
    const t = tf.tidy(() => {
      const xt = tf.tensor(x, [n, ...model.spec.shape]);
      const yt = opts.y ? tf.tensor1d(opts.y, 'int32') : undefined;
      return e.logLik(xt, yt, opts.seed ?? 0);
    });
    const values = Float32Array.from((await t.data()) as Float32Array);
    t.dispose();
    out.push({ name: e.name, label: e.label, kind: e.kind, values });
  }
  return out;
}

/**
 * Bayes' rule with a class-conditional density model: p(y | x) proportional to p(x | y) p(y), with the
 * model's first estimate as log p(x | y) and a uniform prior unless `logPrior` is given. Per example: the
 * class probabilities and log p(x) = log sum_y p(x | y) p(y).
 */
export async function classProbabilities(
  model: GenerativeModel,
  x: Float32Array,
  n: number,
  opts: { logPrior?: number[]; seed?: number } = {},
): Promise<{ probs: Float32Array[]; logMarginal: Float32Array }> {
  const k = model.spec.numClasses ?? 0;
  if (!model.taxonomy.conditional || k < 2) throw new Error(`model '${model.kind}' is not class-conditional`);
  const d = x.length / n;
  const xs = new Float32Array(n * k * d);
  const ys: number[] = [];
  for (let c = 0; c < k; c++)
    for (let i = 0; i < n; i++) {
      xs.set(x.subarray(i * d, (i + 1) * d), (c * n + i) * d);
      ys.push(c);
    }
  const [ll] = await logLikelihoods(model, xs, n * k, {
    y: ys,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  if (!ll) throw new Error(`model '${model.kind}' has no likelihood to classify with`);
  const probs: Float32Array[] = [];
  const logMarginal = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const lp = Array.from(
      { length: k },
      (_, c) => ll.values[c * n + i]! + (opts.logPrior?.[c] ?? -Math.log(k)),
    );
    const m = Math.max(...lp);
    const e = lp.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    probs.push(Float32Array.from(e, (v) => v / s));
    logMarginal[i] = m + Math.log(s);
  }
  return { probs, logMarginal };
}

/** Decode `steps` points on the line between the latents of two inputs (models with encode and decode). */
export async function interpolateArrays(
  model: GenerativeModel,
  a: Float32Array,
  b: Float32Array,
  steps: number,
): Promise<Arrays> {
  if (!model.encode || !model.decode) throw new Error(`model '${model.kind}' has no encoder and decoder`);
  const t = tf.tidy(() => {
    const x = tf.tensor([...a, ...b], [2, ...model.spec.shape]);
    const z = model.encode!(x);
    const [za, zb] = tf.split(z, 2);
    const w = tf.reshape(tf.linspace(0, 1, steps), [steps, ...Array<number>(z.shape.length - 1).fill(1)]);
    const zs = tf.add(tf.mul(za!, tf.sub(1, w)), tf.mul(zb!, w));
    return model.decode!(zs);
  });
  const values = Float32Array.from((await t.data()) as Float32Array);
  t.dispose();
  return { values, n: steps, shape: model.spec.shape.slice() };
}

// The one training loop for every family. Each objective of model.objectives() gets its own Adam optimizer
// and is updated in order on every batch (or on every `every`-th one). Every step runs inside tf.tidy. All
// randomness comes from one counter-based Rng (src/core/rng.ts) whose state is checkpointed, and the data
// order is a function of (seed, epoch), so a resumed run reproduces the uninterrupted run step for step.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type Batch, type GenerativeModel, type StepContext } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { dims } from '../data/spec.js';
import type { Dataset, RawBatch } from '../data/types.js';
import { batches } from '../data/index.js';
import { registerAllGradients } from '../backend/gradients.js';
import { evaluate, formatEval, type EvalResult } from '../eval/evaluate.js';
import { writeFileAtomic } from '../io/atomic.js';
import { heatmap, imageGrid, linePlot, range, savePng, scatterPlot, type LineSeries } from '../io/png.js';
import { saveCheckpoint, type LoadedCheckpoint, type TrainState } from './checkpoint.js';
import { Adam, Ema, globalNorm, learningRate, type OptimConfig, type Schedule } from './optim.js';
import { Progress, type ProgressMode } from './progress.js';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  schedule: Schedule;
  warmupSteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** global-norm gradient clipping; 0 = off */
  clipNorm: number;
  /** EMA decay of the weights used for evaluation and sampling; 0 = off */
  ema: number;
  /** train on the first `limit` training examples (0 = all) */
  limit: number;
  /** evaluate on the first `evalLimit` test examples each epoch (0 = all) */
  evalLimit: number;
  /** also report IWAE-k each epoch (bound models; 0 = ELBO only) */
  evalIw: number;
  /** samples drawn for the per-epoch sample PNG (0 = none) */
  sampleN: number;
  /** write a metrics line every logEvery steps (and always at the end of an epoch) */
  logEvery: number;
  /** stop (with a checkpoint) after this many steps in total (0 = no limit) */
  maxSteps: number;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  epochs: 5,
  batchSize: 128,
  lr: 1e-3,
  seed: 0,
  schedule: 'constant',
  warmupSteps: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  clipNorm: 0,
  ema: 0,
  limit: 0,
  evalLimit: 0,
  evalIw: 0,
  sampleN: 64,
  logEvery: 10,
  maxSteps: 0,
};

/** Merge user values over the defaults and validate them (UserError naming the bad key). */
export function makeTrainConfig(over: Partial<Record<keyof TrainConfig, unknown>> = {}): TrainConfig {
  const c = { ...TRAIN_DEFAULTS } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    if (!(k in TRAIN_DEFAULTS))
      throw new UserError(
        `unknown training option '${k}' (known: ${Object.keys(TRAIN_DEFAULTS).join(', ')})`,
      );
    c[k] = v;
  }
  const num = (k: keyof TrainConfig, ok: (x: number) => boolean, what: string) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v))
      throw new UserError(`${k} must be ${what}, got ${JSON.stringify(v)}`);
  };
  const int = Number.isInteger;
  num('epochs', (x) => int(x) && x >= 1, 'an integer >= 1');
  num('batchSize', (x) => int(x) && x >= 1, 'an integer >= 1');
  num('lr', (x) => x > 0, 'a positive number');
  num('seed', (x) => int(x) && x >= 0, 'a non-negative integer');
  num('warmupSteps', (x) => int(x) && x >= 0, 'a non-negative integer');
  num('beta1', (x) => x >= 0 && x < 1, 'in [0, 1)');
  num('beta2', (x) => x >= 0 && x < 1, 'in [0, 1)');
  num('eps', (x) => x > 0, 'positive');
  num('weightDecay', (x) => x >= 0, 'non-negative');
  num('clipNorm', (x) => x >= 0, 'non-negative (0 = off)');
  num('ema', (x) => x >= 0 && x < 1, 'in [0, 1) (0 = off)');
  for (const k of ['limit', 'evalLimit', 'evalIw', 'sampleN', 'maxSteps'] as const)
    num(k, (x) => int(x) && x >= 0, 'a non-negative integer');
  num('logEvery', (x) => int(x) && x >= 1, 'an integer >= 1');
  if (!['constant', 'cosine', 'linear'].includes(c.schedule as string)) {
    throw new UserError(`schedule must be constant, cosine or linear, got ${JSON.stringify(c.schedule)}`);
  }
  return c as unknown as TrainConfig;
}

export interface TrainOptions {
  model: GenerativeModel;
  dataset: Dataset;
  /** run directory: checkpoint/, metrics.jsonl, samples.png, loss.png */
  outDir: string;
  config: TrainConfig;
  /** continue this checkpoint's run (its model must be `model`, as returned by loadCheckpoint) */
  resume?: LoadedCheckpoint;
  backend?: string;
  /** abort -> finish the current step, save a checkpoint, return { interrupted: true } */
  signal?: AbortSignal;
  /** install a SIGINT handler that aborts as above (the CLI does; a second Ctrl-C exits at once) */
  handleSigint?: boolean;
  progress?: ProgressMode;
  /** write sample / loss PNGs (default true) */
  images?: boolean;
  log?: (line: string) => void;
  /** called after every optimizer step (outside tf.tidy), e.g. for live plots */
  onStep?: (rec: StepRecord) => void;
}

export interface StepRecord {
  type: 'train';
  step: number;
  epoch: number;
  time: number;
  lr: number;
  losses: Record<string, number>;
  gradNorm: Record<string, number>;
  metrics?: Record<string, number>;
}

export interface TrainResult {
  step: number;
  epoch: number;
  interrupted: boolean;
  /** why the loop ended */
  stopped: 'done' | 'maxSteps' | 'interrupted';
  lastEval?: EvalResult;
  /** every step record of this run (including those before a resume, read back from metrics.jsonl) */
  history: StepRecord[];
}

/** The loss is NaN/Inf: training stops before the bad update is applied; nothing is saved for that step. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

/** Samples contain NaN/Inf (e.g. a flow at a high temperature): reported, nothing written. */
export class NonFiniteSampleError extends NonFiniteLossError {
  override name = 'NonFiniteSampleError';
}

const TRAIN_KEYS: (keyof TrainConfig)[] = Object.keys(TRAIN_DEFAULTS) as (keyof TrainConfig)[];

/** A view of the dataset restricted to its first `limit` training examples. */
export function limitDataset(ds: Dataset, limit: number): Dataset {
  if (!limit || limit >= ds.train.n) return ds;
  const per = ds.train.x.length / ds.train.n;
  const view = Object.create(ds) as Dataset;
  const train = { n: limit, x: ds.train.x.subarray(0, limit * per) } as Dataset['train'];
  if (ds.train.y) train.y = ds.train.y.subarray(0, limit);
  Object.defineProperty(view, 'train', { value: train, enumerable: true });
  return view;
}

function readHistory(
  file: string,
  upToStep: number,
): { lines: string[]; steps: StepRecord[]; evals: Record<string, unknown>[] } {
  const lines: string[] = [];
  const steps: StepRecord[] = [];
  const evals: Record<string, unknown>[] = [];
  if (!fs.existsSync(file)) return { lines, steps, evals };
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let r: { type?: string; step?: number };
    try {
      r = JSON.parse(line);
    } catch {
      continue; // a torn last line from a crash
    }
    if (typeof r.step !== 'number' || r.step > upToStep) continue;
    lines.push(line);
    if (r.type === 'train') steps.push(r as StepRecord);
    else if (r.type === 'eval') evals.push(r as Record<string, unknown>);
  }
  return { lines, steps, evals };
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { model, config: cfg } = opts;
  await registerAllGradients();
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const ds = limitDataset(opts.dataset, cfg.limit);
  const outDir = opts.outDir;
  const ckptDir = path.join(outDir, 'checkpoint');
  const metricsFile = path.join(outDir, 'metrics.jsonl');
  if (!opts.resume && fs.existsSync(ckptDir)) {
    throw new UserError(`${outDir} already holds a run; resume it or choose another output directory`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const wantsImages = opts.images ?? true;

  // ---- state
  const named = model.variables();
  const nameOfTf = new Map<string, string>();
  for (const [n, v] of named) nameOfTf.set(v.name, n);
  const state: TrainState & { elapsedSec: number } = opts.resume
    ? {
        ...structuredClone(opts.resume.config.state),
        elapsedSec: (opts.resume.config.state as { elapsedSec?: number }).elapsedSec ?? 0,
      }
    : { epoch: 0, step: 0, stepInEpoch: 0, rng: new Rng(cfg.seed).state(), optim: {}, elapsedSec: 0 };
  const rng = Rng.from(state.rng);
  const optimCfg: OptimConfig = {
    lr: cfg.lr,
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
    schedule: cfg.schedule,
    warmupSteps: cfg.warmupSteps,
    clipNorm: cfg.clipNorm,
  };
  const objectives = model.objectives();
  if (new Set(objectives.map((o) => o.name)).size !== objectives.length)
    throw new Error(`model '${model.kind}' has duplicate objective names`);
  const optimizers = new Map<string, Adam>();
  for (const obj of objectives) {
    const params = new Map<string, tf.Variable>();
    for (const v of obj.variables()) {
      const n = nameOfTf.get(v.name);
      if (!n)
        throw new Error(
          `objective '${obj.name}' trains a variable (${v.name}) that model.variables() does not list`,
        );
      params.set(n, v);
    }
    const over = obj.optim ?? {};
    const opt = new Adam(params, {
      ...optimCfg,
      ...(over.beta1 !== undefined ? { beta1: over.beta1 } : {}),
      ...(over.beta2 !== undefined ? { beta2: over.beta2 } : {}),
    });
    const st = opts.resume?.optimState.get(obj.name);
    if (opts.resume) opt.load(st ?? new Map(), state.optim[obj.name]?.t ?? 0);
    optimizers.set(obj.name, opt);
  }
  const ema = cfg.ema > 0 ? new Ema(named, cfg.ema) : null;
  if (ema && opts.resume?.emaState) ema.load(opts.resume.emaState);

  // ---- metrics file: a resumed run drops lines written after its checkpoint (a crash after the save)
  const prior = readHistory(metricsFile, opts.resume ? state.step : -1);
  writeFileAtomic(metricsFile, prior.lines.map((l) => l + '\n').join(''));
  const history: StepRecord[] = prior.steps;
  const evalHistory: { step: number; nats: number }[] = prior.evals
    .map((e) => ({
      step: e.step as number,
      nats: ((e.metrics as { nats: number }[] | undefined) ?? [])[0]?.nats ?? NaN,
    }))
    .filter((e) => Number.isFinite(e.nats));
  const append = (rec: object) => fs.appendFileSync(metricsFile, JSON.stringify(rec) + '\n');

  const stepsPerEpoch = Math.ceil(ds.train.n / cfg.batchSize);
  const totalSteps = cfg.epochs * stepsPerEpoch;
  const t0 = Date.now() - state.elapsedSec * 1000;
  const elapsed = () => (Date.now() - t0) / 1000;
  const trainCfgJson = Object.fromEntries(TRAIN_KEYS.map((k) => [k, cfg[k]])) as Record<string, unknown>;

  const save = () => {
    for (const [n, o] of optimizers) state.optim[n] = { t: o.t };
    state.rng = rng.state();
    state.elapsedSec = elapsed();
    saveCheckpoint(ckptDir, {
      model,
      data: ds.describe(),
      train: trainCfgJson,
      state,
      optimizers,
      ema,
      backend: opts.backend ?? tf.getBackend(),
    });
  };

  // ---- interruption
  let stopRequested = opts.signal?.aborted ?? false;
  const onAbort = () => {
    stopRequested = true;
  };
  opts.signal?.addEventListener('abort', onAbort);
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints > 1) process.exit(130);
    stopRequested = true;
    log('\ninterrupt: finishing the current step and saving a checkpoint (Ctrl-C again to quit at once)');
  };
  if (opts.handleSigint) process.on('SIGINT', onSigint);

  const progress = new Progress(opts.progress ?? 'auto');
  let lastEval: EvalResult | undefined;
  const withEma = <T>(fn: () => Promise<T>): Promise<T> => (ema ? ema.with(fn) : fn());

  const toBatch = (b: RawBatch): Batch => {
    const x = tf.tensor(b.x, [b.n, ...model.spec.shape]);
    return b.y ? { x, y: tf.tensor1d(b.y, 'int32') } : { x };
  };

  /** one optimizer step of every objective on one batch; returns the logged record */
  const runStep = (b: RawBatch): StepRecord => {
    const lr = learningRate(optimCfg, state.step, totalSteps);
    const losses: Record<string, number> = {};
    const gradNorm: Record<string, number> = {};
    const metrics: Record<string, number> = {};
    tf.tidy(() => {
      const batch = toBatch(b);
      const ctx: StepContext = {
        step: state.step,
        epoch: state.epoch,
        seed: () => rng.nextSeed(),
        training: true,
      };
      for (const obj of objectives) {
        const every = obj.every ?? 1;
        if ((state.step + 1) % every !== 0) continue;
        const opt = optimizers.get(obj.name)!;
        const vars = [...opt.params.values()];
        tf.tidy(() => {
          let kept: [string, tf.Scalar][] = [];
          const { value, grads } = tf.variableGrads(() => {
            const out = obj.loss(batch, ctx);
            kept = Object.entries(out.metrics ?? {}).map(([k, t]) => [k, tf.keep(t)]);
            return out.loss;
          }, vars);
          const gmap = new Map<string, tf.Tensor>();
          for (const [tfName, g] of Object.entries(grads)) gmap.set(nameOfTf.get(tfName)!, g);
          const norm = gmap.size ? globalNorm([...gmap.values()]) : tf.scalar(0);
          const stats = tf.stack([value, norm, ...kept.map((p) => tf.cast(p[1], 'float32'))]).dataSync();
          for (const [, t] of kept) t.dispose();
          const lossV = stats[0]!;
          const normV = stats[1]!;
          if (!Number.isFinite(lossV) || !Number.isFinite(normV)) {
            throw new NonFiniteLossError(
              `non-finite ${Number.isFinite(lossV) ? 'gradient' : 'loss'} at step ${state.step + 1} (epoch ${state.epoch + 1}, objective '${obj.name}'): ` +
                `loss=${lossV}, grad norm=${normV}; stopped before the update, last checkpoint kept (try a lower --lr or clipNorm)`,
            );
          }
          if (cfg.clipNorm > 0 && normV > cfg.clipNorm) {
            const s = cfg.clipNorm / normV;
            for (const [n, g] of gmap) gmap.set(n, tf.mul(g, s));
          }
          opt.apply(gmap, lr * (obj.optim?.lrScale ?? 1));
          losses[obj.name] = lossV;
          gradNorm[obj.name] = normV;
          kept.forEach(([k], i) => (metrics[objectives.length > 1 ? `${obj.name}.${k}` : k] = stats[2 + i]!));
        });
      }
    });
    ema?.update(state.step);
    state.step += 1;
    state.stepInEpoch += 1;
    const rec: StepRecord = {
      type: 'train',
      step: state.step,
      epoch: state.epoch,
      time: elapsed(),
      lr,
      losses,
      gradNorm,
    };
    if (Object.keys(metrics).length) rec.metrics = metrics;
    return rec;
  };

  const writeImages = async () => {
    if (!wantsImages) return;
    const s = model.spec;
    if (cfg.sampleN > 0 && (s.kind === 'image' || dims(s) === 2)) {
      const sampleSeed = new Rng(cfg.seed ^ 0x5eed).nextSeed(); // the same noise every epoch: progress is visible
      const cond = model.taxonomy.conditional && s.numClasses;
      const per = cond ? Math.max(1, Math.floor(cfg.sampleN / s.numClasses!)) : cfg.sampleN;
      const n = cond ? per * s.numClasses! : cfg.sampleN;
      const label = cond ? Array.from({ length: n }, (_, i) => Math.floor(i / per)) : undefined;
      const x = await withEma(
        async () =>
          tf
            .tidy(() => model.sample(n, { seed: sampleSeed, ...(label ? { label } : {}) }))
            .data() as Promise<Float32Array>,
      );
      const disp = ds.toDisplay(x);
      const file = path.join(outDir, 'samples.png');
      const bad = countNonFinite(x);
      if (bad > 0) {
        // a NaN/Inf sample is reported with its step, never drawn (or silently clipped) into samples.png
        const message = `non-finite samples at step ${state.step} (epoch ${state.epoch}): ${bad} of ${x.length} values are NaN/Inf; samples.png not written`;
        log(`warning: ${message}`);
        append({ type: 'warning', step: state.step, epoch: state.epoch, time: elapsed(), message });
      } else if (s.kind === 'image') {
        const cv = imageGrid(disp, [n, ...s.shape], { nrow: cond ? per : undefined });
        savePng(path.join(outDir, 'samples', `epoch-${String(state.epoch).padStart(3, '0')}.png`), cv);
        savePng(file, cv);
      } else {
        const m = Math.min(ds.test.n, 2000);
        const data = ds.toDisplay(
          ds.prepare(ds.test.x.slice(0, m * 2), { split: 'test', epoch: 0, seed: cfg.seed, offset: 0 }),
        );
        savePng(
          file,
          scatterPlot(
            [
              { points: data, label: 'data', color: [160, 160, 160] },
              { points: disp, label: 'samples' },
            ],
            { title: `${model.kind} epoch ${state.epoch}` },
          ),
        );
      }
    }
    if (model.taxonomy.density === 'exact' && s.kind === 'vector' && dims(s) === 2) {
      // 2D exact-density models: density.png (p(x) on a grid over the test data) next to samples.png
      const m = Math.min(ds.test.n, 2000);
      const data = ds.prepare(ds.test.x.slice(0, m * 2), {
        split: 'test',
        epoch: 0,
        seed: cfg.seed,
        offset: 0,
      });
      const grid = await withEma(async () => densityGrid(model, data, 100));
      const bad = countNonFinite(grid.density);
      if (bad > 0) {
        const message = `non-finite density at step ${state.step} (epoch ${state.epoch}): ${bad} of ${grid.density.length} grid values; density.png not written`;
        log(`warning: ${message}`);
        append({ type: 'warning', step: state.step, epoch: state.epoch, time: elapsed(), message });
      } else
        savePng(
          path.join(outDir, 'density.png'),
          heatmap(grid.density, grid.n, grid.n, grid.xRange, grid.yRange, {
            title: `${model.kind} density epoch ${state.epoch}`,
          }),
        );
    }
    if (history.length > 1) {
      const series: LineSeries[] = objectives.map((o) => ({
        name: `${o.name} loss`,
        x: history.map((h) => h.step),
        y: history.map((h) => h.losses[o.name] ?? NaN),
      }));
      if (evalHistory.length)
        series.push({
          name: model.taxonomy.density === 'bound' ? 'test -elbo' : 'test nll',
          x: evalHistory.map((e) => e.step),
          y: evalHistory.map((e) => e.nats),
        });
      savePng(
        path.join(outDir, 'loss.png'),
        linePlot(series, { title: `${model.kind} training`, xlabel: 'step', yRange: lossRange(series) }),
      );
    }
  };

  const finish = () => {
    opts.signal?.removeEventListener('abort', onAbort);
    if (opts.handleSigint) process.off('SIGINT', onSigint);
    for (const o of optimizers.values()) o.dispose();
    ema?.dispose();
  };

  let stopped: TrainResult['stopped'] = 'done';
  try {
    outer: while (state.epoch < cfg.epochs) {
      progress.start(stepsPerEpoch, `epoch ${state.epoch + 1}/${cfg.epochs}`, state.stepInEpoch);
      let i = 0;
      let lastRec: StepRecord | null = null;
      for (const b of batches(ds, 'train', cfg.batchSize, {
        epoch: state.epoch,
        seed: cfg.seed,
        shuffle: true,
      })) {
        if (i++ < state.stepInEpoch) continue; // resuming inside this epoch
        if (stopRequested || (cfg.maxSteps > 0 && state.step >= cfg.maxSteps)) break;
        const rec = runStep(b);
        history.push(rec);
        lastRec = rec;
        if (state.step % cfg.logEvery === 0) append(rec);
        opts.onStep?.(rec);
        const lossStr = Object.entries(rec.losses)
          .map(([k, v]) => (objectives.length > 1 ? `${k} ${v.toFixed(4)}` : `loss ${v.toFixed(4)}`))
          .join(' ');
        progress.update(state.stepInEpoch, lossStr);
        await new Promise<void>((r) => setImmediate(r)); // let SIGINT / abort handlers run
      }
      progress.stop();
      if (lastRec && state.step % cfg.logEvery !== 0) append(lastRec);
      const interrupted = stopRequested;
      const capped = cfg.maxSteps > 0 && state.step >= cfg.maxSteps && state.stepInEpoch < stepsPerEpoch;
      if (interrupted || capped) {
        save();
        stopped = interrupted ? 'interrupted' : 'maxSteps';
        log(
          `${stopped === 'interrupted' ? 'interrupted' : 'stopped'} at step ${state.step}; checkpoint saved to ${ckptDir}`,
        );
        break outer;
      }
      // ---- end of epoch: evaluate, draw, checkpoint
      state.epoch += 1;
      state.stepInEpoch = 0;
      if (model.taxonomy.density !== 'none') {
        lastEval = await withEma(() =>
          evaluate(model, ds, {
            split: 'test',
            batchSize: Math.max(cfg.batchSize, 256),
            seed: cfg.seed,
            maxN: cfg.evalLimit,
            iw: cfg.evalIw,
            progress: opts.progress ?? 'auto',
          }),
        );
        log(`epoch ${state.epoch}: ${formatEval(lastEval)}`);
        append({ type: 'eval', step: state.step, epoch: state.epoch, time: elapsed(), ...lastEval });
        const m0 = lastEval.metrics[0]; // none for an unnormalized density (sample metrics only)
        if (m0) {
          evalHistory.push({ step: state.step, nats: m0.nats });
          state.last = { [`test_${m0.name}`]: m0.nats };
          const best = state.best?.[`test_${m0.name}`];
          if (best === undefined || m0.nats < best) state.best = { [`test_${m0.name}`]: m0.nats };
        }
      }
      await writeImages();
      save();
      if (cfg.maxSteps > 0 && state.step >= cfg.maxSteps && state.epoch < cfg.epochs) {
        stopped = 'maxSteps';
        break;
      }
    }
  } finally {
    progress.stop();
    finish();
  }
  return {
    step: state.step,
    epoch: state.epoch,
    interrupted: stopped === 'interrupted',
    stopped,
    lastEval,
    history,
  };
}

/** Number of NaN/Inf entries. */
export function countNonFinite(x: ArrayLike<number>): number {
  let bad = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) bad++;
  return bad;
}

/**
 * p(x) of a 2D exact-density model on an n x n grid of cell centers spanning the range of `points`
 * (interleaved x,y, model space) padded by 15%; row j = y index from the bottom. A conditional model's
 * density is the mixture over classes with equal weights.
 */
export function densityGrid(
  model: GenerativeModel,
  points: Float32Array,
  n: number,
): { density: Float32Array; n: number; xRange: [number, number]; yRange: [number, number] } {
  const xs = Array.from(points.filter((_, i) => i % 2 === 0));
  const ys = Array.from(points.filter((_, i) => i % 2 === 1));
  const xRange = range(xs, 0.15);
  const yRange = range(ys, 0.15);
  const density = new Float32Array(n * n);
  const grid = new Float32Array(n * n * 2);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      grid[2 * (j * n + i)] = xRange[0] + ((i + 0.5) * (xRange[1] - xRange[0])) / n;
      grid[2 * (j * n + i) + 1] = yRange[0] + ((j + 0.5) * (yRange[1] - yRange[0])) / n;
    }
  const K = model.taxonomy.conditional ? (model.spec.numClasses ?? 1) : 1;
  tf.tidy(() => {
    const x = tf.tensor2d(grid, [n * n, 2]);
    let p: tf.Tensor = tf.zeros([n * n]);
    for (let k = 0; k < K; k++) {
      const y = model.taxonomy.conditional ? (tf.fill([n * n], k, 'int32') as tf.Tensor1D) : undefined;
      p = tf.add(p, tf.div(tf.exp(model.logProb!(x, y)), K));
    }
    density.set(p.dataSync());
  });
  return { density, n, xRange, yRange };
}

/**
 * The y range of the loss plot: the values after the first 5% of steps (the initial drop would
 * otherwise flatten the curve), padded by 5%; earlier values are drawn at the top edge.
 */
function lossRange(series: LineSeries[]): [number, number] {
  const xMax = range(
    series.flatMap((s) => s.x),
    0,
  )[1];
  const late = series.flatMap((s) => s.y.filter((_, i) => s.x[i]! >= 0.05 * xMax));
  return range(late, 0.05);
}

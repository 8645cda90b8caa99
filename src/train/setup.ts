// Setting up a run of the training loop: the state (fresh or from a checkpoint), one Adam optimizer per
// objective, the EMA, the metrics file (a resumed run drops lines written after its checkpoint) and save().
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type GenerativeModel, type Objective } from '../core/model.js';
import { Rng } from '../core/rng.js';
import type { Dataset } from '../data/types.js';
import { registerAllGradients } from '../backend/gradients.js';
import type { EvalResult } from '../eval/evaluate.js';
import { writeFileAtomic } from '../io/atomic.js';
import { saveCheckpoint, type TrainState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { Adam, Ema, type OptimConfig } from './optim.js';
import { objectiveOptimizers, type StepRun } from './step-run.js';
import type { StepRecord, TrainOptions } from './types.js';

/** Everything one invocation of train() works on: a StepRun with its run directory, metrics and checkpoints. */
export interface Run extends StepRun {
  readonly opts: TrainOptions;
  readonly model: GenerativeModel;
  /** the effective configuration of this invocation */
  readonly cfg: TrainConfig;
  readonly ds: Dataset;
  readonly outDir: string;
  readonly ckptDir: string;
  readonly log: (line: string) => void;
  /** every step record, from the start of the run */
  readonly history: StepRecord[];
  /** the first test metric of every evaluation */
  readonly evalHistory: { step: number; nats: number }[];
  readonly stepsPerEpoch: number;
  lastEval?: EvalResult;
  /** append one line to metrics.jsonl */
  append(rec: object): void;
  /** log a warning and record it in metrics.jsonl */
  warn(message: string): void;
  /** write the checkpoint (model, optimizers, EMA, RNG, data position) */
  save(): void;
  /** run fn with the EMA weights swapped in (or the plain weights when there is no EMA) */
  withEma<T>(fn: () => Promise<T>): Promise<T>;
  dispose(): void;
}

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

export function readHistory(
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

/**
 * maxSteps is a limit of one invocation: it is not recorded in the checkpoint, so a resumed run trains on
 * unless it is given a new limit. A limit the run has already reached is refused, except the one an older
 * checkpoint recorded (inherited unchanged on resume): that one is dropped.
 */
function effectiveConfig(opts: TrainOptions, step: number, log: (s: string) => void): TrainConfig {
  const cfg = opts.config;
  if (!opts.resume || cfg.maxSteps === 0 || cfg.maxSteps > step) return cfg;
  const recorded = (opts.resume.config.train as { maxSteps?: unknown } | undefined)?.maxSteps;
  if (recorded === cfg.maxSteps) {
    log(`the previous invocation's limit of ${cfg.maxSteps} steps is reached; training on`);
    return { ...cfg, maxSteps: 0 };
  }
  throw new UserError(
    `maxSteps ${cfg.maxSteps}: the run is already at step ${step}; give a larger limit (steps of the whole run) or none to train to the end`,
  );
}

export async function setupRun(opts: TrainOptions): Promise<Run> {
  const { model } = opts;
  await registerAllGradients();
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const outDir = opts.outDir;
  const ckptDir = path.join(outDir, 'checkpoint');
  const metricsFile = path.join(outDir, 'metrics.jsonl');
  // data-parallel: rank 0 alone writes the metrics and the checkpoint
  const primary = (opts.distributed?.rank ?? 0) === 0;
  if (!opts.resume && primary && fs.existsSync(ckptDir)) {
    throw new UserError(`${outDir} already holds a run; resume it or choose another output directory`);
  }

  const named = model.variables();
  const nameOfTf = new Map<string, string>();
  for (const [n, v] of named) nameOfTf.set(v.name, n);
  const state: TrainState & { elapsedSec: number } = opts.resume
    ? {
        ...structuredClone(opts.resume.config.state),
        elapsedSec: (opts.resume.config.state as { elapsedSec?: number }).elapsedSec ?? 0,
      }
    : { epoch: 0, step: 0, stepInEpoch: 0, rng: new Rng(opts.config.seed).state(), optim: {}, elapsedSec: 0 };
  const cfg = effectiveConfig(opts, state.step, log);
  const ds = limitDataset(opts.dataset, cfg.limit);
  fs.mkdirSync(outDir, { recursive: true });
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
  const optimizers = objectiveOptimizers(objectives, nameOfTf, optimCfg, model.kind);
  if (opts.resume)
    for (const [name, opt] of optimizers)
      opt.load(opts.resume.optimState.get(name) ?? new Map(), state.optim[name]?.t ?? 0);
  const ema = cfg.ema > 0 ? new Ema(named, cfg.ema) : null;
  if (ema && opts.resume?.emaState) ema.load(opts.resume.emaState);

  const prior = readHistory(metricsFile, opts.resume ? state.step : -1);
  if (primary) writeFileAtomic(metricsFile, prior.lines.map((l) => l + '\n').join(''));
  const evalHistory = prior.evals
    .map((e) => ({
      step: e.step as number,
      nats: ((e.metrics as { nats: number }[] | undefined) ?? [])[0]?.nats ?? NaN,
    }))
    .filter((e) => Number.isFinite(e.nats));

  const stepsPerEpoch = Math.ceil(ds.train.n / cfg.batchSize);
  const t0 = Date.now() - state.elapsedSec * 1000;
  const elapsed = () => (Date.now() - t0) / 1000;
  // maxSteps limits one invocation and is not recorded (see effectiveConfig)
  const { maxSteps: _limit, ...recorded } = cfg;
  const append = (rec: object) => {
    if (primary) fs.appendFileSync(metricsFile, JSON.stringify(rec) + '\n');
  };

  return {
    opts,
    model,
    cfg,
    ds,
    outDir,
    ckptDir,
    log,
    state,
    rng,
    optimCfg,
    objectives,
    optimizers,
    ema,
    nameOfTf,
    history: prior.steps,
    evalHistory,
    stepsPerEpoch,
    totalSteps: cfg.epochs * stepsPerEpoch,
    elapsed,
    append,
    warn(message: string) {
      log(`warning: ${message}`);
      append({ type: 'warning', step: state.step, epoch: state.epoch, time: elapsed(), message });
    },
    save() {
      if (!primary) return;
      for (const [n, o] of optimizers) state.optim[n] = { t: o.t };
      state.rng = rng.state();
      state.elapsedSec = elapsed();
      saveCheckpoint(ckptDir, {
        model,
        data: ds.describe(),
        train: recorded as Record<string, unknown>,
        state,
        optimizers,
        ema,
        backend: opts.backend ?? tf.getBackend(),
      });
    },
    withEma<T>(fn: () => Promise<T>): Promise<T> {
      return ema ? ema.with(fn) : fn();
    },
    dispose() {
      for (const o of optimizers.values()) o.dispose();
      ema?.dispose();
    },
  };
}

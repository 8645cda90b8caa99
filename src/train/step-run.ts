// What one optimizer step (runStep) works on, without the files of a training run: the model, its
// objectives with one Adam optimizer each, the state (step, epoch, RNG) and the learning-rate schedule.
// setupRun's Run is one (with the run directory, metrics and checkpoints on top); createStepRun makes one in
// memory, e.g. for training in a web page. No Node imports: the browser bundle uses it.
import type * as tf from '@tensorflow/tfjs-core';
import type { GenerativeModel, Objective } from '../core/model.js';
import { Rng } from '../core/rng.js';
import type { TrainState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { Adam, ADAM_DEFAULTS, type Ema, type OptimConfig } from './optim.js';
import type { TrainOptions } from './types.js';

export interface StepRun {
  readonly model: GenerativeModel;
  /** data-parallel hooks (none in one process) */
  readonly opts: Pick<TrainOptions, 'distributed'>;
  readonly cfg: Pick<TrainConfig, 'clipNorm'>;
  readonly state: TrainState & { elapsedSec: number };
  readonly rng: Rng;
  readonly optimCfg: OptimConfig;
  readonly objectives: Objective[];
  readonly optimizers: Map<string, Adam>;
  readonly ema: Ema | null;
  /** tf variable name -> the model's name for it */
  readonly nameOfTf: Map<string, string>;
  /** the schedule's horizon */
  readonly totalSteps: number;
  /** seconds of training */
  elapsed(): number;
}

/** One Adam optimizer per objective over its variables (keyed by the model's names), with its overrides. */
export function objectiveOptimizers(
  objectives: Objective[],
  nameOfTf: Map<string, string>,
  optimCfg: OptimConfig,
  kind: string,
): Map<string, Adam> {
  if (new Set(objectives.map((o) => o.name)).size !== objectives.length)
    throw new Error(`model '${kind}' has duplicate objective names`);
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
    optimizers.set(
      obj.name,
      new Adam(params, {
        ...optimCfg,
        ...(over.beta1 !== undefined ? { beta1: over.beta1 } : {}),
        ...(over.beta2 !== undefined ? { beta2: over.beta2 } : {}),
      }),
    );
  }
  return optimizers;
}

export interface StepRunOptions {
  /** Adam settings (default ADAM_DEFAULTS; clipNorm also clips each step's gradient) */
  optim?: Partial<OptimConfig>;
  seed?: number;
  /** the learning-rate schedule's horizon (default: unbounded) */
  totalSteps?: number;
}

/** A fresh in-memory StepRun for `model` (no EMA, no files); dispose() frees the optimizers' moments. */
export function createStepRun(model: GenerativeModel, o: StepRunOptions = {}): StepRun & { dispose(): void } {
  const optimCfg: OptimConfig = { ...ADAM_DEFAULTS, ...(o.optim ?? {}) };
  const nameOfTf = new Map<string, string>();
  for (const [n, v] of model.variables()) nameOfTf.set(v.name, n);
  const objectives = model.objectives();
  const optimizers = objectiveOptimizers(objectives, nameOfTf, optimCfg, model.kind);
  const rng = new Rng(o.seed ?? 0);
  const t0 = performance.now();
  return {
    model,
    opts: {},
    cfg: { clipNorm: optimCfg.clipNorm },
    state: { epoch: 0, step: 0, stepInEpoch: 0, rng: rng.state(), optim: {}, elapsedSec: 0 },
    rng,
    optimCfg,
    objectives,
    optimizers,
    ema: null,
    nameOfTf,
    totalSteps: o.totalSteps ?? Number.MAX_SAFE_INTEGER,
    elapsed: () => (performance.now() - t0) / 1000,
    dispose() {
      for (const opt of optimizers.values()) opt.dispose();
    },
  };
}

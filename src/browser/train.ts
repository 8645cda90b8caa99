// Training a small model in the page: the training loop's own step (runStep: every objective's loss and
// Adam update inside tf.tidy, non-finite losses refused) on batches of a 2-D toy dataset, one step per call
// so that the page can redraw between steps. No checkpoints, metrics file or evaluation (those are Node's).
import * as tf from '@tensorflow/tfjs-core';
import type { GenerativeModel } from '../core/model.js';
import { createModel, type ModelConfig } from '../core/registry.js';
import { Rng } from '../core/rng.js';
import { loadToy } from '../data/toy.js';
import type { Dataset } from '../data/types.js';
import { Adam, ADAM_DEFAULTS, type OptimConfig } from '../train/optim.js';
import type { Run } from '../train/setup.js';
import { runStep } from '../train/step.js';
import type { StepRecord } from '../train/types.js';

export interface ToyTrainerOptions {
  model: string;
  data: string;
  config?: ModelConfig;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** toy dataset options (nTrain, noise, ...) */
  dataOptions?: Record<string, unknown>;
}

/** A model being trained on a 2-D toy, one step per `step()`. */
export class ToyTrainer {
  readonly model: GenerativeModel;
  readonly data: Dataset;
  readonly history: StepRecord[] = [];
  private readonly run: Run;
  private readonly batchSize: number;
  private order: Int32Array;
  private pos = 0;
  private readonly rng: Rng;
  private readonly started = performance.now();

  constructor(o: ToyTrainerOptions) {
    const seed = o.seed ?? 0;
    this.data = loadToy(o.data, { seed, ...(o.dataOptions ?? {}) });
    this.model = createModel(o.model, o.config ?? {}, this.data.spec, seed);
    this.batchSize = o.batchSize ?? 128;
    this.rng = new Rng(seed);
    this.order = new Int32Array(0);
    const named = this.model.variables();
    const nameOfTf = new Map<string, string>();
    for (const [n, v] of named) nameOfTf.set(v.name, n);
    const optimCfg: OptimConfig = { ...ADAM_DEFAULTS, lr: o.lr ?? 1e-3 };
    const objectives = this.model.objectives();
    const optimizers = new Map<string, Adam>();
    for (const obj of objectives) {
      const params = new Map<string, tf.Variable>();
      for (const v of obj.variables()) params.set(nameOfTf.get(v.name)!, v);
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
    const state = { epoch: 0, step: 0, stepInEpoch: 0, rng: this.rng.state(), optim: {}, elapsedSec: 0 };
    this.run = {
      model: this.model,
      opts: {}, // one process: no data-parallel hooks, no files
      cfg: { clipNorm: 0 },
      state,
      rng: this.rng,
      optimCfg,
      objectives,
      optimizers,
      ema: null,
      nameOfTf,
      totalSteps: Number.MAX_SAFE_INTEGER,
      elapsed: () => (performance.now() - this.started) / 1000,
    } as unknown as Run;
    this.shuffle();
  }

  private shuffle(): void {
    this.order = this.rng.permutation(this.data.train.n);
    this.pos = 0;
  }

  /** One optimizer step on the next batch; returns its record (losses by objective). */
  step(): StepRecord {
    if (this.pos + this.batchSize > this.order.length) {
      this.run.state.epoch += 1;
      this.run.state.stepInEpoch = 0;
      this.shuffle();
    }
    const d = this.data.train.x.length / this.data.train.n;
    const n = this.batchSize;
    const raw = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const r = this.order[this.pos + i]!;
      raw.set(this.data.train.x.subarray(r * d, (r + 1) * d), i * d);
    }
    this.pos += n;
    const x = this.data.prepare(raw, {
      split: 'train',
      epoch: this.run.state.epoch,
      seed: 0,
      offset: this.pos - n,
    });
    const rec = runStep(this.run, { x, n });
    this.history.push(rec);
    return rec;
  }

  dispose(): void {
    for (const o of this.run.optimizers.values()) o.dispose();
    this.model.dispose();
  }
}

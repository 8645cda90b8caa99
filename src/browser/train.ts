// Training a small model in the page: the training loop's own step (runStep: every objective's loss and
// Adam update inside tf.tidy, non-finite losses refused) on batches of a 2-D toy dataset, one step per call
// so that the page can redraw between steps. No checkpoints, metrics file or evaluation (those are Node's).
import type { GenerativeModel } from '../core/model.js';
import { createModel, type ModelConfig } from '../core/registry.js';
import type { Rng } from '../core/rng.js';
import { loadToy } from '../data/toy.js';
import type { Dataset } from '../data/types.js';
import { runStep } from '../train/step.js';
import { createStepRun } from '../train/step-run.js';
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
  private readonly run: ReturnType<typeof createStepRun>;
  private readonly batchSize: number;
  private order: Int32Array;
  private pos = 0;
  private readonly rng: Rng;

  constructor(o: ToyTrainerOptions) {
    const seed = o.seed ?? 0;
    this.data = loadToy(o.data, { seed, ...(o.dataOptions ?? {}) });
    this.model = createModel(o.model, o.config ?? {}, this.data.spec, seed);
    this.batchSize = o.batchSize ?? 128;
    this.order = new Int32Array(0);
    this.run = createStepRun(this.model, { optim: { lr: o.lr ?? 1e-3 }, seed });
    this.rng = this.run.rng;
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
    this.run.dispose();
    this.model.dispose();
  }
}

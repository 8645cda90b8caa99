// Types shared by the parts of the training loop (loop.ts, setup.ts, step.ts, epoch.ts, artifacts.ts).
import type { GenerativeModel } from '../core/model.js';
import type { Dataset } from '../data/types.js';
import type { EvalResult } from '../eval/evaluate.js';
import type { LoadedCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import type { ProgressMode } from './progress.js';
import type { Run } from './setup.js';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * Data-parallel training (src/distributed/train.ts): every worker runs train() on its shard of each global batch;
 * these hooks keep the workers identical. Absent: one process, no change.
 */
export interface DistributedHooks {
  readonly rank: number;
  readonly size: number;
  /** once, before the first step: every worker takes rank 0's variables, optimizer state and EMA */
  start(run: Run): void;
  /**
   * inside a step's tf.tidy, before the gradient norm and the update: the objective's loss, metrics and
   * gradients averaged over the workers, each weighted by its share of the global batch
   */
  reduce(
    loss: tf.Scalar,
    metrics: tf.Scalar[],
    grads: Map<string, tf.Tensor>,
    weight: number,
  ): { loss: tf.Scalar; metrics: tf.Scalar[]; grads: Map<string, tf.Tensor> };
  /** whether any worker asks to stop (every worker calls it at the same points) */
  agreeStop(requested: boolean): boolean;
  /** element-wise sums over workers (sharded evaluation) */
  sum(values: number[]): number[];
}

/** the signals that stop a run like Ctrl-C does: finish the step, save a checkpoint, report which */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

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
  /**
   * install SIGINT, SIGTERM and SIGHUP handlers that stop as above and name the signal in the result
   * (the CLI does; a second signal exits at once with 128 + its number)
   */
  handleSignals?: boolean;
  /** older name of handleSignals */
  handleSigint?: boolean;
  progress?: ProgressMode;
  /** write sample / loss PNGs (default true) */
  images?: boolean;
  log?: (line: string) => void;
  /** called after every optimizer step (outside tf.tidy), e.g. for live plots */
  onStep?: (rec: StepRecord) => void;
  /** data-parallel worker (src/distributed): the batch size is the global batch; rank 0 alone writes files */
  distributed?: DistributedHooks;
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
  /** the signal that interrupted the run (absent for an AbortSignal or when not interrupted) */
  signal?: StopSignal;
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

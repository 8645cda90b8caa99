// The one training loop for every family. Each objective of model.objectives() gets its own Adam optimizer
// and is updated in order on every batch (or on every `every`-th one). Every step runs inside tf.tidy. All
// randomness comes from one counter-based Rng (src/core/rng.ts) whose state is checkpointed, and the data
// order is a function of (seed, epoch), so a resumed run reproduces the uninterrupted run step for step.
// Parts: setup.ts (state, optimizers, metrics file, save), step.ts (one step), epoch.ts (evaluate,
// checkpoint, pictures), artifacts.ts (the pictures), signals.ts (Ctrl-C, SIGTERM, SIGHUP).
import { batches } from '../data/index.js';
import { endEpoch } from './epoch.js';
import { Progress } from './progress.js';
import { setupRun } from './setup.js';
import { watchStop } from './signals.js';
import { runStep } from './step.js';
import type { StepRecord, TrainOptions, TrainResult } from './types.js';

export {
  makeTrainConfig,
  TRAIN_DEFAULTS,
  TrainConfigSchema,
  MAX_SAMPLE_N,
  type TrainConfig,
} from './config.js';
export {
  NonFiniteLossError,
  NonFiniteSampleError,
  type StepRecord,
  type StopSignal,
  type TrainOptions,
  type TrainResult,
} from './types.js';
export { limitDataset } from './setup.js';
export { countNonFinite, densityGrid } from './artifacts.js';
export { exitCodeFor, SIGNAL_EXIT_CODES } from './signals.js';

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const run = await setupRun(opts);
  const { cfg, state, stepsPerEpoch } = run;
  const dist = opts.distributed; // data-parallel worker: shards, identical state, one agreed stop
  dist?.start(run);
  const stop = watchStop(
    {
      ...(opts.signal ? { signal: opts.signal } : {}),
      handleSignals: opts.handleSignals ?? opts.handleSigint,
    },
    run.log,
  );
  const progress = new Progress(opts.progress ?? 'auto');
  const capReached = () => cfg.maxSteps > 0 && state.step >= cfg.maxSteps;
  let stopped: TrainResult['stopped'] = 'done';
  try {
    while (state.epoch < cfg.epochs) {
      progress.start(stepsPerEpoch, `epoch ${state.epoch + 1}/${cfg.epochs}`, state.stepInEpoch);
      let i = 0;
      let lastRec: StepRecord | null = null;
      for (const b of batches(run.ds, 'train', cfg.batchSize, {
        epoch: state.epoch,
        seed: cfg.seed,
        shuffle: true,
        ...(dist ? { shard: { rank: dist.rank, size: dist.size } } : {}),
      })) {
        if (i++ < state.stepInEpoch) continue; // resuming inside this epoch
        if ((dist ? dist.agreeStop(stop.requested) : stop.requested) || capReached()) break;
        const rec = runStep(run, b);
        run.history.push(rec);
        lastRec = rec;
        if (state.step % cfg.logEvery === 0) run.append(rec);
        opts.onStep?.(rec);
        const lossStr = Object.entries(rec.losses)
          .map(([k, v]) => (run.objectives.length > 1 ? `${k} ${v.toFixed(4)}` : `loss ${v.toFixed(4)}`))
          .join(' ');
        progress.update(state.stepInEpoch, lossStr);
        await new Promise<void>((r) => setImmediate(r)); // let signal / abort handlers run
      }
      progress.stop();
      if (lastRec && state.step % cfg.logEvery !== 0) run.append(lastRec);
      const interrupted = dist ? dist.agreeStop(stop.requested) : stop.requested;
      if (interrupted || (capReached() && state.stepInEpoch < stepsPerEpoch)) {
        run.save();
        stopped = interrupted ? 'interrupted' : 'maxSteps';
        run.log(
          `${interrupted ? 'interrupted' : 'stopped'} at step ${state.step}; checkpoint saved to ${run.ckptDir}`,
        );
        break;
      }
      state.epoch += 1;
      state.stepInEpoch = 0;
      await endEpoch(run);
      if (capReached() && state.epoch < cfg.epochs) {
        stopped = 'maxSteps';
        break;
      }
    }
  } finally {
    progress.stop();
    stop.dispose();
    run.dispose();
  }
  const signal = stopped === 'interrupted' ? stop.signal : undefined;
  return {
    step: state.step,
    epoch: state.epoch,
    interrupted: stopped === 'interrupted',
    stopped,
    ...(signal ? { signal } : {}),
    ...(run.lastEval ? { lastEval: run.lastEval } : {}),
    history: run.history,
  };
}

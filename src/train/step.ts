// One optimizer step of every objective on one batch, inside tf.tidy. A non-finite loss or gradient norm
// stops training before the update is applied.
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, StepContext } from '../core/model.js';
import type { RawBatch } from '../data/types.js';
import { tidyInRows } from '../distributed/rows.js';
import { globalNorm, learningRate } from './optim.js';
import type { StepRun } from './step-run.js';
import { NonFiniteLossError, type StepRecord } from './types.js';

function toBatch(run: StepRun, b: RawBatch): Batch {
  const x = tf.tensor(b.x, [b.n, ...run.model.spec.shape]);
  return b.y ? { x, y: tf.tensor1d(b.y, 'int32') } : { x };
}

/** one optimizer step of every objective due at this step (objective.every) on one batch */
export function runStep(run: StepRun, b: RawBatch): StepRecord {
  const { state, cfg, objectives, optimizers, nameOfTf, rng } = run;
  const lr = learningRate(run.optimCfg, state.step, run.totalSteps);
  const losses: Record<string, number> = {};
  const gradNorm: Record<string, number> = {};
  const metrics: Record<string, number> = {};
  // data-parallel: noise drawn for this worker's rows of the global batch (src/distributed/rows.ts)
  const rows = b.shard ? { offset: b.shard.offset, n: b.n, total: b.shard.total } : null;
  tidyInRows(rows, () => {
    const batch = toBatch(run, b);
    const ctx: StepContext = {
      step: state.step,
      epoch: state.epoch,
      seed: () => rng.nextSeed(),
      training: true,
    };
    for (const obj of objectives) {
      const every = obj.every ?? 1;
      if ((state.step + 1) % every !== 0) continue;
      if (obj.active && !obj.active(ctx)) continue;
      const opt = optimizers.get(obj.name)!;
      const vars = [...opt.params.values()];
      tf.tidy(() => {
        let kept: [string, tf.Scalar][] = [];
        const { value, grads } = tf.variableGrads(() => {
          const out = obj.loss(batch, ctx);
          kept = Object.entries(out.metrics ?? {}).map(([k, t]) => [k, tf.keep(t)]);
          return out.loss;
        }, vars);
        let gmap = new Map<string, tf.Tensor>();
        for (const [tfName, g] of Object.entries(grads)) gmap.set(nameOfTf.get(tfName)!, g);
        let loss = value;
        let mets = kept.map((p) => tf.cast(p[1], 'float32') as tf.Scalar);
        const dist = run.opts.distributed; // data-parallel: the global batch's loss and gradients
        if (dist)
          ({ loss, metrics: mets, grads: gmap } = dist.reduce(value, mets, gmap, b.shard?.weight ?? 1));
        const norm = gmap.size ? globalNorm([...gmap.values()]) : tf.scalar(0);
        const stats = tf.stack([loss, norm, ...mets]).dataSync();
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
  run.ema?.update(state.step);
  state.step += 1;
  state.stepInEpoch += 1;
  const rec: StepRecord = {
    type: 'train',
    step: state.step,
    epoch: state.epoch,
    time: run.elapsed(),
    lr,
    losses,
    gradNorm,
  };
  if (Object.keys(metrics).length) rec.metrics = metrics;
  return rec;
}

// The end of an epoch: evaluate on the test split, write the checkpoint, then the pictures (samples.png,
// density.png, loss.png). The checkpoint comes before anything that can fail for reasons of its own (a
// full disk, a path that is a directory): a picture that cannot be written is a warning, not a lost epoch.
import * as path from 'node:path';
import { Rng } from '../core/rng.js';
import { evaluate, formatEval } from '../eval/evaluate.js';
import {
  hasDensityPicture,
  hasSamplePicture,
  sampleLayout,
  writeDensity,
  writeLossCurve,
  writeSamples,
} from './artifacts.js';
import type { Run } from './setup.js';

/** evaluate, checkpoint, draw (state.epoch has just been incremented) */
export async function endEpoch(run: Run): Promise<void> {
  const { model, cfg, ds, state } = run;
  const evalDue = state.epoch % cfg.evalEvery === 0 || state.epoch >= cfg.epochs;
  // models judged only by their samples (density none | unnormalized) are not evaluated each epoch: 10,000
  // samples (FID) cost more than an epoch; `eval` / `reproduce` measure them once
  const density = model.taxonomy.density;
  if (density !== 'none' && density !== 'unnormalized' && evalDue) {
    const res = await run.withEma(() =>
      evaluate(model, ds, {
        split: 'test',
        batchSize: Math.max(cfg.batchSize, 256),
        seed: cfg.seed,
        maxN: cfg.evalLimit,
        iw: cfg.evalIw,
        progress: run.opts.progress ?? 'auto',
        ...(run.opts.distributed ? { shard: run.opts.distributed } : {}),
      }),
    );
    run.lastEval = res;
    run.log(`epoch ${state.epoch}: ${formatEval(res)}`);
    run.append({ type: 'eval', step: state.step, epoch: state.epoch, time: run.elapsed(), ...res });
    const m0 = res.metrics[0]; // none for an unnormalized density (sample metrics only)
    if (m0) {
      run.evalHistory.push({ step: state.step, nats: m0.nats });
      state.last = { [`test_${m0.name}`]: m0.nats };
      const best = state.best?.[`test_${m0.name}`];
      if (best === undefined || m0.nats < best) state.best = { [`test_${m0.name}`]: m0.nats };
    }
  }
  run.save();
  if (run.opts.images ?? true) await writeEpochPictures(run);
}

/** the first (up to) 2000 test points, model space */
function testPoints(run: Run): Float32Array {
  const { ds, cfg } = run;
  const m = Math.min(ds.test.n, 2000);
  return ds.prepare(ds.test.x.slice(0, m * 2), { split: 'test', epoch: 0, seed: cfg.seed, offset: 0 });
}

/**
 * samples.png (+ samples/epoch-NNN.png for images), density.png (2-D exact densities), loss.png. Each
 * picture that cannot be written is a warning (in the log and metrics.jsonl); the others are still tried.
 */
export async function writeEpochPictures(run: Run): Promise<void> {
  const { model, cfg, ds, state, outDir } = run;
  const s = model.spec;
  const attempt = async (file: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      run.warn(
        `${file} of epoch ${state.epoch} not written: ${(e as Error).message.split('\n')[0]} (the checkpoint is saved)`,
      );
    }
  };
  if (cfg.sampleN > 0 && hasSamplePicture(s))
    await attempt('samples.png', async () => {
      const layout = sampleLayout(model, cfg.sampleN);
      const seed = new Rng(cfg.seed ^ 0x5eed).nextSeed(); // the same noise every epoch: progress is visible
      const res = await run.withEma(() =>
        writeSamples(model, path.join(outDir, 'samples.png'), {
          ...layout,
          seed,
          toDisplay: (x) => ds.toDisplay(x),
          ...(s.kind === 'image'
            ? { copies: [path.join(outDir, 'samples', `epoch-${String(state.epoch).padStart(3, '0')}.png`)] }
            : { reference: ds.toDisplay(testPoints(run)), title: `${model.kind} epoch ${state.epoch}` }),
        }),
      );
      // a NaN/Inf sample is reported with its step, never drawn (or silently clipped) into samples.png
      if (res.nonFinite > 0)
        run.warn(
          `non-finite samples at step ${state.step} (epoch ${state.epoch}): ${res.nonFinite} of ${res.samples.length} values are NaN/Inf; samples.png not written`,
        );
    });
  if (hasDensityPicture(model))
    await attempt('density.png', async () => {
      const res = await run.withEma(() =>
        writeDensity(model, path.join(outDir, 'density.png'), {
          points: testPoints(run),
          title: `${model.kind} density epoch ${state.epoch}`,
        }),
      );
      if (res.nonFinite > 0)
        run.warn(
          `non-finite density at step ${state.step} (epoch ${state.epoch}): ${res.nonFinite} of ${res.grid.density.length} grid values; density.png not written`,
        );
    });
  await attempt('loss.png', async () => {
    await writeLossCurve(run.history, path.join(outDir, 'loss.png'), {
      names: run.objectives.map((o) => o.name),
      evals: run.evalHistory,
      evalName: model.taxonomy.density === 'bound' ? 'test -elbo' : 'test nll',
      title: `${model.kind} training`,
    });
  });
}

// One worker of the tensor-count check in dist.test.ts: `node leak-worker.js RANK PORT OUTDIR` trains a VAE
// for 15 data-parallel steps through train() and prints the live tensor count after every step (JSON).
import * as tf from '@tensorflow/tfjs-core';
import '../../src/families/index.js';
import { initBackend } from '../../src/backend/index.js';
import { resolveModel } from '../../src/core/registry.js';
import { loadDataset } from '../../src/data/index.js';
import { ProcessGroup } from '../../src/distributed/group.js';
import { distributedHooks } from '../../src/distributed/train.js';
import { makeTrainConfig, train } from '../../src/train/loop.js';

const [rank, port, out] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]!];
await initBackend('torch', { quiet: true, threads: 1 });
const pg = ProcessGroup.init({ host: '127.0.0.1', port, rank, size: 2, timeoutMs: 60_000 });
const ds = loadDataset({ name: 'moons', options: {} });
const model = resolveModel('vae', {}).create(ds.spec, 0);
const counts: number[] = [];
await train({
  model,
  dataset: ds,
  outDir: out,
  config: makeTrainConfig({ epochs: 1, batchSize: 64, limit: 1280, maxSteps: 15 }),
  distributed: distributedHooks(pg),
  progress: 'none',
  images: false,
  log: () => {},
  onStep: () => counts.push(tf.memory().numTensors),
});
pg.destroy();
model.dispose();
process.stdout.write(JSON.stringify({ counts, comm: pg.calls }) + '\n');

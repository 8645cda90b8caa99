// Sharding without processes: the union of the workers' shards of every batch is the single-process
// batch (rows and their data preparation), the weights of a batch sum to one, and the split-invariant noise
// of a worker's rows is those rows of the global batch's draw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.js';
import { batches, loadDataset } from '../../src/data/index.js';
import { batchRandomNormal, withBatchRows } from '../../src/distributed/rows.js';

test('shards of each batch: union = the single-process batch, weights sum to 1, an empty shard weighs 0', () => {
  const ds = loadDataset({ name: 'moons', options: { nTrain: 203 } });
  for (const size of [2, 3, 5]) {
    const whole = [...batches(ds, 'train', 64, { epoch: 3, seed: 7 })];
    const parts = Array.from({ length: size }, (_, rank) => [
      ...batches(ds, 'train', 64, { epoch: 3, seed: 7, shard: { rank, size } }),
    ]);
    for (const p of parts) assert.equal(p.length, whole.length, 'every worker sees every batch');
    whole.forEach((b, i) => {
      const got: number[] = [];
      let w = 0;
      for (const p of parts) {
        const s = p[i]!;
        assert.ok(s.shard, 'sharded batches say where their rows are');
        w += s.shard.weight;
        if (s.shard.weight > 0) {
          assert.equal(s.shard.total, b.n);
          assert.equal(s.shard.weight, s.n / b.n);
          got.push(...s.x);
        }
      }
      assert.ok(Math.abs(w - 1) < 1e-12, `weights of batch ${i} sum to ${w}`);
      assert.deepEqual(got, [...b.x], `batch ${i} over ${size} workers`);
    });
  }
  // a last batch of 203 - 3 * 64 = 11 rows over 16 workers: 5 empty shards, one row each, weighted out
  const last = Array.from({ length: 16 }, (_, rank) =>
    [...batches(ds, 'train', 64, { epoch: 0, seed: 1, shard: { rank, size: 16 } })].at(-1)!,
  );
  assert.equal(last.filter((b) => b.shard!.weight === 0).length, 5);
  for (const b of last) assert.equal(b.n, 1);
});

test('split-invariant noise: a worker draws its rows of the global batch', async () => {
  await initBackend('cpu', { quiet: true });
  const full = tf.randomNormal([10, 3], 0, 1, 'float32', 42).arraySync() as number[][];
  const part = withBatchRows({ offset: 4, n: 3, total: 10 }, () => batchRandomNormal([3, 3], 0, 1, 42));
  assert.deepEqual(part.arraySync(), full.slice(4, 7));
  // other shapes, and outside a sharded step: the plain draw
  const plain = tf.randomNormal([3, 3], 0, 1, 'float32', 42).arraySync();
  assert.deepEqual(batchRandomNormal([3, 3], 0, 1, 42).arraySync(), plain);
  assert.notDeepEqual(part.arraySync(), plain);
});

// genmodels encode / decode: token files (JSON and safetensors) hold the model's nearest-code grids, read back
// to the same integers, and decode to the decoder means of those codes; bad token files are one-line errors.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../../src/core/model.js';
import { batches, loadDataset } from '../../../src/data/index.js';
import '../../../src/families/index.js';
import { VQVAE } from '../../../src/families/latent/vqvae.js';
import { decodeToFile, encodeToFile, readTokens, writeTokens } from '../../../src/api/tokens.js';
import { loadCheckpoint } from '../../../src/train/checkpoint.js';
import { makeTrainConfig, train } from '../../../src/train/loop.js';
import { useCpu } from './helpers.js';

before(useCpu);

const quiet = { progress: 'none' as const, log: () => {} };
const opts = { backend: 'cpu', log: () => {} };

test('encode writes the nearest-code grids (JSON = safetensors), decode gives their decoder means', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-vqtok-'));
  const run = path.join(dir, 'run');
  const ds = loadDataset({ name: 'mnist-fixture', options: { binarize: 'dynamic' } });
  const m = new VQVAE(
    'vqvae',
    { codes: 6, codeDim: 2, channels: [4, 4], priorOptions: { channels: 4, blocks: 1, headChannels: 4 } },
    ds.spec,
    1,
  );
  const cfg = makeTrainConfig({ epochs: 1, batchSize: 16, seed: 1, limit: 32, evalLimit: 8, sampleN: 4 });
  await train({ model: m, dataset: ds, outDir: run, config: cfg, images: false, ...quiet });
  m.dispose();

  const json = path.join(dir, 'tok.json');
  const st = path.join(dir, 'tok.safetensors');
  const fig = path.join(dir, 'fig.png');
  const s = await encodeToFile(run, { out: json, limit: 20, batchSize: 8, figure: fig, figureN: 4, ...opts });
  await encodeToFile(run, { out: st, limit: 20, ...opts });
  assert.equal(s.n, 20);
  assert.deepEqual(s.grid, [7, 7]);
  assert.ok(s.used >= 1 && s.used <= 6 && s.perplexity >= 1 && s.perplexity <= s.used + 1e-9);
  assert.ok(s.mse > 0 && s.mse < 1 && s.reconNats > 0);
  assert.ok(fs.statSync(fig).size > 0);
  const a = readTokens(json);
  const b = readTokens(st);
  assert.deepEqual(a.shape, [20, 7, 7]);
  assert.deepEqual(Array.from(a.tokens), Array.from(b.tokens));
  assert.deepEqual(Array.from(a.labels!), Array.from(b.labels!));
  assert.equal(a.codes, 6);
  assert.equal(b.codes, 6);

  // the same grids as the model's own encodeTokens on the same (prepared) test images
  const ck = loadCheckpoint(run);
  const model = ck.model as VQVAE;
  const first = batches(ds, 'test', 20, { epoch: 0, seed: 0, shuffle: false }).next().value!;
  const want = tf.tidy(() => model.encodeTokens(tf.tensor(first.x, [20, 28, 28, 1])).dataSync());
  assert.deepEqual(Array.from(a.tokens), Array.from(want));
  assert.deepEqual(Array.from(a.labels!), Array.from(first.y!));
  // the scored reconstruction error is that of these codes
  const mse = tf.tidy(() => {
    const x = tf.tensor(first.x, [20, 28, 28, 1]);
    return tf.mean(tf.square(tf.sub(model.decodeTokens(model.encodeTokens(x)), x))).dataSync()[0]!;
  });
  assert.ok(Math.abs(mse - s.mse) < 1e-5, `${mse} vs ${s.mse}`);

  // decode: CSV rows are E[x | z_q] of the file's codes (binarized MNIST displays as itself)
  const csv = path.join(dir, 'dec.csv');
  await decodeToFile(run, json, { out: csv, batchSize: 7, ...opts });
  const rows = fs.readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(rows.length, 20);
  const dec = tf.tidy(() =>
    model.decodeTokens(tf.tensor3d(a.tokens, [20, 7, 7], 'int32')).arraySync(),
  ) as number[][][][];
  const row5 = rows[5]!.split(',').map(Number);
  dec[5]!.flat(2).forEach((v, i) => assert.ok(Math.abs(v - row5[i]!) < 1e-5));
  await decodeToFile(run, st, { out: path.join(dir, 'dec.png'), ...opts });

  // bad token files: out of range, wrong grid, wrong K
  const bad = path.join(dir, 'bad.json');
  const grid = Array.from({ length: 7 }, () => Array<number>(7).fill(0));
  grid[3]![3] = 6;
  fs.writeFileSync(bad, JSON.stringify({ codes: 6, tokens: [grid] }));
  await assert.rejects(decodeToFile(run, bad, { out: csv, ...opts }), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /token 6 .* outside 0\.\.5/);
    return true;
  });
  writeTokens(bad, { tokens: new Int32Array(4), shape: [1, 2, 2], codes: 6 });
  await assert.rejects(decodeToFile(run, bad, { out: csv, ...opts }), /grids are 2x2; this model's are 7x7/);
  writeTokens(st, { tokens: new Int32Array(49), shape: [1, 7, 7], codes: 8 });
  await assert.rejects(decodeToFile(run, st, { out: csv, ...opts }), /K=8 codes; this model has 6/);
  await assert.rejects(encodeToFile(run, { out: path.join(dir, 'x.npy'), ...opts }), UserError);
  ck.model.dispose();
});

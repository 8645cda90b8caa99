// The pictures of a run (src/train/artifacts.ts): sample grids hold the samples' pixels, NaN samples are
// never drawn, the density grid integrates to one, loss curves need two records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PNG } from 'pngjs';
import type { GenerativeModel } from '../../src/core/model.js';
import type { DataSpec } from '../../src/data/spec.js';
import {
  densityGrid,
  lossSeries,
  sampleLayout,
  writeDensity,
  writeLossCurve,
  writeSamples,
} from '../../src/train/artifacts.js';
import type { StepRecord } from '../../src/train/types.js';
import { DiagGauss } from './tiny.js';

await tf.setBackend('cpu');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-art-'));
const IMG: DataSpec = { kind: 'image', shape: [2, 3, 1], domain: 'unit' };
const VEC2: DataSpec = { kind: 'vector', shape: [2], domain: 'real' };

test('writeSamples: an image grid of exactly the samples (clipped to [0, 1]), copies included', async () => {
  const m = new DiagGauss(IMG, {}, 3);
  const dir = tmp();
  const file = path.join(dir, 'samples.png');
  const copy = path.join(dir, 'samples', 'epoch-001.png');
  const res = await writeSamples(m, file, { n: 4, seed: 9, nrow: 2, copies: [copy] });
  assert.equal(res.written, true);
  const again = (await tf.tidy(() => m.sample(4, { seed: 9 })).data()) as Float32Array;
  assert.deepEqual(res.samples, again);
  const p = PNG.sync.read(fs.readFileSync(file));
  const s = 56 / 2; // default scale: a 2-pixel-high image is shown 56 pixels high
  assert.equal(p.width, 2 * (3 * s + 2) + 2);
  assert.equal(p.height, 2 * (2 * s + 2) + 2);
  // sample 3 (row 1, col 1), pixel (y=1, x=2)
  const v = res.samples[3 * 6 + 1 * 3 + 2]!;
  const X = 2 + (3 * s + 2) + 2 * s + 1;
  const Y = 2 + (2 * s + 2) + 1 * s + 1;
  assert.equal(p.data[(Y * p.width + X) * 4], Math.round(255 * Math.min(1, Math.max(0, v))));
  assert.deepEqual(fs.readFileSync(copy), fs.readFileSync(file));
  m.dispose();
});

test('writeSamples: NaN samples are reported and nothing is written', async () => {
  const m = new DiagGauss(VEC2, {}, 1);
  m.mu.assign(tf.tensor1d([NaN, 0]));
  const file = path.join(tmp(), 'samples.png');
  const res = await writeSamples(m, file, { n: 8, seed: 1 });
  assert.equal(res.written, false);
  assert.equal(res.nonFinite, 8);
  assert.equal(fs.existsSync(file), false);
  m.dispose();
});

test('sampleLayout: one row per class for a conditional model', () => {
  const cond = {
    taxonomy: { conditional: true },
    spec: { ...VEC2, numClasses: 3 },
  } as unknown as GenerativeModel;
  assert.deepEqual(sampleLayout(cond, 10), { n: 9, labels: [0, 0, 0, 1, 1, 1, 2, 2, 2], nrow: 3 });
  assert.deepEqual(sampleLayout(cond, 2), { n: 3, labels: [0, 1, 2], nrow: 1 });
  const plain = { taxonomy: { conditional: false }, spec: VEC2 } as unknown as GenerativeModel;
  assert.deepEqual(sampleLayout(plain, 10), { n: 10 });
});

test('densityGrid integrates to one over a box holding the mass, peaks at the mean; writeDensity draws it', async () => {
  const m = new DiagGauss(VEC2, {}, 5);
  m.mu.assign(tf.tensor1d([1, -2]));
  m.logSigma.assign(tf.tensor1d([Math.log(0.5), Math.log(2)]));
  // points spanning ±4 sigma: with the 15% padding the box holds all but ~1e-4 of the mass
  const pts = new Float32Array([1 - 2, -2 - 8, 1 + 2, -2 + 8]);
  const g = densityGrid(m, pts, 200);
  const cell = ((g.xRange[1] - g.xRange[0]) / g.n) * ((g.yRange[1] - g.yRange[0]) / g.n);
  const mass = g.density.reduce((a, b) => a + b, 0) * cell;
  assert.ok(Math.abs(mass - 1) < 2e-3, `mass ${mass}`);
  let best = 0;
  for (let i = 1; i < g.density.length; i++) if (g.density[i]! > g.density[best]!) best = i;
  const cx = g.xRange[0] + ((best % g.n) + 0.5) * ((g.xRange[1] - g.xRange[0]) / g.n);
  const cy = g.yRange[0] + (Math.floor(best / g.n) + 0.5) * ((g.yRange[1] - g.yRange[0]) / g.n);
  assert.ok(Math.abs(cx - 1) < 0.05 && Math.abs(cy + 2) < 0.15, `peak at ${cx}, ${cy}`);
  const file = path.join(tmp(), 'density.png');
  const res = await writeDensity(m, file, { points: pts, n: 50 });
  assert.equal(res.written, true);
  assert.ok(PNG.sync.read(fs.readFileSync(file)).width > 400);
  m.dispose();
});

test('an energy model without log Z: the grid density is exp(-E) normalized on the grid, equal to the exact one', () => {
  // E(x) = -log N(x; mu, sigma) + c for a constant c the grid normalization must remove
  const exact = new DiagGauss(VEC2, {}, 5);
  exact.mu.assign(tf.tensor1d([0.5, -1]));
  exact.logSigma.assign(tf.tensor1d([Math.log(0.7), Math.log(1.3)]));
  const energyModel = Object.create(exact) as GenerativeModel;
  Object.defineProperty(energyModel, 'taxonomy', {
    value: { ...exact.taxonomy, family: 'energy', density: 'unnormalized' },
  });
  Object.defineProperty(energyModel, 'logProb', { value: undefined }); // only the energy is known
  energyModel.energy = (x) => tf.tidy(() => tf.add(tf.neg(exact.logProb(x)), 17.5) as tf.Tensor1D);
  const pts = new Float32Array([0.5 - 2.8, -1 - 5.2, 0.5 + 2.8, -1 + 5.2]);
  const want = densityGrid(exact, pts, 120);
  const got = densityGrid(energyModel, pts, 120);
  let maxErr = 0;
  let peak = 0;
  for (let i = 0; i < got.density.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(got.density[i]! - want.density[i]!));
    peak = Math.max(peak, want.density[i]!);
  }
  // the grid holds all but ~1e-4 of the mass, so the two agree to that share of the peak
  assert.ok(maxErr < 2e-3 * peak, `max |difference| ${maxErr} against a peak of ${peak}`);
  exact.dispose();
});

test('writeLossCurve: nothing for one record; series per objective plus the evaluations', async () => {
  const rec = (step: number, nll: number): StepRecord => ({
    type: 'train',
    step,
    epoch: 0,
    time: 0,
    lr: 1e-3,
    losses: { nll },
    gradNorm: { nll: 1 },
  });
  const file = path.join(tmp(), 'loss.png');
  assert.equal(await writeLossCurve([rec(1, 3)], file), false);
  assert.equal(fs.existsSync(file), false);
  const hist = [rec(1, 3), rec(2, 2.5), rec(3, 2.2)];
  const series = lossSeries(hist, { evals: [{ step: 3, nats: 2.4 }], evalName: 'test -elbo' });
  assert.deepEqual(
    series.map((s) => [s.name, s.x, s.y]),
    [
      ['nll loss', [1, 2, 3], [3, 2.5, 2.2]],
      ['test -elbo', [3], [2.4]],
    ],
  );
  assert.equal(await writeLossCurve(hist, file, { evals: [{ step: 3, nats: 2.4 }] }), true);
  assert.ok(PNG.sync.read(fs.readFileSync(file)).width > 400);
});

// Improved precision/recall (src/eval/precision-recall.ts) and 2-D mode coverage (src/eval/modes.ts).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '../../src/core/rng.js';
import { toyModes } from '../../src/data/toy.js';
import { modeStats } from '../../src/eval/modes.js';
import { kthNeighbourSqRadii, precisionRecall } from '../../src/eval/precision-recall.js';

before(async () => {
  await tf.setBackend('cpu');
});

function gauss(n: number, d: number, seed: number, shift = 0, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * d }, () => shift + scale * rng.normal());
}

test('k-th neighbour radii agree with a brute-force computation', () => {
  const n = 60;
  const d = 3;
  const x = gauss(n, d, 1);
  const r = kthNeighbourSqRadii(x, n, d, 3);
  for (let i = 0; i < n; i++) {
    const ds: number[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let c = 0; c < d; c++) s += (x[i * d + c]! - x[j * d + c]!) ** 2;
      ds.push(s);
    }
    ds.sort((a, b) => a - b);
    assert.ok(Math.abs(r[i]! - ds[2]!) < 1e-4 * (1 + ds[2]!), `row ${i}: ${r[i]} vs ${ds[2]}`);
  }
});

test('identical sets: precision = recall = 1; far disjoint sets: 0', () => {
  const x = gauss(300, 8, 2);
  const same = precisionRecall(x, 300, x, 300, 8);
  assert.equal(same.precision, 1);
  assert.equal(same.recall, 1);
  const far = gauss(300, 8, 3, 100);
  const apart = precisionRecall(x, 300, far, 300, 8);
  assert.equal(apart.precision, 0);
  assert.equal(apart.recall, 0);
});

test('a collapsed generator has high precision and low recall', () => {
  const real = gauss(400, 2, 4);
  const collapsed = gauss(400, 2, 5, 0, 0.05); // all samples near the center of the real data
  const pr = precisionRecall(real, 400, collapsed, 400, 2);
  assert.ok(pr.precision > 0.85, `precision ${pr.precision}`);
  assert.ok(pr.recall < 0.2, `recall ${pr.recall}`);
});

test('modes: perfect samples cover 8/8 with high quality ~ 98.9%; a collapsed set covers 1', () => {
  const m = toyModes('8gaussians')!;
  const rng = new Rng(6);
  const n = 4000;
  const good = new Float32Array(2 * n);
  const collapsed = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = m.centers[i % 8]!;
    good[2 * i] = c[0]! + m.std * rng.normal();
    good[2 * i + 1] = c[1]! + m.std * rng.normal();
    collapsed[2 * i] = m.centers[3]![0]! + m.std * rng.normal();
    collapsed[2 * i + 1] = m.centers[3]![1]! + m.std * rng.normal();
  }
  const g = modeStats(good, n, m);
  assert.equal(g.covered, 8);
  // P(chi^2_2 <= 9) = 1 - exp(-4.5) = 0.9889
  assert.ok(Math.abs(g.highQuality - (1 - Math.exp(-4.5))) < 0.01, `hq ${g.highQuality}`);
  const c = modeStats(collapsed, n, m);
  assert.equal(c.covered, 1);
  assert.equal(c.counts[3], Math.round(c.highQuality * n));
  // points midway between two modes are neither high-quality nor covering
  const mid = Float32Array.from({ length: 2 * n }, (_, i) =>
    i % 2 === 0 ? 2 * Math.cos(Math.PI / 8) : 2 * Math.sin(Math.PI / 8),
  );
  const b = modeStats(mid, n, m);
  assert.equal(b.highQuality, 0);
  assert.equal(b.covered, 0);
});

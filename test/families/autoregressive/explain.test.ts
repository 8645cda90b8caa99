// `genmodels explain`: the closed-form counts and the counts read from the built models.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { modelEntry } from '../../../src/core/model.js';
import { explainCounts } from '../../../src/families/autoregressive/index.js';
import type { Autoregressive } from '../../../src/families/autoregressive/index.js';
import { setup } from './helpers.js';

before(setup);

test('full joint / independent / Markov counts; 2^n - 1 exact beyond 2^53', () => {
  const rows = explainCounts(9, []);
  assert.deepEqual(
    rows.map((r) => [r.name, r.count]),
    [
      ['full joint', '511'],
      ['independent', '9'],
      ['Markov chain', '17'],
    ],
  );
  assert.equal(explainCounts(64, [])[0]!.count, '18446744073709551615');
  assert.equal(explainCounts(784, [])[0]!.count, '1.017e236');
});

test('learned models: counts are the sizes of their variables; masks free (k^2 -+ 1)/2 kernel taps', () => {
  const spec = { kind: 'image' as const, shape: [3, 3, 1], domain: 'binary' as const };
  const cfg = { channels: 8, blocks: 2, firstKernel: 5, kernel: 3, headChannels: 4 };
  const m = modelEntry('pixelcnn').create(cfg, spec, 0) as Autoregressive;
  let total = 0;
  for (const v of m.variables().values()) total += v.size;
  const { total: t, free } = m.parameterCount();
  assert.equal(t, total);
  // mask A keeps (25 - 1) / 2 = 12 of 25 taps, mask B (9 + 1) / 2 = 5 of 9 taps
  const fixed = (25 - 12) * 1 * 8 + 2 * (9 - 5) * 4 * 4;
  assert.equal(free, total - fixed);
  m.dispose();
  // MADE with one hidden layer of D - 1 units, degrees 1..D-1: input d (degree d) feeds units of degree >= d,
  // output d reads units of degree < d -> sum_d (D - d) + sum_d (d - 1) = D (D - 1) free weights
  const made = modelEntry('made').create({ hidden: [8] }, spec, 0) as Autoregressive;
  const mc = made.parameterCount();
  const D = 9;
  assert.equal(mc.total - mc.free, 2 * D * 8 - D * (D - 1));
  made.dispose();
  const rows = explainCounts(9, ['made']);
  assert.equal(rows[3]!.name, 'made');
});

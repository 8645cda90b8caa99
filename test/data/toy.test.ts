// 2D toy densities: deterministic by seed, sizes, modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset, parseDataArg, TOY_NAMES, toyModes } from '../../src/data/index.js';

test('toys are deterministic by seed, with the default sizes and a 2D spec', () => {
  for (const name of TOY_NAMES) {
    const a = loadDataset(parseDataArg(name));
    const b = loadDataset(parseDataArg(name));
    const c = loadDataset(parseDataArg(name, { seed: 1 }));
    assert.equal(a.train.n, 10000, name);
    assert.equal(a.test.n, 2000, name);
    assert.deepEqual(a.spec.shape, [2]);
    assert.equal(a.spec.domain, 'real');
    assert.deepEqual(a.train.x, b.train.x, name);
    assert.notDeepEqual(a.train.x.subarray(0, 10), c.train.x.subarray(0, 10), name);
    assert.notDeepEqual(a.train.x.subarray(0, 10), a.test.x.subarray(0, 10), name);
    assert.ok(a.train.x.every(Number.isFinite), name);
    assert.ok(
      a.train.x.every((v) => Math.abs(v) < 6),
      `${name} lives in [-6, 6]^2`,
    );
  }
  assert.equal(loadDataset(parseDataArg('moons', { nTrain: 50, nTest: 7 })).test.n, 7);
});

test('8gaussians / 25gaussians: points lie near their labelled mode; every mode is used', () => {
  for (const name of ['8gaussians', '25gaussians']) {
    const ds = loadDataset(parseDataArg(name));
    const modes = toyModes(name)!;
    assert.equal(modes.centers.length, name === '8gaussians' ? 8 : 25);
    assert.equal(ds.spec.numClasses, modes.centers.length);
    const counts = new Array(modes.centers.length).fill(0);
    for (let i = 0; i < ds.train.n; i++) {
      const c = modes.centers[ds.train.y![i]!]!;
      const d = Math.hypot(ds.train.x[2 * i]! - c[0]!, ds.train.x[2 * i + 1]! - c[1]!);
      assert.ok(d < 6 * modes.std, `${name} point ${i} is ${d} from its mode`);
      counts[ds.train.y![i]!]++;
    }
    const expect = ds.train.n / modes.centers.length;
    counts.forEach((k) => assert.ok(Math.abs(k - expect) < 5 * Math.sqrt(expect), `${name}: ${counts}`));
  }
  assert.equal(toyModes('moons'), null);
  assert.equal(toyModes('8gaussians', { noise: 0.3 })!.std, 0.3);
});

test('checkerboard points lie on the dark squares; rings on their circles', () => {
  const cb = loadDataset(parseDataArg('checkerboard'));
  for (let i = 0; i < cb.train.n; i++) {
    const col = Math.floor(cb.train.x[2 * i]! + 2);
    const row = Math.floor(cb.train.x[2 * i + 1]! + 2);
    assert.ok(col >= 0 && col < 4 && row >= 0 && row < 4 && (col + row) % 2 === 0);
  }
  const rings = loadDataset(parseDataArg('rings', { noise: 0 }));
  for (let i = 0; i < 100; i++) {
    const r = Math.hypot(rings.train.x[2 * i]!, rings.train.x[2 * i + 1]!);
    assert.ok(Math.abs(r - 0.75 * (rings.train.y![i]! + 1)) < 1e-5);
  }
});

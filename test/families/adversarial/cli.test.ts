// End to end through the genmodels command (child processes): a DCGAN trains on the MNIST fixture with a
// sample grid per epoch and a checkpoint, `eval` prints FID with its floor, precision and recall; a cGAN's eval
// reports label accuracy; a GAN on the 8-gaussian ring reports modes covered; train-classifier's help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');
const env = { ...process.env, GENMODELS_THREADS: '1' };
const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd, env, timeout: 300_000 });

test('dcgan / cgan on the MNIST fixture: per-epoch grids, checkpoints, FID + floor, label accuracy', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gan-cli-'));
  try {
    const small = ['--set', 'channels=[4,8]', '--set', 'latentDim=8', '--set', 'data.binarize=none'];
    const t = cli(
      [
        'train',
        'dcgan',
        '--data',
        'mnist-fixture',
        '--epochs',
        '2',
        '--batch-size',
        '100',
        '--lr',
        '2e-4',
        ...small,
        '--out',
        'dc',
      ],
      dir,
    );
    assert.equal(t.status, 0, t.stderr);
    for (const f of [
      'samples/epoch-001.png',
      'samples/epoch-002.png',
      'checkpoint/config.json',
      'metrics.jsonl',
    ])
      assert.ok(fs.existsSync(path.join(dir, 'dc', f)), f);
    const e = cli(['eval', 'dc', '--samples', '100'], dir);
    assert.equal(e.status, 0, e.stderr);
    assert.match(
      e.stdout,
      /^samples \(n=100\): FID [\d.]+ \(floor: real train vs test [\d.]+; features of the mnist classifier, test accuracy [\d.]+%\); precision [\d.]+, recall [\d.]+/,
    );
    const c = cli(
      [
        'train',
        'cgan',
        '--data',
        'mnist-fixture',
        '--epochs',
        '1',
        '--batch-size',
        '100',
        ...small,
        '--out',
        'c',
      ],
      dir,
    );
    assert.equal(c.status, 0, c.stderr);
    const ce = cli(['eval', 'c', '--samples', '50', '--json'], dir);
    assert.equal(ce.status, 0, ce.stderr);
    const r = JSON.parse(ce.stdout) as { density: string; samples: { labelAccuracy: number; fid: number } };
    assert.equal(r.density, 'none');
    assert.ok(r.samples.labelAccuracy >= 0 && r.samples.labelAccuracy <= 1);
    assert.ok(r.samples.fid > 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('gan on the 8-gaussian ring: eval reports modes covered; train-classifier --help', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gan-cli-'));
  try {
    const t = cli(
      [
        'train',
        'gan',
        '--data',
        '8gaussians',
        '--epochs',
        '1',
        '--set',
        'data.nTrain=512',
        '--set',
        'mbdKernels=3',
        '--out',
        'g',
      ],
      dir,
    );
    assert.equal(t.status, 0, t.stderr);
    const e = cli(['eval', 'g'], dir);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /modes covered \d\/8 \(>= \d+ samples within 3 std\), high-quality [\d.]+%/);
    const h = cli(['train-classifier', '--help'], dir);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /usage: genmodels train-classifier --data mnist\|fashion-mnist/);
    const bad = cli(['train-classifier', '--data', 'moons'], dir);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^genmodels: error: train-classifier needs --data mnist or fashion-mnist\n$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Flow models: registry and taxonomy, whole-model invertibility and log-likelihood vs a numerical Jacobian
// (multi-scale RealNVP / Glow on tiny images), ActNorm data-dependent init that survives save -> load,
// a trained 2D density integrating to 1, bits/dim of the original 8-bit data through evaluate(),
// temperature, conditional labels, and non-finite samples reported (loop and CLI), never written.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { UserError, modelEntry } from '../../../src/core/model.js';
import type { DataSpec } from '../../../src/data/spec.js';
import { loadDataset } from '../../../src/data/index.js';
import { evaluate } from '../../../src/eval/evaluate.js';
import '../../../src/families/index.js';
import { ActNorm } from '../../../src/families/flows/actnorm.js';
import type { FlowModel } from '../../../src/families/flows/flow.js';
import type { Compose } from '../../../src/families/flows/transform.js';
import { loadCheckpoint, saveCheckpoint } from '../../../src/train/checkpoint.js';
import { makeTrainConfig, train } from '../../../src/train/loop.js';
import { logAbsDet, maxAbsDiff, numericalJacobian, perturb, useBackend } from './helpers.js';

before(useBackend);

const IMG: DataSpec = { kind: 'image', shape: [4, 4, 2], domain: 'real', numClasses: 3 };
const VEC: DataSpec = { kind: 'vector', shape: [2], domain: 'real', numClasses: 3 };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-flows-'));
const create = (kind: string, spec: DataSpec, cfg: Record<string, unknown> = {}, seed = 1) =>
  modelEntry(kind).create({ ...modelEntry(kind).defaults, ...cfg }, spec, seed) as FlowModel;
const ctx = { step: 0, epoch: 0, seed: () => 1, training: true };
const LOG2PI = Math.log(2 * Math.PI);

test('registry: kinds, taxonomy, accepted data', () => {
  for (const kind of ['realnvp', 'nice', 'glow', 'maf', 'nsf']) {
    const m = create(kind, VEC);
    assert.equal(m.taxonomy.family, 'flow');
    assert.equal(m.taxonomy.density, 'exact');
    assert.equal(m.taxonomy.latent, true);
    assert.equal(m.taxonomy.sampling, kind === 'maf' ? 'iterative' : 'direct');
    assert.equal(m.taxonomy.conditional, false);
    assert.equal(create(kind, VEC, { conditional: true }).taxonomy.conditional, true);
    // the resolved config rebuilds the same variables
    assert.deepEqual([...create(kind, VEC, m.config).variables().keys()], [...m.variables().keys()]);
    const e = modelEntry(kind);
    assert.match(e.accepts({ kind: 'vector', shape: [1], domain: 'real' }) ?? '', /at least 2/);
    assert.match(
      e.accepts({ kind: 'image', shape: [28, 28, 1], domain: 'binary' }) ?? '',
      /continuous|vector/,
    );
  }
  assert.equal(modelEntry('realnvp').accepts({ kind: 'image', shape: [28, 28, 1], domain: 'unit' }), null);
  assert.notEqual(modelEntry('maf').accepts({ kind: 'image', shape: [28, 28, 1], domain: 'unit' }), null);
  assert.throws(
    () => create('realnvp', { kind: 'vector', shape: [2], domain: 'real' }, { conditional: true }),
    UserError,
  );
  assert.throws(() => create('glow', IMG, { levels: 3 }), UserError);
});

/** perturbed multi-scale models on [4, 4, 2] images and the 2D vector models */
const MODELS: [string, DataSpec, Record<string, unknown>][] = [
  ['realnvp', IMG, { hidden: 8, depth: 2 }],
  ['nice', IMG, { hidden: 8, depth: 1 }],
  ['glow', { ...IMG, shape: [8, 8, 1] }, { hidden: 8, depth: 2, levels: 2 }],
  ['glow', IMG, { hidden: 8, depth: 2, conditional: true }],
  [
    'glow',
    { ...IMG, shape: [8, 8, 2] },
    { hidden: 8, depth: 1, levels: 2, prior: 'learned', conditional: true },
  ],
  ['realnvp', IMG, { hidden: 8, depth: 1, prior: 'learned' }],
  ['maf', { ...VEC, shape: [4] }, { hidden: 16, layers: 3, conditional: true }],
  ['nsf', { ...VEC, shape: [3] }, { hidden: 16, layers: 3, bins: 5, tailBound: 3 }],
];

for (const [kind, spec, cfg] of MODELS) {
  const label = `${kind}${cfg.conditional ? ' (conditional)' : ''}${cfg.prior ? ` (${cfg.prior} prior)` : ''} [${spec.shape}]`;
  test(`${label}: decode(encode(x)) = x; logProb = log N(f(x)) + log|det J| (numerical)`, () => {
    const m = create(kind, spec, cfg, 5);
    const n = 2;
    const x = tf.randomNormal([n, ...spec.shape], 0, 1, 'float32', 3);
    const y = m.taxonomy.conditional ? tf.tensor1d([2, 0], 'int32') : undefined;
    m.objectives()[0]!.loss({ x, ...(y ? { y } : {}) }, ctx); // ActNorm data init
    perturb(m.flow, 0.05, 9);
    const z = m.encode(x, y);
    assert.deepEqual(z.shape, [n, m.D]);
    assert.ok(maxAbsDiff(m.decode(z, y), x) < 1e-4, `reconstruction error ${maxAbsDiff(m.decode(z, y), x)}`);
    const lp = m.logProb(x, y).dataSync();
    const zv = z.dataSync();
    for (let i = 0; i < n; i++) {
      const xi = tf.slice(x, [i], [1]);
      const yi = y ? (tf.fill([2 * m.D], y.dataSync()[i]!, 'int32') as tf.Tensor1D) : undefined;
      const J = numericalJacobian((b) => m.encode(b, yi), xi, 3e-3);
      let logN = -0.5 * m.D * LOG2PI;
      for (let j = 0; j < m.D; j++) logN -= 0.5 * zv[i * m.D + j]! ** 2;
      const expected = logN + logAbsDet(J, m.D);
      assert.ok(Math.abs(lp[i]! - expected) < 3e-2, `example ${i}: logProb ${lp[i]} vs ${expected}`);
    }
    // every trainable variable gets a finite, non-zero gradient of the training loss
    const obj = m.objectives()[0]!;
    const { grads } = tf.variableGrads(() => obj.loss({ x, ...(y ? { y } : {}) }, ctx).loss, obj.variables());
    for (const v of obj.variables()) {
      const g = grads[v.name];
      assert.ok(g, `no gradient for ${v.name}`);
      const gv = g.dataSync();
      assert.ok(gv.every(Number.isFinite) && gv.some((e) => e !== 0), `gradient of ${v.name}`);
    }
    assert.equal(Object.keys(grads).length, obj.variables().length);
    if (m.taxonomy.conditional) {
      // the label matters, and is required
      const other = m.logProb(x, tf.tensor1d([1, 1], 'int32')).dataSync();
      assert.ok(Math.abs(other[0]! - lp[0]!) > 1e-4);
      assert.throws(() => m.logProb(x), /conditional: labels are required/);
      assert.throws(() => m.sample(2, { label: 7 }), /out of range/);
    } else assert.throws(() => m.sample(2, { label: 1 }), /not conditional/);
    m.dispose();
  });
}

test('temperature: z = f(x) of samples at temperature T has standard deviation T; T = 0 is f^-1(0)', () => {
  const m = create('realnvp', IMG, { hidden: 8, depth: 1 });
  m.objectives()[0]!.loss({ x: tf.randomNormal([16, 4, 4, 2], 0, 1, 'float32', 1) }, ctx);
  perturb(m.flow, 0.1, 3);
  for (const T of [0.3, 1.5]) {
    const z = m.encode(m.sample(200, { temperature: T, seed: 4 }));
    const sd = Math.sqrt(tf.moments(z).variance.dataSync()[0]!);
    assert.ok(Math.abs(sd / T - 1) < 0.05, `T=${T}: std ${sd}`);
  }
  const s0 = m.sample(3, { temperature: 0 });
  const zero = m.decode(tf.zeros([1, 32]));
  for (let i = 0; i < 3; i++) assert.ok(maxAbsDiff(tf.slice(s0, [i], [1]), zero) < 1e-6);
});

test('ActNorm: data-dependent init on the first training batch only; the flag survives save -> load', () => {
  const spec: DataSpec = { kind: 'vector', shape: [2], domain: 'real' };
  const m = create('realnvp', spec, { layers: 2, hidden: 8 });
  const first = (m.flow as Compose).parts[0] as ActNorm;
  assert.ok(first instanceof ActNorm);
  assert.equal(first.isInitialized(), false);
  const x1 = tf.add(tf.mul(tf.randomNormal([64, 2], 0, 1, 'float32', 1), [3, 0.5]), [10, -2]);
  const lp0 = m.logProb(x1).dataSync()[0]; // evaluation does not initialize
  assert.equal(first.isInitialized(), false);
  m.objectives()[0]!.loss({ x: x1 }, ctx);
  assert.equal(first.isInitialized(), true);
  const h = first.forward(x1).y;
  const { mean, variance } = tf.moments(h, 0);
  mean.dataSync().forEach((v) => assert.ok(Math.abs(v) < 1e-4, `mean ${v}`));
  variance.dataSync().forEach((v) => assert.ok(Math.abs(v - 1) < 1e-3, `variance ${v}`));
  assert.notEqual(m.logProb(x1).dataSync()[0], lp0);
  const bias = first.bias.dataSync().slice();
  m.objectives()[0]!.loss({ x: tf.mul(x1, 5) }, ctx); // a second batch: no re-initialization
  assert.deepEqual(first.bias.dataSync(), bias);

  const dir = path.join(tmp(), 'ckpt');
  saveCheckpoint(dir, {
    model: m,
    data: { name: 'fake', options: {} },
    train: { seed: 1 },
    state: { epoch: 0, step: 1, stepInEpoch: 1, rng: { seed: 0, counter: 0 }, optim: {} },
    backend: 'cpu',
  } as Parameters<typeof saveCheckpoint>[1]);
  const loaded = loadCheckpoint(dir).model as FlowModel;
  const lfirst = (loaded.flow as Compose).parts[0] as ActNorm;
  assert.equal(lfirst.isInitialized(), true);
  assert.deepEqual(Array.from(loaded.logProb(x1).dataSync()), Array.from(m.logProb(x1).dataSync()));
  loaded.objectives()[0]!.loss({ x: tf.mul(x1, -3) }, ctx); // a resumed model must not re-initialize
  assert.deepEqual(lfirst.bias.dataSync(), bias);
  // control: a fresh model of the same seed does initialize from that batch (so the check above can fail)
  const fresh = create('realnvp', spec, { layers: 2, hidden: 8 });
  fresh.objectives()[0]!.loss({ x: tf.mul(x1, -3) }, ctx);
  assert.notDeepEqual(((fresh.flow as Compose).parts[0] as ActNorm).bias.dataSync(), bias);
});

/** integral of exp(logProb) over the box [-L, L]^2 by the midpoint rule on an n x n grid */
function mass(model: FlowModel, L: number, n: number): number {
  const g = new Float32Array(n * n * 2);
  const h = (2 * L) / n;
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      g[2 * (j * n + i)] = -L + (i + 0.5) * h;
      g[2 * (j * n + i) + 1] = -L + (j + 0.5) * h;
    }
  return tf.tidy(() => tf.sum(tf.exp(model.logProb(tf.tensor2d(g, [n * n, 2])))).dataSync()[0]! * h * h);
}

/** mean test NLL (nats) of the maximum-likelihood 2D Gaussian fitted to `train` (interleaved x,y rows) */
function gaussianNll(train: Float32Array, test: Float32Array): number {
  const n = train.length / 2;
  let [mx, my] = [0, 0];
  for (let i = 0; i < n; i++) [mx, my] = [mx + train[2 * i]! / n, my + train[2 * i + 1]! / n];
  let [sxx, sxy, syy] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const [dx, dy] = [train[2 * i]! - mx, train[2 * i + 1]! - my];
    [sxx, sxy, syy] = [sxx + (dx * dx) / n, sxy + (dx * dy) / n, syy + (dy * dy) / n];
  }
  const det = sxx * syy - sxy * sxy;
  const m = test.length / 2;
  let total = 0;
  for (let i = 0; i < m; i++) {
    const [dx, dy] = [test[2 * i]! - mx, test[2 * i + 1]! - my];
    total += 0.5 * ((syy * dx * dx - 2 * sxy * dx * dy + sxx * dy * dy) / det) + 0.5 * Math.log(det) + LOG2PI;
  }
  return total / m;
}

for (const kind of ['maf', 'nsf']) {
  test(`${kind} trained on moons: density.png + samples.png written; the density integrates to 1 (+-1e-2)`, async () => {
    const ds = loadDataset({ name: 'moons', options: { nTrain: 2048, nTest: 512 } });
    const model = create(kind, ds.spec, { hidden: 32, layers: 3 });
    const outDir = tmp();
    const r = await train({
      model,
      dataset: ds,
      outDir,
      config: makeTrainConfig({ epochs: 6, batchSize: 128, lr: 3e-3, sampleN: 64 }),
      progress: 'none',
      log: () => {},
    });
    // it beats the best single Gaussian (maximum-likelihood fit on the training split) on the test split
    const nll = r.lastEval!.metrics[0]!.nats;
    const gauss = gaussianNll(ds.train.x, ds.test.x);
    assert.ok(nll < gauss - 0.1, `test NLL ${nll} vs Gaussian fit ${gauss}`);
    for (const f of ['density.png', 'samples.png'])
      assert.ok(fs.statSync(path.join(outDir, f)).size > 1000, f);
    // moons lie in about [-2.5, 2.5] x [-2, 2]; mass beyond the box [-7, 7]^2 is negligible (checked: the
    // mass on [-9, 9]^2 is the same to 2e-3)
    const m7 = mass(model, 7, 280);
    const m9 = mass(model, 9, 360);
    assert.ok(Math.abs(m9 - m7) < 2e-3, `tail mass ${m9 - m7}`);
    assert.ok(Math.abs(m7 - 1) < 1e-2, `integral ${m7}`);
    model.dispose();
  });
}

test('bits/dim of the original 8-bit data: the identity flow at init gives the closed form', async () => {
  for (const logit of [null, 0.05]) {
    const ds = loadDataset({
      name: 'mnist-fixture',
      options: { dequantize: true, ...(logit ? { logit } : {}) },
    });
    const model = create('realnvp', ds.spec, { hidden: 4, depth: 1 });
    const n = 20;
    const r = await evaluate(model, ds, { split: 'test', maxN: n, batchSize: 10, progress: 'none' });
    // the same test rows, prepared as evaluate sees them; an untrained RealNVP is the identity map, so
    // log p(x) = sum_i log N(x_i; 0, 1), and the original data v = 256 * pixel (+ noise) have
    // log p(v) = log p(x) + sum_i log|dx_i/dv_i|
    const D = 784;
    const x = ds.prepare(ds.test.x.slice(0, n * D), { split: 'test', epoch: 0, seed: 0, offset: 0 });
    let total = 0;
    for (let k = 0; k < x.length; k++) {
      const xv = x[k]!;
      total += -0.5 * xv * xv - 0.5 * LOG2PI - Math.log(256);
      if (logit !== null) {
        const p = 1 / (1 + Math.exp(-xv)); // x = logit(p), p = alpha + (1 - 2 alpha) v / 256
        total += Math.log(1 - 2 * logit) - Math.log(p * (1 - p));
      }
    }
    const bpd = -total / n / (D * Math.LN2);
    assert.ok(
      Math.abs(r.metrics[0]!.bitsPerDim - bpd) < 1e-3 * bpd,
      `logit=${logit}: ${r.metrics[0]!.bitsPerDim} vs ${bpd}`,
    );
    model.dispose();
  }
});

test('non-finite samples: the loop reports them with the step and writes no samples.png; the CLI exits 1', async () => {
  const ds = loadDataset({ name: 'moons', options: { nTrain: 256, nTest: 64 } });
  const model = create('realnvp', ds.spec, { layers: 2, hidden: 8 });
  // an ActNorm that scales by exp(-100): finite densities, but sampling multiplies by exp(100) = Inf in float32
  const an = (model.flow as Compose).parts[0] as ActNorm;
  an.logs.assign(tf.fill([2], -100));
  an.initialized.assign(tf.scalar(1, 'int32'));
  const outDir = tmp();
  const lines: string[] = [];
  await train({
    model,
    dataset: ds,
    outDir,
    config: makeTrainConfig({ epochs: 1, batchSize: 128, lr: 1e-4 }),
    progress: 'none',
    log: (s) => lines.push(s),
  });
  assert.ok(
    lines.some((l) => /non-finite samples at step 2 \(epoch 1\)/.test(l)),
    lines.join('\n'),
  );
  assert.equal(fs.existsSync(path.join(outDir, 'samples.png')), false);
  const recs = fs
    .readFileSync(path.join(outDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(recs.some((r) => r.type === 'warning' && r.step === 2 && /non-finite samples/.test(r.message)));
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');
  const out = path.join(outDir, 'cli-samples.png');
  const res = spawnSync(process.execPath, [main, 'sample', outDir, '--out', out, '--n', '8'], {
    encoding: 'utf8',
    env: { ...process.env, GENMODELS_BACKEND: 'cpu' },
  });
  assert.equal(res.status, 1, res.stderr);
  assert.match(
    res.stderr,
    /^genmodels: error: \d+ of 16 sampled values are NaN\/Inf \(checkpoint step 2\); nothing written/,
  );
  assert.equal(fs.existsSync(out), false);
});

test('memory: training steps, logProb and sampling leave the tensor count flat', () => {
  for (const [kind, spec, cfg] of MODELS) {
    const m = create(kind, spec, cfg, 2);
    const obj = m.objectives()[0]!;
    const x = tf.randomNormal([4, ...spec.shape], 0, 1, 'float32', 1);
    const y = m.taxonomy.conditional ? tf.tensor1d([0, 1, 2, 0], 'int32') : undefined;
    const round = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => obj.loss({ x, ...(y ? { y } : {}) }, ctx).loss,
          obj.variables(),
        );
        for (const v of obj.variables()) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 1e-4)));
        m.logProb(x, y);
        m.sample(3, { seed: 1 });
      });
    round(); // the first call initializes ActNorm
    const before = tf.memory().numTensors;
    round();
    round();
    assert.equal(tf.memory().numTensors, before, `${kind}: tensors leaked`);
    m.dispose();
    // creating and disposing a model releases its variables and constant masks
    const t0 = tf.memory().numTensors;
    create(kind, spec, cfg, 3).dispose();
    assert.equal(tf.memory().numTensors, t0, `${kind}: dispose left tensors`);
  }
});

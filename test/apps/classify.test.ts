// Bayes-rule classification against a model whose p(x | y) is known in closed form (two isotropic Gaussians):
// the posterior and log p(x) equal Bayes' rule computed by hand, one model per class gives the same, and the
// calibrated rejection refuses points far from both classes. Then the command end to end on a small table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.js';
import { UserError, type GenerativeModel, type Taxonomy } from '../../src/core/model.js';
import { Rng } from '../../src/core/rng.js';
import {
  calibrateThreshold,
  classLogLik,
  conditionalScorer,
  coverageCurve,
  logPrior,
  perClassScorer,
  posterior,
  predictions,
} from '../../src/apps/classify.js';

await initBackend(undefined, { quiet: true });

const MU = [
  [-2, 0],
  [2, 1],
];
const SIGMA = 0.8;

/** log N(x; mu, SIGMA^2 I) in 2-D, by hand */
function logNormal(x: number[], mu: number[]): number {
  const r2 = (x[0]! - mu[0]!) ** 2 + (x[1]! - mu[1]!) ** 2;
  return -r2 / (2 * SIGMA * SIGMA) - 2 * Math.log(SIGMA) - Math.log(2 * Math.PI);
}

/** p(x | y) = N(mu_y, SIGMA^2 I) (conditional), or one fixed class (classOf) for a per-class model */
function gaussModel(conditional: boolean, classOf = 0): GenerativeModel {
  const taxonomy: Taxonomy = {
    family: 'flow',
    density: 'exact',
    sampling: 'direct',
    latent: false,
    conditional,
  };
  const means = tf.tensor2d(MU);
  return {
    kind: 'gauss-test',
    taxonomy,
    spec: { kind: 'vector', shape: [2], domain: 'real', ...(conditional ? { numClasses: 2 } : {}) },
    config: {},
    variables: () => new Map(),
    objectives: () => [],
    logProb: (x, y) =>
      tf.tidy(() => {
        const mu = conditional
          ? tf.gather(means, y!)
          : tf.gather(means, tf.fill([x.shape[0]!], classOf, 'int32'));
        const r2 = tf.sum(tf.square(tf.sub(x, mu)), 1);
        return tf.sub(
          tf.mul(r2, -1 / (2 * SIGMA * SIGMA)),
          2 * Math.log(SIGMA) + Math.log(2 * Math.PI),
        ) as tf.Tensor1D;
      }),
    sample: () => {
      throw new Error('not used');
    },
    dispose: () => means.dispose(),
  };
}

const POINTS = [
  [-2, 0],
  [0, 0.5],
  [0.3, 0.2],
  [2, 1],
  [-1, 3],
  [5, -4],
];

test('posterior and log p(x) equal Bayes rule by hand; one model per class gives the same', async () => {
  const yTrain = Int32Array.from([0, 0, 0, 1, 0, 1, 0]); // 5 and 2: priors (5+1)/9, (2+1)/9
  const prior = logPrior(yTrain, 2);
  assert.ok(Math.abs(Math.exp(prior[0]!) - 6 / 9) < 1e-12 && Math.abs(Math.exp(prior[1]!) - 3 / 9) < 1e-12);
  const inputs = { n: POINTS.length, x: Float32Array.from(POINTS.flat()), shape: [2] };
  const cond = gaussModel(true);
  const perClass = [gaussModel(false, 0), gaussModel(false, 1)];
  const before = tf.memory().numTensors;
  const llCond = await classLogLik(conditionalScorer(cond), inputs, { batchSize: 4 });
  const llPer = await classLogLik(perClassScorer(perClass), inputs, { batchSize: 4 });
  assert.equal(tf.memory().numTensors, before, 'scoring leaks no tensors');
  for (const ll of [llCond, llPer]) {
    const p = posterior(ll, prior);
    POINTS.forEach((x, i) => {
      const j0 = logNormal(x, MU[0]!) + Math.log(6 / 9);
      const j1 = logNormal(x, MU[1]!) + Math.log(3 / 9);
      const px = Math.exp(j0) + Math.exp(j1);
      assert.ok(
        Math.abs(p.logPx[i]! - Math.log(px)) < 1e-4,
        `log p(x) of ${x}: ${p.logPx[i]} vs ${Math.log(px)}`,
      );
      const post1 = Math.exp(j1) / px;
      assert.ok(Math.abs(Math.exp(p.logPost[i * 2 + 1]!) - post1) < 1e-5, `p(y=1|${x})`);
      assert.ok(Math.abs(Math.exp(p.logPost[i * 2]!) + Math.exp(p.logPost[i * 2 + 1]!) - 1) < 1e-12);
    });
    assert.deepEqual(
      Array.from(predictions(p)),
      POINTS.map((x) =>
        logNormal(x, MU[1]!) + Math.log(1 / 3) > logNormal(x, MU[0]!) + Math.log(2 / 3) ? 1 : 0,
      ),
    );
  }
  assert.throws(
    () => conditionalScorer(perClass[0]!),
    (e: unknown) => e instanceof UserError && /not class-conditional/.test(e.message),
  );
  [cond, ...perClass].forEach((m) => m.dispose());
});

test('rejection: threshold at the target rate on held-out data, far points refused; coverage curve', async () => {
  const rng = new Rng(7);
  const draw = (n: number) => {
    const y = new Int32Array(n);
    const x = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      y[i] = rng.next() < 0.5 ? 0 : 1;
      x[2 * i] = MU[y[i]!]![0]! + SIGMA * rng.normal();
      x[2 * i + 1] = MU[y[i]!]![1]! + SIGMA * rng.normal();
    }
    return { n, x, y, shape: [2] };
  };
  const m = gaussModel(true);
  const s = conditionalScorer(m);
  const prior = logPrior(Int32Array.from([0, 1]), 2);
  const calib = posterior(await classLogLik(s, draw(4000)), prior);
  const tau = calibrateThreshold(calib.logPx, 0.05);
  const below = calib.logPx.filter((v) => v < tau).length / calib.n;
  assert.ok(Math.abs(below - 0.05) < 1e-3, `calibration share below: ${below}`);
  const held = draw(4000);
  const hp = posterior(await classLogLik(s, held), prior);
  const rejected = hp.logPx.filter((v) => v < tau).length / hp.n;
  assert.ok(Math.abs(rejected - 0.05) < 0.015, `held-out rejection ${rejected}`);
  const far = [
    [0, 8],
    [0, -7],
    [10, 10],
    [-9, 0],
    [8, 1],
  ];
  const fp = posterior(
    await classLogLik(s, { n: far.length, x: Float32Array.from(far.flat()), shape: [2] }),
    prior,
  );
  assert.ok(
    fp.logPx.every((v) => v < tau),
    'points far from both classes are rejected',
  );
  const near = posterior(await classLogLik(s, { n: 2, x: Float32Array.from(MU.flat()), shape: [2] }), prior);
  assert.ok(
    near.logPx.every((v) => v >= tau),
    'class centres are accepted',
  );
  // the curve: coverage rises to 1; at full coverage the accuracy is the overall one; all far points rejected
  const pred = predictions(hp);
  const correct = Array.from(pred, (c, i) => c === held.y[i]);
  const curve = coverageCurve(hp.logPx, correct, fp.logPx, 10);
  assert.equal(curve.length, 10);
  assert.ok(curve.every((p, i) => i === 0 || p.coverage > curve[i - 1]!.coverage));
  assert.equal(curve[9]!.coverage, 1);
  assert.ok(Math.abs(curve[9]!.accuracy - correct.filter(Boolean).length / correct.length) < 1e-12);
  assert.ok(curve.every((p) => p.oodRejected === 1));
  // ranking by log p(x): the dense core is easier than the tails here
  assert.ok(curve[0]!.accuracy >= curve[9]!.accuracy);
  m.dispose();
});

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const env = { ...process.env, GENMODELS_THREADS: '1' };
const cli = (args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, timeout: 300_000 });

function oneLineError(r: ReturnType<typeof cli>, re: RegExp): void {
  assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.split('\n').filter((l) => l.length);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^genmodels: error: /);
  assert.match(lines[0]!, re);
}

test('genmodels classify: a conditional MAF on a 2-class table, OOD rows rejected, bad input exits 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-classify-'));
  const rng = new Rng(3);
  const rows = ['u,v,kind'];
  for (let i = 0; i < 600; i++) {
    const c = i % 2;
    rows.push(`${MU[c]![0]! + 0.5 * rng.normal()},${MU[c]![1]! + 0.5 * rng.normal()},${c ? 'b' : 'a'}`);
  }
  const csv = path.join(dir, 't.csv');
  fs.writeFileSync(csv, rows.join('\n') + '\n');
  const ood = path.join(dir, 'ood.csv');
  fs.writeFileSync(ood, 'v,u\n9,9\n-8,0\n0,12\n-10,-10\n');
  const train = (out: string, extra: string[]) =>
    cli([
      'train',
      'maf',
      '--data',
      csv,
      '--set',
      'data.label=kind',
      '--epochs',
      '15',
      '--out',
      out,
      ...extra,
    ]);
  const run = path.join(dir, 'cmaf');
  assert.equal(train(run, ['--set', 'conditional=true']).status, 0);
  const out = path.join(dir, 'cls');
  const r = cli(['classify', run, '--ood', ood, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| accuracy \| (9\d|100)\.\d\d% \|/);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(rep.test.n, 120);
  assert.ok(rep.test.accuracy > 0.95, `accuracy ${rep.test.accuracy}`);
  assert.deepEqual(rep.classes, ['a', 'b']);
  assert.equal(rep.rejection.ood.rejected, 1);
  assert.equal(rep.rejection.calibrationN + rep.rejection.evaluation.n, 120);
  const png = fs.readFileSync(path.join(out, 'coverage.png'));
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  // bad input: an unconditional model, OOD rows with other columns, several runs without --per-class
  const plain = path.join(dir, 'maf');
  assert.equal(train(plain, ['--epochs', '1']).status, 0);
  oneLineError(cli(['classify', plain]), /is not class-conditional/);
  const other = path.join(dir, 'other.csv');
  fs.writeFileSync(other, 'u,w\n1,2\n');
  oneLineError(
    cli(['classify', run, '--ood', other]),
    /columns differ from the model's training table \(missing 'v'; unexpected 'w'\)/,
  );
  oneLineError(cli(['classify', run, plain]), /add --per-class/);
  oneLineError(cli(['classify', run, '--reject-rate', '1.5']), /--reject-rate must be in \[0, 1\)/);
});

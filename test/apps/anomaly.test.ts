// Anomaly scores from the taxonomy: the density scores are eval's per-example values (their mean is eval's
// NLL / -ELBO / AIS-or-exact estimate, logDet of the data transform included), a conditional model scores
// log-mean-exp over classes, an energy model its energy, a GAN its -logit, a model with none a UserError;
// the likelihood ratio of a model against itself is zero; input complexity subtracts the PNG length; labels,
// calibration files and the detection report.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, UserError, type GenerativeModel } from '../../src/core/model.js';
import { Rng } from '../../src/core/rng.js';
import { loadDataset, normalizeOptions, parseDataArg, type Dataset } from '../../src/data/index.js';
import { datasetInput } from '../../src/apps/anomaly-data.js';
import { evaluate } from '../../src/eval/evaluate.js';
import '../../src/families/index.js';
import { complexityScorer, modelScorer, pngBits, ratioScorer, type Scorer } from '../../src/apps/scores.js';
import {
  anomalyLabels,
  calibrate,
  calibrationFile,
  detectionReport,
  readCalibrations,
  scoreInputs,
} from '../../src/apps/anomaly.js';
import { useCpu } from '../families/latent/helpers.js';

before(useCpu);

const build = (kind: string, cfg: Record<string, unknown>, ds: Dataset): GenerativeModel =>
  createModel(kind, cfg, ds.spec, 1);

async function scores(s: Scorer, ds: Dataset, maxN = 64): Promise<Float64Array> {
  const [set] = await scoreInputs(s, [{ source: 't', ds, split: 'test' }], {
    maxN,
    batchSize: 25,
    progress: 'none',
  });
  return set!.scores;
}

const mean = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('density scores are eval per-example values: exact (table, with logDet), bound, estimate', async () => {
  const bc = loadDataset(parseDataArg('breast-cancer'));
  const maf = build('maf', { hidden: 8, layers: 2, blocks: 1 }, bc);
  const s = modelScorer(maf, { logDet: bc.logDet! });
  assert.equal(s.kind, 'exact');
  const ev = await evaluate(maf, bc, { maxN: 64, batchSize: 25 });
  close(mean(await scores(s, bc)), ev.metrics[0]!.nats, 1e-5, 'MAF NLL');
  maf.dispose();

  const img = loadDataset(parseDataArg('digits', { image: true }));
  const vae = build('vae', { hidden: [16], latentDim: 2 }, img);
  const sv = modelScorer(vae, { logDet: img.logDet! });
  assert.equal(sv.kind, 'bound');
  // the ELBO is stochastic: same seeds as eval only in expectation; a tolerance of a few nats / 64 images
  const evv = await evaluate(vae, img, { maxN: 64, batchSize: 25 });
  close(mean(await scores(sv, img)), evv.metrics[0]!.nats, 0.02, 'VAE -ELBO');
  const siw = modelScorer(vae, { iw: 8 });
  assert.equal(siw.name, 'iwae');
  vae.dispose();

  // log Z by AIS (exactMaxUnits 0): the estimate's prepare runs before the data pass
  const rbm = build('rbm', { hidden: 6, exactMaxUnits: 0, aisChains: 20, aisTemperatures: 200 }, img);
  const sr = modelScorer(rbm, { logDet: img.logDet! });
  assert.equal(sr.kind, 'estimate');
  assert.ok(sr.prepare);
  const evr = await evaluate(rbm, img, { maxN: 64, batchSize: 25 });
  close(mean(await scores(sr, img)), evr.metrics[0]!.nats, 1e-3, 'RBM NLL (AIS)');
  rbm.dispose();
});

test('a conditional model scores the marginal -log (1/C) sum_y p(x|y), without the input labels', async () => {
  const bc = loadDataset(parseDataArg('breast-cancer'));
  const m = build('maf', { hidden: 8, layers: 2, blocks: 1, conditional: true }, bc);
  const got = await scores(modelScorer(m), bc, 10);
  const x = tf.tensor(
    bc.prepare(bc.test.x.slice(0, 10 * 30), { split: 'test', epoch: 0, seed: 0, offset: 0 }),
    [10, 30],
  );
  const per = [0, 1].map((c) => m.logProb!(x, tf.fill([10], c, 'int32') as tf.Tensor1D).dataSync());
  for (let i = 0; i < 10; i++) {
    const a = per[0]![i]!;
    const b = per[1]![i]!;
    const mx = Math.max(a, b);
    const want = -(mx + Math.log((Math.exp(a - mx) + Math.exp(b - mx)) / 2));
    close(got[i]!, want, 1e-5, `row ${i}`);
  }
  x.dispose();
  m.dispose();
});

test('energy, discriminator, and no score at all', async () => {
  const bc = loadDataset(parseDataArg('breast-cancer'));
  const x = tf.tensor(
    bc.prepare(bc.test.x.slice(0, 8 * 30), { split: 'test', epoch: 0, seed: 0, offset: 0 }),
    [8, 30],
  );
  const ebm = build('ebm', { hidden: [8] }, bc);
  const se = modelScorer(ebm, { logDet: bc.logDet! });
  assert.equal(se.kind, 'energy');
  const e = ebm.energy!(x).dataSync();
  const ld = bc.logDet!(x).dataSync();
  const got = await scores(se, bc, 8);
  for (let i = 0; i < 8; i++) close(got[i]!, e[i]! - ld[i]!, 1e-5, `energy ${i}`);
  ebm.dispose();

  const gan = build('gan', { hidden: [8], latentDim: 2 }, bc);
  const sg = modelScorer(gan);
  assert.equal(sg.kind, 'discriminator');
  const l = (gan as unknown as { logits(x: tf.Tensor): tf.Tensor1D }).logits(x).dataSync();
  const gs = await scores(sg, bc, 8);
  for (let i = 0; i < 8; i++) close(gs[i]!, -l[i]!, 1e-5, `logit ${i}`);
  gan.dispose();

  const fm = build('flow-matching', { hidden: 8, blocks: 1 }, bc);
  assert.throws(
    () => modelScorer(fm),
    (e: unknown) => e instanceof UserError && /offers no anomaly score/.test(e.message),
  );
  assert.throws(
    () => complexityScorer(modelScorer(build('ebm', { hidden: [4] }, bc)), [30]),
    /needs a likelihood/,
  );
  fm.dispose();
  x.dispose();
});

test('likelihood ratio against itself is zero; complexity subtracts the PNG length in nats', async () => {
  const img = loadDataset(parseDataArg('mnist-fixture', { dequantize: true }));
  const m = build('realnvp', { hidden: 4, depth: 1, layers: 2, levels: 1 }, img);
  const base = modelScorer(m, { logDet: img.logDet! });
  const r = await scores(ratioScorer(base, base), img, 20);
  for (const v of r) assert.ok(Math.abs(v) < 1e-3, `ratio ${v}`);
  const nll = await scores(base, img, 20);
  const cx = await scores(complexityScorer(base, img.spec.shape), img, 20);
  const bits = pngBits(img.test.x.subarray(0, 20 * 784), [28, 28, 1]);
  for (let i = 0; i < 20; i++) close(cx[i]!, nll[i]! - bits[i]! * Math.LN2, 1e-6, `complexity ${i}`);
  m.dispose();
  // a constant image compresses to fewer bits than noise; the PNG decodes back to the 8-bit pixels
  const flat = new Float32Array(784).fill(0.5);
  const rng = new Rng(5);
  const noise = Float32Array.from({ length: 784 }, () => Math.floor(rng.next() * 256) / 255);
  const [bf, bn] = [pngBits(flat, [28, 28, 1])[0]!, pngBits(noise, [28, 28, 1])[0]!];
  assert.ok(bf < bn / 4, `${bf} vs ${bn}`);
  assert.throws(() => pngBits(flat, [784]), UserError);
});

test('labels by class, by input, by 0/1 column; report; calibration file round trip', () => {
  const sets = [
    {
      source: 'a',
      scores: Float64Array.from([0, 1, 2, 3]),
      classes: Int32Array.from([0, 1, 2, 1]),
      seconds: 1,
    },
    { source: 'b', scores: Float64Array.from([5, 6]), seconds: 1 },
  ];
  assert.deepEqual([...anomalyLabels([sets[0]!], { anomalyClasses: [1] })!], [0, 1, 0, 1]);
  assert.deepEqual([...anomalyLabels([sets[0]!], { normalClasses: [0, 2] })!], [0, 1, 0, 1]);
  assert.deepEqual([...anomalyLabels(sets, { anomalousInputs: [1] })!], [0, 0, 0, 0, 1, 1]);
  assert.throws(() => anomalyLabels([sets[0]!], { binaryColumn: true }), /must be 0 or 1/);
  assert.throws(() => anomalyLabels(sets, { anomalyClasses: [1] }), /no labels/);
  assert.equal(anomalyLabels(sets, {}), null);
  const rep = detectionReport(Float64Array.from([0, 1, 2, 3, 5, 6]), Uint8Array.from([0, 0, 0, 1, 1, 1]), {
    boot: 50,
  });
  assert.equal(rep.auroc.value, 1);
  assert.equal(rep.auprc.value, 1);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-anom-'));
  const ck = path.join(dir, 'checkpoint');
  const file = calibrationFile(ck);
  assert.equal(file, path.join(dir, 'anomaly.json'));
  const normal = Array.from({ length: 100 }, (_, i) => i);
  const c = calibrate(file, 'nll|nll', normal, { method: 'nll', scorer: 'NLL', fpr: 0.05, data: 'x' });
  assert.equal(normal.filter((v) => v > c.threshold).length, 5);
  calibrate(file, 'ratio|nll', normal, { method: 'ratio', scorer: 'NLL', fpr: 0.2, data: 'x' });
  const back = readCalibrations(file);
  assert.deepEqual(Object.keys(back).sort(), ['nll|nll', 'ratio|nll']);
  assert.equal(back['nll|nll']!.threshold, c.threshold);
  assert.deepEqual(fs.readdirSync(dir), ['anomaly.json']); // no temp file left
  fs.writeFileSync(file, '{"format":"x"}');
  assert.throws(() => readCalibrations(file), /not a genmodels anomaly calibration file/);
});

test('inputs: another image set goes through the training transform; the sensor-network table loads', () => {
  const spec = {
    kind: 'image' as const,
    shape: [28, 28, 1],
    domain: 'real' as const,
    levels: 256,
    numClasses: 10,
  };
  const train = { name: 'mnist', options: normalizeOptions('mnist', { logit: 0.05 }) };
  const inp = datasetInput('mnist-fixture', 'test', train, spec);
  assert.equal(inp.source, 'mnist-fixture:test');
  assert.equal(inp.ds.spec.domain, 'real');
  assert.equal(inp.ds.describe().options['logit'], 0.05);
  // a binarized model refuses inputs in another value domain, a vector model refuses images
  const bin = { name: 'mnist', options: normalizeOptions('mnist', {}) };
  assert.throws(() => datasetInput('mnist-fixture', 'test', bin, spec), /sees real values; .* gives binary/);
  assert.throws(
    () => datasetInput('mnist-fixture', 'test', null, { kind: 'vector', shape: [784], domain: 'real' }),
    /trained on vector data of shape \[784\]/,
  );

  const s = loadDataset(parseDataArg('sensor'));
  assert.deepEqual(s.columns, ['humidity', 'temperature']);
  assert.equal(s.train.n + s.test.n, 18914);
  const events = [...s.train.y!, ...s.test.y!].filter((l) => l === 1).length;
  assert.equal(events, 149);
});

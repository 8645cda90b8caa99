// The anomaly benchmark (docs/anomaly.md): genmodels models trained on normal data only, scored by
// -log p(x) (src/apps/scores.ts), against scikit-learn's IsolationForest and LocalOutlierFactor(novelty=True)
// (Debian python3-sklearn via /usr/bin/python3), fitted in the same run on the same standardized training rows
// and scored on the same test rows. Each row: AUROC (with a 95% stratified bootstrap interval for ours) and
// scoring throughput (inputs per second; for the peers: score_samples on the test rows, one process).
//   npm run bench:anomaly                          tables: breast-cancer (malignant = anomaly), sensor network
//   node dist/bench/anomaly.js --suite images      MNIST one-class (digit k = anomaly) and Fashion-MNIST -> MNIST
//        [--k 0,1] [--models vae,realnvp,pixelcnn] [--train-n 10000] [--test-n 2000] [--epochs 3]
//        [--batch 100] (scoring batch) [--no-ood] [--no-one-class] [--tag T] (results file suffix)
//   --suite all: both. Results: bench/results/anomaly-<suite>[-<tag>].json and .md (the markdown table).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.js';
import { createModel, type GenerativeModel } from '../src/core/model.js';
import { Rng } from '../src/core/rng.js';
import {
  fitStandardization,
  loadDataset,
  normalizeOptions,
  type Dataset,
  type Split,
} from '../src/data/index.js';
import '../src/families/index.js';
import { scoreInputs } from '../src/apps/anomaly.js';
import { modelScorer, pngBits, type Scorer } from '../src/apps/scores.js';
import { auroc, bootstrap } from '../src/eval/roc.js';
import { makeTrainConfig, train } from '../src/train/loop.js';

const { values: o } = parseArgs({
  allowNegative: true,
  options: {
    suite: { type: 'string', default: 'tables' },
    k: { type: 'string', default: '0' },
    models: { type: 'string', default: 'vae' },
    'train-n': { type: 'string', default: '10000' },
    'test-n': { type: 'string', default: '2000' },
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '100' },
    tag: { type: 'string', default: '' },
    ood: { type: 'boolean', default: true },
    'one-class': { type: 'boolean', default: true },
    out: { type: 'string', default: 'bench/results' },
    runs: { type: 'string', default: path.join(os.tmpdir(), 'genmodels-bench-anomaly') },
  },
});
const BATCH = Number(o.batch);
const PYTHON = process.env.GENMODELS_PYTHON ?? '/usr/bin/python3';

interface Row {
  set: string;
  method: string;
  auroc: number;
  lo?: number;
  hi?: number;
  perSecond: number;
  trainSeconds: number;
  nTrain: number;
  nTest: number;
  anomalies: number;
  note?: string;
}
const rows: Row[] = [];
const t0 = Date.now();

tf.env().set('PROD', true);
const backend = await initBackend(undefined, { quiet: true });
fs.mkdirSync(o.runs!, { recursive: true });

// ------------------------------------------------------------------------------------------ peers

const PEERS = `
import sys, time, json
import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor
d, ntr, nte, folder = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
xtr = np.fromfile(folder + '/train.f32', dtype=np.float32).reshape(ntr, d)
xte = np.fromfile(folder + '/test.f32', dtype=np.float32).reshape(nte, d)
out = {}
for name, est in [('IsolationForest', IsolationForest(random_state=0)),
                  ('LocalOutlierFactor', LocalOutlierFactor(novelty=True))]:
    t = time.perf_counter(); est.fit(xtr); fit = time.perf_counter() - t
    t = time.perf_counter(); s = -est.score_samples(xte); sc = time.perf_counter() - t
    s.astype(np.float64).tofile(folder + '/' + name + '.f64')
    out[name] = {'fit': fit, 'score': sc}
print(json.dumps(out))
`;

/** IsolationForest and LOF (novelty) fitted on xtr, scored on xte (higher = more anomalous). */
function peers(
  set: string,
  xtr: Float32Array,
  xte: Float32Array,
  d: number,
  labels: Uint8Array,
  note = '',
): void {
  const folder = fs.mkdtempSync(path.join(o.runs!, 'peers-'));
  fs.writeFileSync(path.join(folder, 'train.f32'), Buffer.from(xtr.buffer, xtr.byteOffset, xtr.byteLength));
  fs.writeFileSync(path.join(folder, 'test.f32'), Buffer.from(xte.buffer, xte.byteOffset, xte.byteLength));
  const ntr = xtr.length / d;
  const nte = xte.length / d;
  const r = spawnSync(PYTHON, ['-c', PEERS, String(d), String(ntr), String(nte), folder], {
    encoding: 'utf8',
    timeout: 3_600_000,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  if (r.status !== 0) throw new Error(`scikit-learn peers failed: ${r.stderr}`);
  const times = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<
    string,
    { fit: number; score: number }
  >;
  for (const [name, t] of Object.entries(times)) {
    const b = fs.readFileSync(path.join(folder, `${name}.f64`));
    const s = new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
    const iv = bootstrap(auroc, s, labels, { n: 500, seed: 1 });
    push({
      set,
      method: `${name}${note}`,
      auroc: iv.value,
      lo: iv.lo,
      hi: iv.hi,
      perSecond: nte / t.score,
      trainSeconds: t.fit,
      nTrain: ntr,
      nTest: nte,
      anomalies: labels.reduce((a, l) => a + l, 0),
    });
  }
  fs.rmSync(folder, { recursive: true, force: true });
}

function push(r: Row): void {
  rows.push(r);
  const ci = r.lo !== undefined ? ` [${r.lo.toFixed(3)}, ${r.hi!.toFixed(3)}]` : '';
  process.stderr.write(
    `${r.set} | ${r.method} | AUROC ${r.auroc.toFixed(4)}${ci} | ${r.perSecond.toFixed(0)} inputs/s | train ${r.trainSeconds.toFixed(1)} s\n`,
  );
}

// ------------------------------------------------------------------------------------ ours

async function fit(
  name: string,
  kind: string,
  cfg: Record<string, unknown>,
  ds: Dataset,
  trainCfg: Record<string, unknown>,
): Promise<{ model: GenerativeModel; seconds: number }> {
  const model = createModel(kind, cfg, ds.spec, 0);
  const outDir = path.join(o.runs!, name);
  fs.rmSync(outDir, { recursive: true, force: true }); // this benchmark's own scratch run of an earlier call
  const t = Date.now();
  const epochs = (trainCfg['epochs'] as number) ?? 1;
  await train({
    model,
    dataset: ds,
    outDir,
    config: makeTrainConfig({ sampleN: 0, logEvery: 1000, evalEvery: epochs, evalLimit: 200, ...trainCfg }),
    progress: 'none',
    images: false,
    log: () => {},
  });
  return { model, seconds: (Date.now() - t) / 1000 };
}

/** Scores of the inputs in order, and the seconds of the scoring passes. */
async function scoreAll(
  scorer: Scorer,
  inputs: { ds: Dataset; split: 'train' | 'test' }[],
): Promise<{ s: Float64Array; seconds: number }> {
  const sets = await scoreInputs(
    scorer,
    inputs.map((i, k) => ({ source: String(k), ...i })),
    { batchSize: BATCH, progress: 'none' },
  );
  const s = new Float64Array(sets.reduce((a, x) => a + x.scores.length, 0));
  let off = 0;
  for (const x of sets) {
    s.set(x.scores, off);
    off += x.scores.length;
  }
  return { s, seconds: sets.reduce((a, x) => a + x.seconds, 0) };
}

function report(
  set: string,
  method: string,
  s: Float64Array,
  seconds: number,
  labels: Uint8Array,
  trainSeconds: number,
  nTrain: number,
): void {
  const iv = bootstrap(auroc, s, labels, { n: 500, seed: 1 });
  push({
    set,
    method,
    auroc: iv.value,
    lo: iv.lo,
    hi: iv.hi,
    perSecond: s.length / seconds,
    trainSeconds,
    nTrain,
    nTest: s.length,
    anomalies: labels.reduce((a, l) => a + l, 0),
  });
}

async function ours(
  set: string,
  method: string,
  scorer: Scorer,
  inputs: { ds: Dataset; split: 'train' | 'test' }[],
  labels: Uint8Array,
  trainSeconds: number,
  nTrain: number,
): Promise<void> {
  const { s, seconds } = await scoreAll(scorer, inputs);
  report(set, method, s, seconds, labels, trainSeconds, nTrain);
}

// ------------------------------------------------------------------------------------ tables

function pick(s: Split, d: number, keep: (i: number) => boolean, max = Infinity): Split {
  const idx: number[] = [];
  for (let i = 0; i < s.n && idx.length < max; i++) if (keep(i)) idx.push(i);
  const x = new Float32Array(idx.length * d);
  idx.forEach((r, i) => x.set(s.x.subarray(r * d, (r + 1) * d), i * d));
  const y = s.y ? Int32Array.from(idx, (r) => s.y![r]!) : undefined;
  return { n: idx.length, x, ...(y ? { y } : {}) };
}

/** A table's normal training rows (class `normal`), standardized with their own statistics; test unchanged. */
function oneClassTable(
  name: string,
  normal: number,
): { ds: Dataset; labels: Uint8Array; z: (x: Float32Array) => Float32Array } {
  const raw = loadDataset({ name, options: normalizeOptions(name, { standardize: false }) });
  const d = raw.spec.shape[0]!;
  const trainN = pick(raw.train, d, (i) => raw.train.y![i] === normal);
  const { mean, std } = fitStandardization(trainN, d);
  const z = (x: Float32Array) => Float32Array.from(x, (v, i) => (v - mean[i % d]!) / std[i % d]!);
  const logDet = -std.reduce((a, s) => a + Math.log(s), 0);
  const spec = { kind: 'vector' as const, shape: [d], domain: 'real' as const };
  const ds: Dataset = {
    name,
    spec,
    train: { n: trainN.n, x: trainN.x },
    test: { n: raw.test.n, x: raw.test.x },
    prepare: (x) => z(x),
    toDisplay: (x) => Float32Array.from(x, (v, i) => v * std[i % d]! + mean[i % d]!),
    logDet: (x) => tf.fill([x.shape[0]!], logDet) as tf.Tensor1D,
    describe: () => ({ name, options: { standardize: false } }),
  };
  const labels = Uint8Array.from(raw.test.y!, (c) => (c === normal ? 0 : 1));
  return { ds, labels, z };
}

const TABLE_MODELS: {
  name: string;
  kind: string;
  cfg: Record<string, unknown>;
  train: (n: number) => Record<string, unknown>;
}[] = [
  {
    name: 'MAF',
    kind: 'maf',
    cfg: { layers: 5, hidden: 64, blocks: 1 },
    train: (n) => ({
      epochs: n < 1000 ? 150 : 15,
      batchSize: n < 1000 ? 32 : 256,
      lr: 1e-3,
      weightDecay: 1e-4,
    }),
  },
  {
    name: 'RealNVP',
    kind: 'realnvp',
    cfg: { layers: 6, hidden: 64 },
    train: (n) => ({
      epochs: n < 1000 ? 150 : 15,
      batchSize: n < 1000 ? 32 : 256,
      lr: 1e-3,
      weightDecay: 1e-4,
    }),
  },
  {
    name: 'VAE',
    kind: 'vae',
    cfg: { hidden: [64], latentDim: 4, likelihood: 'gaussian' },
    train: (n) => ({ epochs: n < 1000 ? 150 : 15, batchSize: n < 1000 ? 32 : 256, lr: 1e-3 }),
  },
];

async function tables(): Promise<void> {
  for (const [set, name, normal] of [
    ['breast-cancer (malignant = anomaly)', 'breast-cancer', 1],
    ['sensor network (event = anomaly)', 'sensor', 0],
  ] as const) {
    const { ds, labels, z } = oneClassTable(name, normal);
    const d = ds.spec.shape[0]!;
    peers(set, z(ds.train.x), z(ds.test.x), d, labels);
    for (const m of TABLE_MODELS) {
      const { model, seconds } = await fit(`${name}-${m.kind}`, m.kind, m.cfg, ds, m.train(ds.train.n));
      const scorer = modelScorer(model, { logDet: ds.logDet!.bind(ds) });
      await ours(
        set,
        `${m.name} (${scorer.label})`,
        scorer,
        [{ ds, split: 'test' }],
        labels,
        seconds,
        ds.train.n,
      );
      model.dispose();
    }
  }
}

// ------------------------------------------------------------------------------------ images

const TRAIN_N = Number(o['train-n']);
const TEST_N = Number(o['test-n']);
const EPOCHS = Number(o.epochs);

/** the image models of the suite, each on the data preprocessing its likelihood needs */
const IMAGE_MODELS: Record<
  string,
  { name: string; kind: string; cfg: Record<string, unknown>; data: Record<string, unknown>; lr: number }
> = {
  vae: {
    name: 'VAE (logistic)',
    kind: 'vae',
    cfg: { hidden: [256], latentDim: 16, likelihood: 'logistic' },
    data: { binarize: 'none' },
    lr: 1e-3,
  },
  realnvp: {
    name: 'RealNVP',
    kind: 'realnvp',
    cfg: { levels: 2, depth: 2, hidden: 32 },
    data: { logit: 0.05 },
    lr: 1e-3,
  },
  pixelcnn: {
    name: 'PixelCNN (256-way)',
    kind: 'pixelcnn',
    cfg: { channels: 16, blocks: 2, headChannels: 32 },
    data: { binarize: 'none' },
    lr: 1e-3,
  },
};

function imageSubset(base: Dataset, train: Split, test: Split): Dataset {
  return { ...base, train, test };
}

/** Ren et al. 2019 background data: each pixel replaced by a uniform 8-bit value with probability mu. */
function perturbed(s: Split, mu: number, seed: number): Split {
  const rng = new Rng(seed);
  const x = Float32Array.from(s.x, (v) => (rng.next() < mu ? Math.floor(rng.next() * 256) / 255 : v));
  return { ...s, x };
}

async function images(): Promise<void> {
  const models = o.models!.split(',').map((m) => {
    const spec = IMAGE_MODELS[m.trim()];
    if (!spec) throw new Error(`unknown image model '${m}' (known: ${Object.keys(IMAGE_MODELS).join(', ')})`);
    return spec;
  });
  const trainCfg = { epochs: EPOCHS, batchSize: 64 };
  for (const m of models) {
    if (o['one-class']) {
      const mnist = loadDataset({ name: 'mnist', options: normalizeOptions('mnist', m.data) });
      const D = 784;
      for (const k of o.k!.split(',').map(Number)) {
        const set = `MNIST one-class, k = ${k}`;
        const tr = pick(mnist.train, D, (i) => mnist.train.y![i] !== k, TRAIN_N);
        const te = pick(mnist.test, D, () => true, TEST_N);
        const labels = Uint8Array.from(te.y!, (c) => (c === k ? 1 : 0));
        const ds = imageSubset(mnist, tr, te);
        if (m === models[0]) peers(set, tr.x, te.x, D, labels, ' (pixels)');
        const { model, seconds } = await fit(`mnist-${k}-${m.kind}`, m.kind, m.cfg, ds, {
          ...trainCfg,
          lr: m.lr,
        });
        await ours(
          set,
          m.name,
          modelScorer(model, { logDet: ds.logDet!.bind(ds) }),
          [{ ds, split: 'test' }],
          labels,
          seconds,
          tr.n,
        );
        model.dispose();
      }
    }
    if (o.ood) {
      const set = 'Fashion-MNIST -> MNIST (OOD)';
      const fashion = loadDataset({
        name: 'fashion-mnist',
        options: normalizeOptions('fashion-mnist', m.data),
      });
      const mnist = loadDataset({ name: 'mnist', options: normalizeOptions('mnist', m.data) });
      const D = 784;
      const tr = pick(fashion.train, D, () => true, TRAIN_N);
      const fte = pick(fashion.test, D, () => true, TEST_N);
      const mte = pick(mnist.test, D, () => true, TEST_N);
      const fds = imageSubset(fashion, tr, fte);
      const mds = imageSubset(mnist, tr, mte);
      const labels = new Uint8Array(fte.n + mte.n).fill(1, fte.n);
      if (m === models[0]) {
        const both = new Float32Array(fte.x.length + mte.x.length);
        both.set(fte.x);
        both.set(mte.x, fte.x.length);
        peers(set, tr.x, both, D, labels, ' (pixels)');
      }
      const { model, seconds } = await fit(`fashion-${m.kind}`, m.kind, m.cfg, fds, {
        ...trainCfg,
        lr: m.lr,
      });
      const inputs = [
        { ds: fds, split: 'test' as const },
        { ds: mds, split: 'test' as const },
      ];
      // each model scores the inputs once; complexity and ratio combine those scores exactly as
      // complexityScorer / ratioScorer do (test/apps/anomaly.test.ts)
      const base = await scoreAll(modelScorer(model, { logDet: fds.logDet!.bind(fds) }), inputs);
      report(set, `${m.name}: -log p(x)`, base.s, base.seconds, labels, seconds, tr.n);
      const tc = performance.now();
      const bits = Float64Array.from([...pngBits(fte.x, [28, 28, 1]), ...pngBits(mte.x, [28, 28, 1])]);
      const bitsSeconds = (performance.now() - tc) / 1000;
      const cx = base.s.map((v, i) => v - bits[i]! * Math.LN2);
      report(set, `${m.name}: complexity`, cx, base.seconds + bitsSeconds, labels, seconds, tr.n);
      const bgDs = imageSubset(fashion, perturbed(tr, 0.2, 9), fte);
      const bg = await fit(`fashion-bg-${m.kind}`, m.kind, m.cfg, bgDs, { ...trainCfg, lr: m.lr });
      const bgs = await scoreAll(modelScorer(bg.model, { logDet: fds.logDet!.bind(fds) }), inputs);
      const llr = base.s.map((v, i) => v - bgs.s[i]!);
      report(
        set,
        `${m.name}: likelihood ratio`,
        llr,
        base.seconds + bgs.seconds,
        labels,
        seconds + bg.seconds,
        tr.n,
      );
      model.dispose();
      bg.model.dispose();
    }
  }
}

// ------------------------------------------------------------------------------------ run

const suite = o.suite!;
if (!['tables', 'images', 'all'].includes(suite)) throw new Error(`--suite must be tables, images or all`);
if (suite !== 'images') await tables();
if (suite !== 'tables') await images();

const minutes = (Date.now() - t0) / 60000;
const md = [
  '| data | method | AUROC [95% CI] | inputs/s | train s | train / test (anomalies) |',
  '|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.set} | ${r.method} | ${r.auroc.toFixed(3)}${r.lo !== undefined ? ` [${r.lo.toFixed(3)}, ${r.hi!.toFixed(3)}]` : ''} | ${r.perSecond.toFixed(0)} | ${r.trainSeconds.toFixed(1)} | ${r.nTrain} / ${r.nTest} (${r.anomalies}) |`,
  ),
].join('\n');
const cmd = `node dist/bench/anomaly.js ${process.argv.slice(2).join(' ')}`.trim();
const note = `${minutes.toFixed(1)} min on ${backend}, GENMODELS_THREADS=${process.env.GENMODELS_THREADS ?? 'default'}; command: \`${cmd}\``;
process.stdout.write(`${md}\n\n${note}\n`);
fs.mkdirSync(o.out!, { recursive: true });
const stem = path.join(o.out!, `anomaly-${suite}${o.tag ? `-${o.tag}` : ''}`);
fs.writeFileSync(`${stem}.md`, `${md}\n\n${note}\n`);
fs.writeFileSync(
  `${stem}.json`,
  JSON.stringify({ suite, backend, command: cmd, minutes, options: o, rows }, null, 2) + '\n',
);

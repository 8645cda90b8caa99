// The 8-gaussians GAN comparison (docs/adversarial.md): on the ring of 8 gaussians, the minimax vs the
// non-saturating generator loss (Goodfellow et al. 2014, §3), each with and without minibatch discrimination
// (Salimans et al. 2016, §3.2), over several seeds. Each run trains the MLP GAN with the shared training loop,
// then draws 2500 samples and counts modes covered and high-quality samples (src/eval/modes.ts).
//   npm run compare:gan            (= node dist/bench/gan-8gaussians.js)
//   node dist/bench/gan-8gaussians.js [--seeds 3] [--epochs 25] [--out recipes/results/gan-8gaussians.md]
// Prints a markdown table (mean ± sd over seeds) and writes it (+ .json, + a scatter PNG per setting for the
// first seed under runs/compare-gan-8gaussians/).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.js';
import { modelEntry } from '../src/core/model.js';
import { loadDataset, parseDataArg } from '../src/data/index.js';
import { sampleMetrics } from '../src/eval/sample-metrics.js';
import '../src/families/index.js';
import { savePng, scatterPlot } from '../src/io/png.js';
import { makeTrainConfig, train } from '../src/train/loop.js';

const { values: o } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    epochs: { type: 'string', default: '12' },
    out: { type: 'string', default: 'recipes/results/gan-8gaussians.md' },
    runs: { type: 'string', default: 'runs/compare-gan-8gaussians' },
  },
});
const seeds = Number(o.seeds);
const epochs = Number(o.epochs);

/** the four settings: generator loss x minibatch discrimination (B = 5 kernels of dimension C = 3) */
const SETTINGS = [
  { name: 'minimax', loss: 'minimax', mbdKernels: 0 },
  { name: 'minimax + minibatch disc.', loss: 'minimax', mbdKernels: 5 },
  { name: 'non-saturating', loss: 'non-saturating', mbdKernels: 0 },
  { name: 'non-saturating + minibatch disc.', loss: 'non-saturating', mbdKernels: 5 },
] as const;
const MODEL = { latentDim: 2, hidden: [128, 128, 128], mbdDim: 3 };
const TRAIN = { epochs, batchSize: 128, lr: 1e-3, sampleN: 0, logEvery: 1000 };
const N_SAMPLES = 2500;

tf.env().set('PROD', true); // no tfjs console banner
const backend = await initBackend(undefined, { quiet: true });
const ds = loadDataset(parseDataArg('8gaussians'));
const t0 = Date.now();
interface Run {
  setting: string;
  seed: number;
  covered: number;
  highQuality: number;
  seconds: number;
}
const runs: Run[] = [];
for (const s of SETTINGS) {
  for (let seed = 0; seed < seeds; seed++) {
    const outDir = path.join(o.runs!, `${s.loss}-mbd${s.mbdKernels}-seed${seed}`);
    fs.rmSync(outDir, { recursive: true, force: true });
    const entry = modelEntry('gan');
    const model = entry.create(
      { ...entry.defaults, ...MODEL, loss: s.loss, mbdKernels: s.mbdKernels },
      ds.spec,
      seed,
    );
    const t = Date.now();
    await train({
      model,
      dataset: ds,
      outDir,
      config: makeTrainConfig({ ...TRAIN, seed }),
      progress: 'none',
      images: false,
      log: () => {},
    });
    const m = await sampleMetrics(model, ds, { n: N_SAMPLES, seed: 1000 + seed });
    const seconds = (Date.now() - t) / 1000;
    runs.push({
      setting: s.name,
      seed,
      covered: m.modes!.covered,
      highQuality: m.modes!.highQuality,
      seconds,
    });
    process.stderr.write(
      `${s.name} seed ${seed}: modes ${m.modes!.covered}/8, high-quality ${(100 * m.modes!.highQuality).toFixed(1)}% (${seconds.toFixed(0)} s)\n`,
    );
    if (seed === 0) {
      const x = tf.tidy(() => model.sample(1000, { seed: 7 }).dataSync() as Float32Array);
      const data = ds.test.x.slice(0, 2000);
      savePng(
        path.join(o.runs!, `${s.loss}-mbd${s.mbdKernels}.png`),
        await scatterPlot(
          [
            { points: data, label: 'data', color: [160, 160, 160] },
            { points: x, label: 'samples' },
          ],
          { title: s.name },
        ),
      );
    }
    model.dispose();
  }
}

const stats = (v: number[]) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, sd };
};
const lines = [
  `| generator loss / discriminator | modes covered (of 8) | high-quality samples | per seed (modes) |`,
  `|---|---|---|---|`,
];
for (const s of SETTINGS) {
  const rs = runs.filter((r) => r.setting === s.name);
  const c = stats(rs.map((r) => r.covered));
  const h = stats(rs.map((r) => 100 * r.highQuality));
  lines.push(
    `| ${s.name} | ${c.mean.toFixed(2)} ± ${c.sd.toFixed(2)} | ${h.mean.toFixed(1)}% ± ${h.sd.toFixed(1)} | ${rs.map((r) => r.covered).join(', ')} |`,
  );
}
const minutes = (Date.now() - t0) / 60000;
const note =
  `8gaussians (ring of radius 2, std 0.1), MLP GAN (G and D 3x128, z dim 2), batch ${TRAIN.batchSize}, ` +
  `Adam lr ${TRAIN.lr} betas (0.5, 0.999), ${epochs} epochs of 10000 points (${epochs * Math.ceil(10000 / TRAIN.batchSize)} steps), ` +
  `${seeds} seeds (mean ± sd); ${N_SAMPLES} samples per run; high-quality = within 3 std of a mode; a mode is covered ` +
  `with >= ${Math.ceil((0.1 * N_SAMPLES) / 8)} high-quality samples; minibatch discrimination B=5, C=3. ` +
  `${minutes.toFixed(1)} min on ${backend}. Command: \`npm run compare:gan\`.`;
const md = lines.join('\n') + '\n\n' + note + '\n';
process.stdout.write(md);
fs.mkdirSync(path.dirname(o.out!), { recursive: true });
fs.writeFileSync(o.out!, md);
fs.writeFileSync(
  o.out!.replace(/\.md$/, '') + '.json',
  JSON.stringify({ backend, epochs, seeds, runs }, null, 2) + '\n',
);

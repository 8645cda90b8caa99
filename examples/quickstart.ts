// The README's library example, compiled with the project (npm run build) so it cannot rot.
// Run: node dist/examples/quickstart.js
import * as tf from '@tensorflow/tfjs-core';
import {
  evaluate,
  formatEval,
  initBackend,
  loadDataset,
  makeTrainConfig,
  modelEntry,
  parseDataArg,
  train,
} from '../src/index.js';

const backend = await initBackend(); // 'torch' when the addon loads, else 'wasm', else 'cpu'
const ds = loadDataset(parseDataArg('mnist-fixture')); // 'mnist' for the full data set
const entry = modelEntry('vae');
const model = entry.create({ ...entry.defaults, latentDim: 16 }, ds.spec, 0);
await train({
  model,
  dataset: ds,
  outDir: 'runs/quickstart',
  config: makeTrainConfig({ epochs: 2 }),
  backend,
});
console.log(formatEval(await evaluate(model, ds, { split: 'test', iw: 100 })));
const x = tf.tidy(() => model.sample(16)); // [16, 28, 28, 1], values in [0, 1]
console.log(backend, x.shape);

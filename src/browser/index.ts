// genmodels in a web page: the browser entry point (no Node imports). The model registry with every
// family, checkpoints loaded from URLs, sampling, likelihoods and toy training through the library's own
// code, on tfjs's browser backends (initBrowserBackend). `npm run build:web` bundles it with esbuild into
// dist/playground/genmodels.mjs beside the playground page.
import * as tf from '@tensorflow/tfjs-core';
import '../families/index.js';

export { tf };
export * from '../core/model.js';
export { Rng, type RngState } from '../core/rng.js';
export type { DataSpec } from '../data/spec.js';
export { loadToy, sampleToy, TOY_NAMES, isToy } from '../data/toy.js';
export { modelEstimates } from '../eval/estimates.js';
export {
  decodeSafetensors,
  float16ToFloat32,
  float32ToFloat16,
  type SafeTensor,
} from '../io/safetensors-core.js';
export type { CheckpointConfig, LoadedCheckpoint } from '../train/checkpoint.js';
export { restoreCheckpoint } from '../train/checkpoint-restore.js';
export { parseCheckpointConfig } from '../train/checkpoint-schema.js';
export {
  initBrowserBackend,
  BROWSER_BACKENDS,
  type BrowserBackend,
  type BrowserBackendInfo,
  type InitBrowserOptions,
} from './backend.js';
export { loadModelFromUrl, fetchCheckpointConfig, type LoadedFromUrl } from './load.js';
export {
  sampleArrays,
  logLikelihoods,
  classProbabilities,
  interpolateArrays,
  type Arrays,
  type SampleResult,
  type Frame,
  type LogLik,
} from './infer.js';
export { ToyTrainer, type ToyTrainerOptions } from './train.js';

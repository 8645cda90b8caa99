// genmodels: the library entry point.
export * from './core/model.js';
export { Rng, type RngState } from './core/rng.js';
export { initBackend, backendInfo, type BackendName } from './backend/index.js';
export * as data from './data/index.js';
export { loadDataset, parseDataArg, batches } from './data/index.js';
export type { Dataset, DatasetConfig, Split } from './data/types.js';
export type { DataSpec } from './data/spec.js';
export { evaluate, formatEval, type EvalOptions, type EvalResult, type EvalMetric } from './eval/evaluate.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  readSafetensors,
  writeSafetensors,
  type SafeTensor,
  type DType,
} from './io/safetensors.js';
export {
  imageGrid,
  scatterPlot,
  linePlot,
  savePng,
  Canvas,
  type GridOptions,
  type ScatterSeries,
  type LineSeries,
} from './io/png.js';
export { writeFileAtomic } from './io/atomic.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  readCheckpointConfig,
  resolveCheckpointDir,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointConfig,
  type LoadedCheckpoint,
  type TrainState,
} from './train/checkpoint.js';
export {
  train,
  makeTrainConfig,
  limitDataset,
  TRAIN_DEFAULTS,
  NonFiniteLossError,
  type TrainConfig,
  type TrainOptions,
  type TrainResult,
  type StepRecord,
} from './train/loop.js';
export { Adam, Ema, learningRate, globalNorm, type OptimConfig, type Schedule } from './train/optim.js';
export { Progress, type ProgressMode } from './train/progress.js';
import './families/index.js';
// the use cases behind the genmodels command (src/api/)
export { backendName, useBackend, type Log } from './api/common.js';
export {
  trainRun,
  readConfigFile,
  routeOption,
  overridesFromJson,
  type Overrides,
  type TrainRunOptions,
  type TrainRunResult,
} from './api/run.js';
export { evalCheckpoint, type EvalCheckpointOptions } from './api/evaluate.js';
export {
  sampleToFile,
  writeSamples,
  sampleBatches,
  planSampleOutput,
  DEFAULT_SAMPLE_BATCH,
  type SampleBatchOptions,
  type WriteSamplesOptions,
  type SampleToFileOptions,
  type SampleToFileResult,
} from './api/sample.js';
export {
  interpolate,
  interpolateBatches,
  interpolateToFile,
  type InterpolateOptions,
  type InterpolateToFileOptions,
} from './api/interpolate.js';
export {
  encodeToFile,
  decodeToFile,
  readTokens,
  writeTokens,
  isTokenModel,
  type TokenModel,
  type Tokens,
  type TokenSummary,
  type EncodeOptions,
  type DecodeOptions,
} from './api/tokens.js';
export {
  LIMITS,
  outputFormat,
  GridBuilder,
  csvSink,
  gridSink,
  scatterSink,
  type OutputFormat,
  type Sink,
} from './api/render.js';
export {
  resultTable,
  writeResult,
  type ResultContext,
  type ResultTable,
  type ResultRecord,
} from './api/results.js';
export {
  reproduce,
  readRecipe,
  listRecipes,
  recipesDir,
  type Recipe,
  type ReproduceOptions,
  type ReproduceResult,
} from './api/reproduce.js';
export { info, formatInfo, datasetLocation, taxonomyLine, type Info } from './api/info.js';

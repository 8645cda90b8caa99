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
export { anomalyRun, formatAnomaly, type AnomalyOptions, type AnomalyResult } from './api/anomaly.js';
export {
  modelScorer,
  densityScorer,
  ratioScorer,
  complexityScorer,
  pngBits,
  SCORE_METHODS,
  type Scorer,
  type ScoreMethod,
} from './apps/scores.js';
export { scoreInputs, anomalyLabels, detectionReport, calibrationFile } from './apps/anomaly.js';
export { auroc, averagePrecision, rocCurve, bootstrap, thresholdForFpr } from './eval/roc.js';
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
// applications (issue 18): Bayes-rule classification with rejection, synthetic table rows
export { classifyRuns, formatClassify, type ClassifyOptions, type ClassifyReport } from './api/classify.js';
export * as classify from './apps/classify.js';
export { synthToFile, type SynthOptions, type SynthResult } from './api/synth.js';
export { fidelity, formatFidelity, synthLabels, type FidelityReport } from './apps/synth.js';
export { readTableFor, tableDecoder, type ColumnSchema, type TableRows } from './data/tables.js';
// the browser playground (issue 19): shipped pretrained models (pretrained:NAME) and the static server
export {
  addPretrained,
  listPretrained,
  pretrainedNames,
  pretrainedRoot,
  resolveRunRef,
  PRETRAINED_PREFIX,
  type PretrainedEntry,
  type AddPretrainedOptions,
} from './api/pretrained.js';
export { serve, webRoot, MIME, type ServeOptions, type Served } from './api/serve.js';

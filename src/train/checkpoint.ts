// Checkpoints: a directory `<run>/checkpoint/` holding `model.safetensors` (model variables by name, optimizer
// state as `optim/<objective>/{m,v}/<name>`, EMA weights as `ema/<name>`, non-variable model state as
// `state/<name>`) and `config.json` (everything needed to rebuild model, data and training state; its schema
// is checkpoint-schema.ts). Written atomically: the new checkpoint is built and fsynced in `checkpoint.tmp/`,
// the old one is renamed to `checkpoint.prev/`, the new one renamed into place, then the old one removed. At
// every instant a complete checkpoint exists on disk (`checkpoint/` or, after a crash in the middle of the
// swap, `checkpoint.prev/`, which the loader falls back to); a failed write leaves no temp files behind.
// Loading treats the folder as untrusted input: validated, bounded, reading only regular files inside it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type GenerativeModel, type Taxonomy } from '../core/model.js';
import type { RngState } from '../core/rng.js';
import { checkStoredDataset } from '../data/index.js';
import type { DataSpec } from '../data/spec.js';
import type { DatasetConfig } from '../data/types.js';
import { fsyncDir, removeQuietly, writeError, writeFileSynced } from '../io/atomic.js';
import { readRegularFile, statRegularFile } from '../io/guard.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../io/safetensors.js';
import { restoreCheckpoint } from './checkpoint-restore.js';
import { resolveRunRef } from './pretrained-ref.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_LIMITS,
  CHECKPOINT_VERSION,
  parseCheckpointConfig,
} from './checkpoint-schema.js';
import type { Adam, Ema } from './optim.js';

export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_LIMITS,
  CHECKPOINT_VERSION,
  checkpointConfigSchema,
} from './checkpoint-schema.js';
const WEIGHTS = 'model.safetensors';
const CONFIG = 'config.json';
const RESERVED = ['optim/', 'ema/', 'state/'];

export interface TrainState {
  /** epochs completed */
  epoch: number;
  /** optimizer steps (batches) completed in total */
  step: number;
  /** batches consumed in the current (incomplete) epoch */
  stepInEpoch: number;
  rng: RngState;
  /** per objective: number of updates its optimizer has applied */
  optim: Record<string, { t: number }>;
  /** most recent evaluation / training metrics, and the best of each */
  last?: Record<string, number>;
  best?: Record<string, number>;
}

export interface CheckpointConfig {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  model: { kind: string; config: Record<string, unknown>; taxonomy: Taxonomy };
  spec: DataSpec;
  data: DatasetConfig | null;
  /** the training configuration (TrainConfig), including optimizer hyper-parameters */
  train: Record<string, unknown>;
  state: TrainState;
  backend: string;
  createdAt: string;
  weights: { file: string; bytes: number };
  /** GenerativeModel.getState().json (version 2; absent when the model has no getState) */
  modelState?: unknown;
}

export interface SaveArgs {
  model: GenerativeModel;
  data: DatasetConfig | null;
  train: Record<string, unknown>;
  state: TrainState;
  /** optimizer per objective name */
  optimizers?: Map<string, Adam>;
  ema?: Ema | null;
  backend: string;
}

/** Test hooks: `beforeSwap` runs after the new checkpoint is complete; `writeFile` replaces the file write. */
export interface SaveHooks {
  beforeSwap?: () => void;
  writeFile?: (file: string, data: Uint8Array | string) => void;
}

function toSafe(t: tf.Tensor): SafeTensor {
  const data = t.dataSync();
  if (t.dtype === 'float32') return { dtype: 'F32', shape: t.shape.slice(), data: data as Float32Array };
  if (t.dtype === 'int32') return { dtype: 'I32', shape: t.shape.slice(), data: data as Int32Array };
  if (t.dtype === 'bool')
    return { dtype: 'BOOL', shape: t.shape.slice(), data: Uint8Array.from(data as Uint8Array) };
  throw new Error(`cannot checkpoint a ${t.dtype} tensor`);
}

/** present and not a directory (a FIFO or device is then refused by the reader, with its kind named) */
function isFile(p: string): boolean {
  try {
    return !fs.lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The checkpoint directory for a run dir, a checkpoint dir or `pretrained:NAME` (a model shipped in
 * assets/pretrained/); falls back to `.prev` after an interrupted swap.
 */
export function resolveCheckpointDir(ref: string): string {
  const dir = resolveRunRef(ref);
  const cands = [dir, path.join(dir, 'checkpoint'), `${dir}.prev`, path.join(dir, 'checkpoint.prev')];
  for (const c of cands) if (isFile(path.join(c, CONFIG))) return c;
  if (!fs.existsSync(dir)) throw new UserError(`no checkpoint at ${dir}: the directory does not exist`);
  throw new UserError(`no checkpoint at ${dir}: no ${CONFIG} there or in ${path.join(dir, 'checkpoint')}`);
}

/**
 * Atomically write a checkpoint into `dir` (e.g. runs/NAME/checkpoint). On any failure (a full disk, a
 * read-only directory) the temp folder is removed, the previous checkpoint stays, and a full disk or
 * unwritable directory is a UserError naming the path.
 */
export function saveCheckpoint(dir: string, args: SaveArgs, hooks: SaveHooks = {}): void {
  const { model } = args;
  const tensors = new Map<string, SafeTensor>();
  for (const [name, v] of model.variables()) {
    if (RESERVED.some((p) => name.startsWith(p)))
      throw new Error(`model variable name '${name}' is reserved`);
    tensors.set(name, toSafe(v));
  }
  for (const [obj, opt] of args.optimizers ?? [])
    for (const [rel, t] of opt.state()) tensors.set(`optim/${obj}/${rel}`, toSafe(t));
  for (const [n, t] of args.ema?.shadow ?? []) tensors.set(`ema/${n}`, toSafe(t));
  const ms = model.getState?.();
  for (const [n, t] of Object.entries(ms?.tensors ?? {})) tensors.set(`state/${n}`, toSafe(t));
  const weights = encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT, step: String(args.state.step) });
  const config: CheckpointConfig = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: { kind: model.kind, config: model.config, taxonomy: model.taxonomy },
    spec: model.spec,
    data: args.data,
    train: args.train,
    state: args.state,
    backend: args.backend,
    createdAt: new Date().toISOString(),
    weights: { file: WEIGHTS, bytes: weights.length },
    ...(ms ? { modelState: ms.json ?? null } : {}),
  };
  const write = hooks.writeFile ?? writeFileSynced;
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  const tmp = `${abs}.tmp`;
  const prev = `${abs}.prev`;
  let current = tmp;
  try {
    fs.mkdirSync(parent, { recursive: true });
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
    current = path.join(tmp, WEIGHTS);
    write(current, weights);
    current = path.join(tmp, CONFIG);
    write(current, JSON.stringify(config, null, 2) + '\n');
    current = tmp;
    fsyncDir(tmp);
    hooks.beforeSwap?.();
    current = abs;
    if (fs.existsSync(abs)) {
      // only remove a stale .prev when the current checkpoint is complete, so one good copy always exists
      fs.rmSync(prev, { recursive: true, force: true });
      fs.renameSync(abs, prev);
    }
    fs.renameSync(tmp, abs);
  } catch (e) {
    removeQuietly(tmp);
    // a failure in the middle of the swap: put the previous checkpoint back
    if (!fs.existsSync(abs) && fs.existsSync(prev)) fs.renameSync(prev, abs);
    throw writeError(e, current);
  }
  fsyncDir(parent);
  fs.rmSync(prev, { recursive: true, force: true });
}

/** Read and validate config.json of a checkpoint (run dir or checkpoint dir). */
export function readCheckpointConfig(dir: string): { dir: string; config: CheckpointConfig } {
  const cdir = resolveCheckpointDir(dir);
  const file = path.join(cdir, CONFIG);
  const buf = readRegularFile(file, { maxBytes: CHECKPOINT_LIMITS.maxConfigBytes, within: cdir });
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new UserError(`${file} is not a genmodels checkpoint config (not valid JSON; truncated?)`);
  }
  const config = parseCheckpointConfig(raw, file) as unknown as CheckpointConfig;
  checkStoredDataset(config.data, config.spec);
  return { dir: cdir, config };
}

export interface LoadedCheckpoint {
  /** the checkpoint directory actually read */
  dir: string;
  config: CheckpointConfig;
  model: GenerativeModel;
  /** objective name -> optimizer state by relative name ('m/<var>', 'v/<var>') */
  optimState: Map<string, Map<string, Float32Array>>;
  /** EMA weights by variable name, when the run kept an EMA */
  emaState: Map<string, Float32Array> | null;
}

/**
 * Rebuild the model through the registry (the model's family must be registered, e.g. by importing
 * src/families/index.js) and restore its variables and state. `useEma`: load the EMA weights into the model
 * (for sampling/evaluation) when the checkpoint has them. Every problem with the folder's content is a
 * one-line UserError: nothing outside the folder is read, sizes are checked before allocating, and every
 * tensor's dtype and shape are checked against what the model expects.
 */
export function loadCheckpoint(dir: string, opts: { useEma?: boolean } = {}): LoadedCheckpoint {
  const { dir: cdir, config } = readCheckpointConfig(dir);
  const wname = config.weights.file;
  const wfile = path.join(cdir, wname);
  const size = statRegularFile(wfile, { within: cdir, what: `${cdir}/${wname}` });
  if (size !== config.weights.bytes) {
    throw new UserError(
      `checkpoint ${cdir} is corrupt: ${wname} has ${size} bytes, expected ${config.weights.bytes} (truncated?)`,
    );
  }
  const buf = readRegularFile(wfile, { maxBytes: CHECKPOINT_LIMITS.maxWeightsBytes, within: cdir });
  const { tensors } = decodeSafetensors(buf, wfile, { maxFileBytes: CHECKPOINT_LIMITS.maxWeightsBytes });
  return restoreCheckpoint(cdir, config, tensors, buf.length, opts);
}

// Checkpoints: a directory `<run>/checkpoint/` holding `model.safetensors` (model variables by name, optimizer
// state as `optim/<objective>/{m,v}/<name>`, EMA weights as `ema/<name>`) and `config.json` (everything needed
// to rebuild model, data and training state). Written atomically: the new checkpoint is built and fsynced in
// `checkpoint.tmp/`, the old one is renamed to `checkpoint.prev/`, the new one renamed into place, then the old
// one removed. At every instant a complete checkpoint exists on disk (`checkpoint/` or, after a crash in the
// middle of the swap, `checkpoint.prev/`, which the loader falls back to).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, UserError, type GenerativeModel, type Taxonomy } from '../core/model.js';
import type { RngState } from '../core/rng.js';
import type { DataSpec } from '../data/spec.js';
import type { DatasetConfig } from '../data/types.js';
import { fsyncDir, writeFileSynced } from '../io/atomic.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../io/safetensors.js';
import type { Adam, Ema } from './optim.js';

export const CHECKPOINT_FORMAT = 'genmodels-checkpoint';
export const CHECKPOINT_VERSION = 1;
const WEIGHTS = 'model.safetensors';
const CONFIG = 'config.json';

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

function toSafe(t: tf.Tensor): SafeTensor {
  const data = t.dataSync();
  if (t.dtype === 'float32') return { dtype: 'F32', shape: t.shape.slice(), data: data as Float32Array };
  if (t.dtype === 'int32') return { dtype: 'I32', shape: t.shape.slice(), data: data as Int32Array };
  if (t.dtype === 'bool')
    return { dtype: 'BOOL', shape: t.shape.slice(), data: Uint8Array.from(data as Uint8Array) };
  throw new Error(`cannot checkpoint a ${t.dtype} tensor`);
}

/** The checkpoint directory for a run dir or checkpoint dir (falls back to `.prev` after an interrupted swap). */
export function resolveCheckpointDir(dir: string): string {
  const cands = [dir, path.join(dir, 'checkpoint'), `${dir}.prev`, path.join(dir, 'checkpoint.prev')];
  for (const c of cands) if (fs.existsSync(path.join(c, CONFIG))) return c;
  if (!fs.existsSync(dir)) throw new UserError(`no checkpoint at ${dir}: the directory does not exist`);
  throw new UserError(`no checkpoint at ${dir}: no ${CONFIG} there or in ${path.join(dir, 'checkpoint')}`);
}

/** Atomically write a checkpoint into `dir` (e.g. runs/NAME/checkpoint). `hooks.beforeSwap` is for tests. */
export function saveCheckpoint(dir: string, args: SaveArgs, hooks: { beforeSwap?: () => void } = {}): void {
  const { model } = args;
  const tensors = new Map<string, SafeTensor>();
  const nameOf = new Map<tf.Variable, string>();
  for (const [name, v] of model.variables()) {
    if (name.startsWith('optim/') || name.startsWith('ema/'))
      throw new Error(`model variable name '${name}' is reserved`);
    tensors.set(name, toSafe(v));
    nameOf.set(v, name);
  }
  for (const [obj, opt] of args.optimizers ?? [])
    for (const [rel, t] of opt.state()) tensors.set(`optim/${obj}/${rel}`, toSafe(t));
  for (const [n, t] of args.ema?.shadow ?? []) tensors.set(`ema/${n}`, toSafe(t));
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
  };
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  const tmp = `${abs}.tmp`;
  const prev = `${abs}.prev`;
  fs.mkdirSync(parent, { recursive: true });
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  writeFileSynced(path.join(tmp, WEIGHTS), weights);
  writeFileSynced(path.join(tmp, CONFIG), JSON.stringify(config, null, 2) + '\n');
  fsyncDir(tmp);
  hooks.beforeSwap?.();
  if (fs.existsSync(abs)) {
    // only remove a stale .prev when the current checkpoint is complete, so one good copy always exists
    fs.rmSync(prev, { recursive: true, force: true });
    fs.renameSync(abs, prev);
  }
  fs.renameSync(tmp, abs);
  fsyncDir(parent);
  fs.rmSync(prev, { recursive: true, force: true });
}

/** Read and validate config.json of a checkpoint (run dir or checkpoint dir). */
export function readCheckpointConfig(dir: string): { dir: string; config: CheckpointConfig } {
  const cdir = resolveCheckpointDir(dir);
  const file = path.join(cdir, CONFIG);
  let cfg: CheckpointConfig;
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointConfig;
  } catch {
    throw new UserError(`${file} is not a genmodels checkpoint config (not valid JSON; truncated?)`);
  }
  if (typeof cfg !== 'object' || cfg === null || cfg.format !== CHECKPOINT_FORMAT) {
    throw new UserError(`${file} is not a genmodels checkpoint (format field missing or foreign)`);
  }
  if (typeof cfg.version !== 'number' || cfg.version > CHECKPOINT_VERSION) {
    throw new UserError(
      `${file}: checkpoint version ${cfg.version} is newer than this genmodels understands (${CHECKPOINT_VERSION})`,
    );
  }
  if (!cfg.model?.kind || !cfg.spec?.shape || !cfg.state || !cfg.weights?.file) {
    throw new UserError(`${file}: checkpoint config is incomplete`);
  }
  return { dir: cdir, config: cfg };
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
 * src/families/index.js) and restore its variables. `useEma`: load the EMA weights into the model
 * (for sampling/evaluation) when the checkpoint has them.
 */
export function loadCheckpoint(dir: string, opts: { useEma?: boolean } = {}): LoadedCheckpoint {
  const { dir: cdir, config } = readCheckpointConfig(dir);
  const wfile = path.join(cdir, config.weights.file);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(wfile);
  } catch {
    throw new UserError(`checkpoint ${cdir} is incomplete: cannot read ${config.weights.file}`);
  }
  if (buf.length !== config.weights.bytes) {
    throw new UserError(
      `checkpoint ${cdir} is corrupt: ${config.weights.file} has ${buf.length} bytes, expected ${config.weights.bytes} (truncated?)`,
    );
  }
  const { tensors } = decodeSafetensors(buf, wfile);
  const seed = typeof config.train?.seed === 'number' ? (config.train.seed as number) : 0;
  const model = createModel(config.model.kind, config.model.config, config.spec, seed, { saved: true });
  const emaState = new Map<string, Float32Array>();
  const optimState = new Map<string, Map<string, Float32Array>>();
  for (const [name, t] of tensors) {
    if (name.startsWith('ema/')) emaState.set(name.slice(4), t.data as Float32Array);
    else if (name.startsWith('optim/')) {
      const rest = name.slice(6);
      const i = rest.indexOf('/');
      const obj = rest.slice(0, i);
      if (!optimState.has(obj)) optimState.set(obj, new Map());
      optimState.get(obj)!.set(rest.slice(i + 1), t.data as Float32Array);
    }
  }
  try {
    for (const [name, v] of model.variables()) {
      const t = (
        opts.useEma && emaState.has(name) ? { data: emaState.get(name)!, shape: v.shape } : tensors.get(name)
      ) as Pick<SafeTensor, 'data' | 'shape'> | undefined;
      if (!t)
        throw new UserError(
          `checkpoint ${cdir} has no weights for variable '${name}' of model '${model.kind}'`,
        );
      if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
        throw new UserError(
          `checkpoint ${cdir}: variable '${name}' has shape [${t.shape}], the model expects [${v.shape}]`,
        );
      }
      tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array | Int32Array, v.shape, v.dtype)));
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { dir: cdir, config, model, optimState, emaState: emaState.size ? emaState : null };
}

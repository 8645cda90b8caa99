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
import { createModel, UserError, type GenerativeModel, type Taxonomy } from '../core/model.js';
import type { RngState } from '../core/rng.js';
import { checkStoredDataset } from '../data/index.js';
import type { DataSpec } from '../data/spec.js';
import type { DatasetConfig } from '../data/types.js';
import { fsyncDir, removeQuietly, writeError, writeFileSynced } from '../io/atomic.js';
import { oneLine, readRegularFile, statRegularFile } from '../io/guard.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../io/safetensors.js';
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

const DTYPE_OF: Record<string, SafeTensor['dtype']> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

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

/** The checkpoint directory for a run dir or checkpoint dir (falls back to `.prev` after an interrupted swap). */
export function resolveCheckpointDir(dir: string): string {
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

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

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
  const seed = typeof config.train.seed === 'number' ? config.train.seed : 0;
  let model: GenerativeModel;
  try {
    // the model that the stored config describes may not allocate much more than the weights it stores
    // (a crafted config with huge widths would otherwise exhaust memory before the shape check below)
    const budget = 4 * buf.length + 64 * 2 ** 20;
    model = withAllocationBudget(budget, cdir, () =>
      createModel(config.model.kind, config.model.config, config.spec, seed, { saved: true }),
    );
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `checkpoint ${cdir}: model '${config.model.kind}' cannot be built from its stored config (${oneLine((e as Error).message, 120)})`,
    );
  }
  const bad = (why: string) => new UserError(`checkpoint ${cdir}: ${why}`);
  const q = (n: string) => `'${oneLine(n, 60)}'`;
  try {
    const vars = model.variables();
    const expect = (name: string, t: SafeTensor, v: tf.Variable, what: string) => {
      const want = DTYPE_OF[v.dtype];
      if (t.dtype !== want)
        throw bad(`${what} ${q(name)} is stored as ${t.dtype}, the model expects ${want ?? v.dtype}`);
      if (!sameShape(t.shape, v.shape))
        throw bad(`${what} ${q(name)} has shape [${t.shape}], the model expects [${v.shape}]`);
    };
    const emaState = new Map<string, Float32Array>();
    const optimState = new Map<string, Map<string, Float32Array>>();
    const stateTensors = new Map<string, SafeTensor>();
    for (const [name, t] of tensors) {
      if (name.startsWith('ema/')) {
        const v = vars.get(name.slice(4));
        if (!v) throw bad(`EMA tensor ${q(name)} names no variable of model '${model.kind}'`);
        expect(name, t, v, 'EMA tensor');
        emaState.set(name.slice(4), t.data as Float32Array);
      } else if (name.startsWith('optim/')) {
        const m = /^optim\/([^/]+)\/([mv])\/(.+)$/.exec(name);
        const v = m ? vars.get(m[3]!) : undefined;
        if (!m || !v) throw bad(`optimizer tensor ${q(name)} names no variable of model '${model.kind}'`);
        expect(name, t, v, 'optimizer tensor');
        if (!optimState.has(m[1]!)) optimState.set(m[1]!, new Map());
        optimState.get(m[1]!)!.set(`${m[2]}/${m[3]}`, t.data as Float32Array);
      } else if (name.startsWith('state/')) stateTensors.set(name.slice(6), t);
    }
    for (const [name, v] of vars) {
      const t = tensors.get(name);
      if (!t) throw bad(`no weights for variable ${q(name)} of model '${model.kind}'`);
      expect(name, t, v, 'variable');
    }
    for (const [name, v] of vars) {
      const data = opts.useEma && emaState.has(name) ? emaState.get(name)! : tensors.get(name)!.data;
      tf.tidy(() => v.assign(tf.tensor(data as Float32Array | Int32Array | Uint8Array, v.shape, v.dtype)));
    }
    if (model.setState) restoreState(model, stateTensors, config.modelState, bad);
    return { dir: cdir, config, model, optimState, emaState: emaState.size ? emaState : null };
  } catch (e) {
    model.dispose();
    if (e instanceof UserError) throw e;
    throw bad(`cannot restore model '${model.kind}' (${oneLine((e as Error).message, 120)})`);
  }
}

/**
 * Runs fn while tfjs tensor allocations may grow by at most `bytes`: past that a UserError is thrown as
 * soon as the tensor that crosses it is registered (so at most one tensor over the budget is allocated).
 */
function withAllocationBudget<T>(bytes: number, cdir: string, fn: () => T): T {
  const engine = tf.engine() as unknown as {
    trackTensor: (...a: unknown[]) => unknown;
    state: { numBytes: number };
  };
  const orig = engine.trackTensor;
  const start = engine.state.numBytes;
  engine.trackTensor = function (this: unknown, ...a: unknown[]) {
    const r = orig.apply(this, a);
    const used = engine.state.numBytes - start;
    if (used > bytes)
      throw new UserError(
        `checkpoint ${cdir}: its stored model config asks for more than ${Math.round(bytes / 2 ** 20)} MB of tensors, far more than its weights file holds (refused before allocating the rest)`,
      );
    return r;
  };
  try {
    return fn();
  } finally {
    engine.trackTensor = orig;
  }
}

function restoreState(
  model: GenerativeModel,
  stored: Map<string, SafeTensor>,
  json: unknown,
  bad: (why: string) => UserError,
): void {
  const dtypes: Record<string, 'float32' | 'int32' | 'bool'> = { F32: 'float32', I32: 'int32', BOOL: 'bool' };
  const tensors: Record<string, tf.Tensor> = {};
  try {
    for (const [n, t] of stored) {
      const dt = dtypes[t.dtype];
      if (!dt)
        throw bad(`model state tensor '${oneLine(n, 60)}' has dtype ${t.dtype}; F32, I32 or BOOL expected`);
      tensors[n] = tf.tensor(t.data as Float32Array | Int32Array | Uint8Array, t.shape, dt);
    }
    model.setState!({ tensors, json: json ?? null });
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

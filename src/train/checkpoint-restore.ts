// Rebuilding a model from a checkpoint's validated config.json and its decoded tensors: the part of loading
// that reads no files, shared by loadCheckpoint (Node) and the browser build (src/browser/), which fetches
// the same two files. Model variables may be stored as F16 (the pretrained models in assets/pretrained/):
// they are widened to F32 here; optimizer and EMA tensors must match the variable's dtype.
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/errors.js';
import type { GenerativeModel } from '../core/model.js';
import { createModel } from '../core/registry.js';
import { oneLine } from '../io/oneline.js';
import { float16ToFloat32, type SafeTensor } from '../io/safetensors-core.js';
import type { CheckpointConfig, LoadedCheckpoint } from './checkpoint.js';

const DTYPE_OF: Record<string, SafeTensor['dtype']> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Build the model that `config` describes through the registry (the model's family must be registered) and
 * restore its variables and state from `tensors` (decoded from a weights file of `weightsBytes` bytes).
 * `useEma`: load the EMA weights into the model when the checkpoint has them. Every problem is a one-line
 * UserError naming `cdir`.
 */
export function restoreCheckpoint(
  cdir: string,
  config: CheckpointConfig,
  tensors: Map<string, SafeTensor>,
  weightsBytes: number,
  opts: { useEma?: boolean } = {},
): LoadedCheckpoint {
  const seed = typeof config.train.seed === 'number' ? config.train.seed : 0;
  let model: GenerativeModel;
  try {
    // the model that the stored config describes may not allocate much more than the weights it stores
    // (a crafted config with huge widths would otherwise exhaust memory before the shape check below)
    const budget = 4 * weightsBytes + 64 * 2 ** 20;
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
      let t = tensors.get(name);
      if (!t) throw bad(`no weights for variable ${q(name)} of model '${model.kind}'`);
      if (t.dtype === 'F16' && v.dtype === 'float32') {
        t = { dtype: 'F32', shape: t.shape, data: float16ToFloat32(t.data as Uint16Array) };
        tensors.set(name, t);
      }
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

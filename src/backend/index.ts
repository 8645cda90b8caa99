// Backend choice: the native libtorch backend ('torch') when its addon loads, else wasm, else cpu.
// The torch backend lives in src/backend/torch/ (kernel table over the N-API addon in native/).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { registerAllGradients } from './gradients.js';

export type BackendName = 'torch' | 'wasm' | 'cpu';
const NAMES: BackendName[] = ['torch', 'wasm', 'cpu'];

export interface BackendInfo {
  backend: string;
  threads: number;
  libtorchVersion?: string;
  addonPath?: string;
}

let wasmPathsSet = false;
let torchModule: typeof import('./torch/index.js') | undefined;

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (!wasmPathsSet) {
      const require = createRequire(import.meta.url);
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(dir + path.sep);
      wasmPathsSet = true;
    }
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

/** Register and select 'torch'; returns null on success, else why not. */
async function tryTorch(threads?: number): Promise<string | null> {
  try {
    torchModule ??= await import('./torch/index.js');
    const err = torchModule.registerTorch({ threads });
    if (err !== null) return err;
    if (!(await tf.setBackend('torch'))) return 'the torch backend failed to initialize';
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/**
 * Select a backend. `preferred` (or env GENMODELS_BACKEND) forces one; otherwise torch > wasm > cpu.
 * Returns the name of the backend in use. Prints a one-line notice (stderr) when falling back, unless
 * quiet. Threads: opts.threads, else env GENMODELS_THREADS, else the number of cores. Also registers tfjs-core's gradients (its Node entry does not).
 */
export async function initBackend(
  preferred?: BackendName,
  opts: { quiet?: boolean; threads?: number } = {},
): Promise<BackendName> {
  await registerAllGradients();
  const env = process.env.GENMODELS_BACKEND;
  if (preferred === undefined && env !== undefined && env !== '' && !NAMES.includes(env as BackendName)) {
    throw new Error(`GENMODELS_BACKEND must be one of ${NAMES.join(', ')} (got '${env}')`);
  }
  const want = preferred ?? ((env || undefined) as BackendName | undefined);
  const notice = (msg: string) => {
    if (!opts.quiet) process.stderr.write(`genmodels: ${msg}\n`);
  };
  if (want === 'cpu') {
    await tf.setBackend('cpu');
    return 'cpu';
  }
  if (want === 'wasm') {
    if (await tryWasm()) return 'wasm';
    throw new Error('the wasm backend could not be initialized');
  }
  const envThreads = process.env.GENMODELS_THREADS;
  let threads = opts.threads;
  if (threads === undefined && envThreads) {
    threads = Number(envThreads);
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`GENMODELS_THREADS must be a positive integer (got '${envThreads}')`);
  }
  const why = await tryTorch(threads);
  if (why === null) return 'torch';
  if (want === 'torch') throw new Error(`the torch backend is unavailable: ${why}`);
  if (await tryWasm()) {
    notice(`using the wasm backend (torch backend unavailable: ${why})`);
    return 'wasm';
  }
  await tf.setBackend('cpu');
  notice(`using the slow cpu backend (torch backend unavailable: ${why}; wasm failed to load)`);
  return 'cpu';
}

/** What is running: backend name, intra-op threads, and for 'torch' the libtorch version and addon path. */
export function backendInfo(): BackendInfo {
  const backend = tf.getBackend();
  const info = backend === 'torch' ? torchModule?.torchInfo() : undefined;
  if (info !== undefined) return { backend, ...info };
  // wasm runs single-threaded here (no SharedArrayBuffer worker pool in Node); cpu is single-threaded
  return { backend, threads: backend === 'wasm' || backend === 'cpu' ? 1 : os.availableParallelism() };
}

// Backend choice: the native libtorch backend ('torch') when its addon loads, else wasm, else cpu.
// (The torch part is filled in by src/backend/torch/.)
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export type BackendName = 'torch' | 'wasm' | 'cpu';

let wasmPathsSet = false;

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

/**
 * Select a backend. `preferred` (or env GENMODELS_BACKEND) forces one; otherwise torch > wasm > cpu.
 * Returns the name of the backend in use. Prints a one-line notice when falling back, unless quiet.
 */
export async function initBackend(preferred?: BackendName, opts: { quiet?: boolean } = {}): Promise<BackendName> {
  const want = preferred ?? (process.env.GENMODELS_BACKEND as BackendName | undefined);
  if (want === 'cpu') {
    await tf.setBackend('cpu');
    return 'cpu';
  }
  if (want === 'wasm') {
    if (await tryWasm()) return 'wasm';
    throw new Error('the wasm backend could not be initialized');
  }
  if (await tryWasm()) return 'wasm';
  await tf.setBackend('cpu');
  return 'cpu';
}

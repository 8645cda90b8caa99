// Backend choice: the native libtorch backend ('torch') when its addon loads, else wasm, else cpu.
// The torch backend lives in src/backend/torch/ (kernel table over the N-API addon in native/).
import { tuneEngine } from './engine.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { registerAllGradients } from './gradients.js';
import { locateAddon, type AddonLocation } from './torch/locate.js';
import {
  describePrecision,
  precision,
  precisionSetting,
  resolvePrecision,
  setPrecision,
  type Precision,
  type PrecisionSetting,
} from './torch/precision.js';

export type { Precision, PrecisionSetting } from './torch/precision.js';
export { cpuBf16, describePrecision, precision, withPrecision } from './torch/precision.js';

export type BackendName = 'torch' | 'wasm' | 'cpu';
const NAMES: BackendName[] = ['torch', 'wasm', 'cpu'];

export interface BackendInfo {
  backend: string;
  threads: number;
  /** the torch backend's matmul/conv precision now (src/backend/torch/precision.ts); fp32 elsewhere */
  precision: Precision;
  libtorchVersion?: string;
  addonPath?: string;
}

/** Whether the torch backend is in use, and if not why and the command that would give it. */
export interface TorchStatus {
  loaded: boolean;
  /** why torch is not in use (one line) */
  reason?: string;
  /** the one command that gives (or repairs) it, e.g. `npm install @genmodels/torch@0.1.0` */
  fix?: string;
  /** where the addon comes from: 'package' (@genmodels/torch), 'checkout' (native/build) or 'env' */
  source?: AddonLocation['source'];
  /** @genmodels/torch's version, when the addon comes from it */
  packageVersion?: string;
}

let wasmPathsSet = false;
let torchModule: typeof import('./torch/index.js') | undefined;
/** why the last initBackend() did not get torch (undefined: it got it, or never tried) */
let torchWhy: string | undefined;

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
 * Precision: opts.precision, else env GENMODELS_PRECISION, else fp32 ('auto': bf16 when `training` on a
 * torch backend whose CPU reports bf16 support; 'bf16' without that support is a UserError).
 */
export async function initBackend(
  preferred?: BackendName,
  opts: { quiet?: boolean; threads?: number; precision?: PrecisionSetting; training?: boolean } = {},
): Promise<BackendName> {
  const name = await selectBackend(preferred, opts);
  const setting =
    opts.precision ?? precisionSetting(process.env.GENMODELS_PRECISION, 'GENMODELS_PRECISION') ?? 'fp32';
  setPrecision(resolvePrecision(setting, { training: opts.training ?? false, backend: name }));
  return name;
}

async function selectBackend(
  preferred: BackendName | undefined,
  opts: { quiet?: boolean; threads?: number },
): Promise<BackendName> {
  await registerAllGradients();
  tuneEngine();
  const env = process.env.GENMODELS_BACKEND;
  if (preferred === undefined && env !== undefined && env !== '' && !NAMES.includes(env as BackendName)) {
    throw new Error(`GENMODELS_BACKEND must be one of ${NAMES.join(', ')} (got '${env}')`);
  }
  const want = preferred ?? ((env || undefined) as BackendName | undefined);
  const notice = (msg: string) => {
    if (!opts.quiet) process.stderr.write(`genmodels: ${msg}\n`);
  };
  torchWhy = undefined;
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
  torchWhy = why;
  if (want === 'torch') throw new Error(`the torch backend is unavailable: ${why}`);
  const fix = torchFix();
  if (await tryWasm()) {
    notice(`using the wasm backend (torch backend unavailable: ${why}${fix})`);
    return 'wasm';
  }
  await tf.setBackend('cpu');
  notice(`using the slow cpu backend (torch backend unavailable: ${why}${fix}; wasm failed to load)`);
  return 'cpu';
}

/**
 * The precision `genmodels train` would use on this backend with GENMODELS_PRECISION (default fp32), and why,
 * as one line for `genmodels info` (a refused setting says so).
 */
export function trainingPrecisionLine(backend: string): string {
  try {
    const env = process.env.GENMODELS_PRECISION;
    const setting = precisionSetting(env, 'GENMODELS_PRECISION') ?? 'fp32';
    const p = resolvePrecision(setting, { training: true, backend });
    return `${describePrecision(p)} (setting ${setting}${env ? ' from GENMODELS_PRECISION' : ''}); evaluation fp32`;
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
}

/** '; to get it: <command>' for the fallback notice ('' when the loader cannot say). */
function torchFix(): string {
  try {
    return `; to get it: ${locateAddon().fix}`;
  } catch {
    return '';
  }
}

/** What is running: backend name, intra-op threads, and for 'torch' the libtorch version and addon path. */
export function backendInfo(): BackendInfo {
  const backend = tf.getBackend();
  const info = backend === 'torch' ? torchModule?.torchInfo() : undefined;
  if (info !== undefined) return { backend, precision: precision(), ...info };
  // wasm runs single-threaded here (no SharedArrayBuffer worker pool in Node); cpu is single-threaded
  const threads = backend === 'wasm' || backend === 'cpu' ? 1 : os.availableParallelism();
  return { backend, precision: precision(), threads };
}

/**
 * Torch in use or not: for another backend, why (the loader's one-line reason, or that another backend was
 * asked for) and the one command that would give torch (install, build or rebuild its addon).
 */
export function torchStatus(): TorchStatus {
  let where: AddonLocation;
  try {
    where = locateAddon();
  } catch (e) {
    return { loaded: false, reason: (e as Error).message.split('\n')[0] };
  }
  const from = {
    source: where.source,
    ...(where.packageVersion !== undefined ? { packageVersion: where.packageVersion } : {}),
  };
  if (tf.getBackend() === 'torch') return { loaded: true, ...from };
  const reason =
    torchWhy ??
    `not tried (backend '${tf.getBackend()}' was asked for)${where.path ? `; an addon is at ${where.path}` : ''}`;
  return {
    loaded: false,
    reason,
    ...(torchWhy !== undefined || where.path === undefined ? { fix: where.fix } : {}),
    ...from,
  };
}

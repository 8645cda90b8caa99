// One backend, one workload, one process: `node worker.js --backend wasm --workload W1 --steps 20 --warmup 3 [--warmup-sec S]`.
// Prints one JSON line (WorkerResult) on stdout. Spawned by bench/run.ts so backends never share a process.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerAllGradients } from '../src/backend/gradients.js';
import { backendInfo as libBackendInfo, initBackend, type BackendName } from '../src/backend/index.js';
import { makeWorkload, type WorkloadName } from './workloads.js';

export interface WorkerResult {
  backend: string;
  workload: string;
  /** 'ok', or 'n/a' with a reason in `note` */
  status: 'ok' | 'n/a' | 'error';
  note?: string;
  /** per-step (or, for 'add', per-op) times; ms for workloads, µs for add */
  times?: number[];
  median?: number;
  /** median process CPU time per step (ms), workloads only */
  cpuMedian?: number;
  mean?: number;
  unit?: 'ms' | 'us';
  /** losses returned by steps 1 and 2 (step 2's loss shows the effect of the first Adam update) */
  losses?: number[];
  /** tensors alive after the timed steps minus before (must be 0) */
  tensorLeak?: number;
  info?: Record<string, unknown>;
  /** with several bench rounds: each round's median (the pooled `median` is over all rounds' times) */
  rounds?: number[];
}

/** Repository root: this file is <root>/<outDir>/bench/worker.js. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Is a built addon present under native/build/Release? */
export function torchAddonBuilt(): boolean {
  const dir = path.join(ROOT, 'native', 'build', 'Release');
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.node'));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel, so conv training fails there. With --shim the
 * worker registers one that runs wasm's own Conv3DBackpropFilterV2 on depth-1 views of the same buffers
 * (a 2-D conv is a 3-D conv with depth 1). All arithmetic stays in wasm; the table marks such cells.
 * Checked against the cpu backend and PyTorch for stride 1 ('same' and 'valid'); wasm's 3-D kernel gives wrong
 * filter gradients for stride > 1, so the shim refuses strides other than 1.
 */
export function registerWasmConv2DBackpropFilterShim(): boolean {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return false;
  const conv3d = tf.getKernel('Conv3DBackpropFilterV2', 'wasm');
  if (!conv3d) throw new Error('wasm has no Conv3DBackpropFilterV2 either');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as {
        strides: number | [number, number];
        pad: 'same' | 'valid' | number;
        dataFormat: string;
        dilations?: number | [number, number];
        filterShape: [number, number, number, number];
      };
      if (a.dataFormat !== 'NHWC') throw new Error('shim: NHWC only');
      if (typeof a.pad !== 'string') throw new Error('shim: pad same/valid only');
      const [sh, sw] = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
      // wasm's Conv3DBackpropFilterV2 (4.22) disagrees with cpu and PyTorch for strides > 1: refuse those
      if (sh !== 1 || sw !== 1) throw new Error('wasm Conv2DBackpropFilter shim: stride 1 only');
      const dil = a.dilations ?? 1;
      if ((Array.isArray(dil) ? dil : [dil]).some((d) => d !== 1))
        throw new Error('wasm Conv2DBackpropFilter shim: dilation 1 only');
      const view = (t: tf.TensorInfo): tf.TensorInfo => ({
        dataId: t.dataId,
        dtype: t.dtype,
        shape: [t.shape[0]!, 1, ...t.shape.slice(1)],
      });
      const out = conv3d.kernelFunc({
        inputs: { x: view(x), dy: view(dy) },
        backend,
        attrs: { strides: [1, sh, sw], pad: a.pad, filterShape: [1, ...a.filterShape] },
      }) as tf.TensorInfo;
      return { dataId: out.dataId, dtype: out.dtype, shape: a.filterShape };
    },
  });
  return true;
}

function args(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out[a.slice(2)] = next;
      i++;
    } else out[a.slice(2)] = 'true';
  }
  return out;
}

/** The BLAS shared objects this process actually mapped (Linux), e.g. 'openblas-openmp/libblas.so.3'. */
export function loadedBlas(): string[] {
  try {
    const libs = new Set<string>();
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const file = line.split(/\s+/).pop() ?? '';
      if (file.includes('blas') && file.includes('.so')) libs.add(file.split('/').slice(-2).join('/'));
    }
    return [...libs].sort();
  } catch {
    return [];
  }
}

async function backendInfo(name: string): Promise<Record<string, unknown>> {
  const info: Record<string, unknown> = { tfjsCore: tf.version_core };
  if (name === 'torch') info.threads = libBackendInfo().threads;
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    info.tfjsWasm = wasm.version_wasm;
    info.threads = wasm.getThreadsCount();
    info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  }
  return info;
}

/** Per-op dispatch overhead: tf.add on two 2x2 tensors, result disposed, in µs per op. */
function timeSmallAdd(rounds: number, perRound: number): number[] {
  const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const b = tf.tensor2d([5, 6, 7, 8], [2, 2]);
  for (let i = 0; i < perRound; i++) tf.add(a, b).dispose();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) tf.add(a, b).dispose();
    const c = tf.add(a, b);
    c.dataSync();
    c.dispose();
    times.push(Number(process.hrtime.bigint() - t0) / 1e3 / (perRound + 1));
  }
  tf.dispose([a, b]);
  return times;
}

async function main(): Promise<WorkerResult> {
  const o = args(process.argv.slice(2));
  const backend = (o.backend ?? 'wasm') as BackendName;
  const workload = o.workload ?? 'W1';
  const steps = Number(o.steps ?? 20);
  const warmup = Number(o.warmup ?? 3);
  const warmupSec = Number(o['warmup-sec'] ?? 0);
  const base: WorkerResult = { backend, workload, status: 'n/a' };

  if (backend === 'torch' && !torchAddonBuilt()) return { ...base, note: 'n/a (addon not built)' };
  const threads = o.threads === undefined ? undefined : Number(o.threads);
  // --precision bf16: the torch backend's autocast policy (src/backend/torch/precision.ts), as in training
  const precision = o.precision === 'bf16' ? { precision: 'bf16' as const, training: true } : {};
  const got = await initBackend(backend, { quiet: true, threads, ...precision });
  if (got !== backend || tf.getBackend() !== backend)
    return {
      ...base,
      note: `n/a (addon built but backend '${backend}' not registered; got '${tf.getBackend()}')`,
    };
  await registerAllGradients(); // the library's (initBackend already did; idempotent)
  const info = await backendInfo(backend);
  if (o.shim === 'true' && backend === 'wasm') info.shimmed = registerWasmConv2DBackpropFilterShim();

  if (workload === 'add') {
    const times = timeSmallAdd(steps, 10000);
    return { ...base, status: 'ok', times, median: median(times), mean: mean(times), unit: 'us', info };
  }
  const w = makeWorkload(workload as WorkloadName);
  if (!w) return { ...base, status: 'error', note: `unknown workload ${workload}` };

  const losses: number[] = [];
  const times: number[] = [];
  /** process CPU time (user + system) per measured step: with one thread, a load-robust companion of `times` */
  const cpuTimes: number[] = [];
  // warm-up: at least `warmup` steps and `warmupSec` seconds (a fresh process's steps on the torch backend
  // keep getting faster over the first ~100 small steps; reference.py applies the same rule to PyTorch)
  const start = process.hrtime.bigint();
  const warm = () => Number(process.hrtime.bigint() - start) / 1e9 >= warmupSec;
  let warmupSteps = -1;
  let before = 0;
  for (let s = 0; warmupSteps < 0 || s < warmupSteps + steps; s++) {
    if (warmupSteps < 0 && s >= warmup && warm()) {
      warmupSteps = s;
      before = tf.memory().numTensors;
    }
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const loss = w.step();
    const v = (await loss.data())[0]!;
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    loss.dispose();
    if (losses.length < 2) losses.push(v);
    if (warmupSteps >= 0) {
      times.push(dt);
      cpuTimes.push((c.user + c.system) / 1e3);
    }
  }
  const tensorLeak = tf.memory().numTensors - before;
  w.dispose();
  return {
    ...base,
    status: 'ok',
    times,
    median: median(times),
    mean: mean(times),
    unit: 'ms',
    cpuMedian: median(cpuTimes),
    losses,
    tensorLeak,
    info: { ...info, steps, warmup: warmupSteps, warmupSec, blas: loadedBlas() },
  };
}

// Only run when executed directly (run.ts imports helpers from this file).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main()
    .then((r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
    })
    .catch((e: unknown) => {
      const msg = e instanceof Error ? e.message : String(e);
      const o = args(process.argv.slice(2));
      const r: WorkerResult = {
        backend: o.backend ?? '?',
        workload: o.workload ?? '?',
        status: 'error',
        note: msg,
      };
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exitCode = 1;
    });
}

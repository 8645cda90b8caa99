// Registers the 'torch' tfjs backend (libtorch through the N-API addon) with its kernel table.
import * as os from 'node:os';
import {
  div,
  engine,
  getBackend,
  getGradient,
  registerBackend,
  registerKernel,
  reshape,
  util,
} from '@tensorflow/tfjs-core';
import type {
  GradConfig,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  Tensor,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getKernelsForBackend } from '@tensorflow/tfjs-core';
import { TorchBackend } from './backend.js';
import { fusedAdamUpdate } from './adam.js';
import { setFastAdam } from '../../train/optim.js';
import { CPU, bindOps, fusedKernels, kernels } from './kernels.js';
import type { DirectKernel } from './kernel-util.js';
import { fallbackCounts, runOnCpu } from './fallback.js';
import { loadAddon, loadError } from './native.js';
import { setPrecision, type Precision } from './precision.js';

export { TorchBackend } from './backend.js';
export { fallbackCounts } from './fallback.js';
export { kernels } from './kernels.js';

let registered = false;
let threads = 0;

/** Kernels that run natively, and kernels that only exist as the cpu fallback. */
export function kernelCoverage(): { native: string[]; fallback: string[] } {
  const native = Object.keys(kernels).sort();
  const fallback = getKernelsForBackend('cpu')
    .map((k) => k.kernelName)
    .filter((n) => !(n in kernels))
    .sort();
  return { native, fallback };
}

/**
 * Register the 'torch' backend if the addon loads. Returns null on success, else the reason.
 * Threads default to the number of cores (os.availableParallelism()); freed tensor blocks are cached
 * (up to cacheBytes, default 1 GiB) so training steps do not re-fault their memory. The library's Adam
 * (src/train/optim.ts) gets its in-place update on this backend (adam.ts). `precision`: the matmul/conv
 * policy from now on (precision.ts; initBackend resolves 'auto' and checks the CPU before it sets one).
 */
export function registerTorch(
  opts: { threads?: number; cacheBytes?: number; precision?: Precision } = {},
): string | null {
  if (opts.precision !== undefined) setPrecision(opts.precision);
  if (registered) return null;
  const loaded = loadAddon();
  if (loaded === null) return loadError;
  const N = loaded.addon;
  registerBackend(
    'torch',
    () => {
      N.useCachingAllocator(opts.cacheBytes ?? 1 << 30);
      const b = new TorchBackend(N);
      threads = b.setThreads(opts.threads ?? os.availableParallelism());
      bindOps(b);
      patchGradients(); // gradients may have been registered after registerTorch()
      return b;
    },
    3,
  );
  for (const [name, impl] of [...Object.entries(kernels), ...Object.entries(fusedKernels)]) {
    const general: KernelFunc = ({ inputs, attrs, backend }) => {
      const b = backend as TorchBackend;
      const ins = inputs as Record<string, TensorInfo>;
      const at = attrs ?? {};
      let r;
      const largest = scanInputs(ins);
      if (largest < 0) return runOnCpu(name, b, ins, at);
      b.sizeHint(largest);
      try {
        r = b.scoped(() => impl(b, ins, at));
      } catch (e) {
        // An ATen limitation (e.g. an op without an int32 kernel) falls back to the cpu kernel;
        // if that also fails, the cpu error (tfjs's own wording) is what the user sees.
        if ((e as Error).message.startsWith('torch backend:')) throw e;
        return runOnCpu(name, b, ins, at);
      }
      return r === CPU ? runOnCpu(name, b, ins, at) : r;
    };
    const d = (impl as DirectKernel).direct;
    registerKernel({
      kernelName: name,
      backendName: 'torch',
      kernelFunc: d === undefined ? general : directKernelFunc(d.code, d.arity, general),
    });
  }
  for (const name of kernelCoverage().fallback) {
    registerKernel({
      kernelName: name,
      backendName: 'torch',
      kernelFunc: ({ inputs, attrs, backend }) =>
        runOnCpu(name, backend as TorchBackend, inputs as Record<string, TensorInfo>, attrs ?? {}),
    });
  }
  patchGradients();
  setFastAdam('torch', fusedAdamUpdate);
  registered = true;
  return null;
}

/**
 * Gradient formulas that are cheaper on 'torch'. A registered gradient config is shared by all backends,
 * so each patch keeps tfjs's formula for every other backend (and for inputs it does not cover).
 * - Relu: tfjs's dy * cast(step(x)) (three full passes) becomes one threshold_backward pass
 *   (differs only for NaN inputs: PyTorch semantics).
 * - Sum, Mean: tfjs's mul(reshape(dy), ones(x.shape)) fills a ones array in JS, uploads it and multiplies;
 *   here reshape(dy) is broadcast to x.shape in one native copy. Same values bit for bit (dy * 1 = dy;
 *   Mean divides dy by the reduce size before broadcasting instead of after, elementwise the same).
 */
function patchGradients(): void {
  patchGradient('Relu', (original) => (dy, saved, attrs) => {
    if (getBackend() !== 'torch' || Array.isArray(dy)) return original(dy, saved, attrs);
    const [x] = saved;
    return { x: () => engine().runKernel('TorchReluGrad', { dy, x }) as never };
  });
  const broadcastDy =
    (original: GradConfig['gradFunc'], scale: boolean): GradConfig['gradFunc'] =>
    (dy, saved, attrs) => {
      if (getBackend() !== 'torch' || Array.isArray(dy) || dy.dtype !== 'float32')
        return original(dy, saved, attrs);
      const [x] = saved as Tensor[];
      const axes = util.parseAxisParam((attrs as NamedAttrMap).axis as number | number[], x.shape);
      const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const n = axes.reduce((p, a) => p * x.shape[a]!, 1);
      return {
        x: () => {
          const e = reshape(scale ? div(dy, n) : dy, expanded);
          return engine().runKernel('BroadcastTo', { x: e }, { shape: x.shape }) as Tensor;
        },
      };
    };
  patchGradient('Sum', (original) => broadcastDy(original, false));
  patchGradient('Mean', (original) => broadcastDy(original, true));
}

function patchGradient(
  kernel: string,
  make: (original: GradConfig['gradFunc']) => GradConfig['gradFunc'],
): void {
  const config = getGradient(kernel);
  if (config === undefined || (config as { torchPatched?: boolean }).torchPatched) return;
  config.gradFunc = make(config.gradFunc);
  (config as { torchPatched?: boolean }).torchPatched = true;
}

/**
 * One pass over a kernel's inputs: the element count of the largest, or -1 when one is string/complex64
 * (those go to the cpu fallback).
 */
/**
 * An elementwise kernel on float32 inputs as one unboxed addon call, without the general wrapper's input scan,
 * scope and fallback (the result is the only native tensor it makes); any other dtype takes the general path.
 */
function directKernelFunc(code: number, arity: 1 | 2, general: KernelFunc): KernelFunc {
  return (args) => {
    const ins = args.inputs as Record<string, TensorInfo>;
    const x = arity === 1 ? ins.x! : ins.a!;
    const y = arity === 2 ? ins.b! : undefined;
    if (x.dtype !== 'float32' || (y !== undefined && y.dtype !== 'float32')) return general(args);
    const b = args.backend as TorchBackend;
    const n = util.sizeFromShape(x.shape);
    b.sizeHint(y === undefined ? n : Math.max(n, util.sizeFromShape(y.shape)));
    return b.out(y === undefined ? b.fast(code, b.t(x)) : b.fast(code, b.t(x), b.t(y)), 'float32');
  };
}

function scanInputs(inputs: Record<string, TensorInfo | TensorInfo[]>): number {
  let max = 0;
  for (const k in inputs) {
    const i = inputs[k];
    if (i == null) continue;
    if (Array.isArray(i)) {
      for (const t of i) {
        if (t.dtype === 'string' || t.dtype === 'complex64') return -1;
        max = Math.max(max, util.sizeFromShape(t.shape));
      }
    } else {
      if (i.dtype === 'string' || i.dtype === 'complex64') return -1;
      const shape = i.shape;
      let n = 1;
      for (let d = 0; d < shape.length; d++) n *= shape[d]!;
      if (n > max) max = n;
    }
  }
  return max;
}

/** Details of the loaded addon (undefined when not loaded). */
export function torchInfo(): { threads: number; libtorchVersion: string; addonPath: string } | undefined {
  const loaded = loadAddon();
  if (loaded === null) return undefined;
  return {
    threads: threads || loaded.addon.getNumThreads(),
    libtorchVersion: loaded.addon.libtorchVersion,
    addonPath: loaded.path,
  };
}

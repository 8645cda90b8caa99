// Where a training step's time goes on the torch backend (docs/backend.md, "Profile").
//   node dist/bench/profile.js [--workload G|U|W1] [--steps N] [--threads N]
// Prints one JSON object: step time, kernel count, time inside the kernel functions (the registered
// kernelFunc, i.e. our kernel body plus the N-API calls it makes), time inside the addon's call() (N-API
// crossing + argument conversion + ATen dispatch + the ATen kernel), per-kernel and per-ATen-op tables,
// and microbenchmarks of the fixed costs (an empty N-API call, meta(), a dispose, a call of a no-compute
// ATen op, a small add through every layer).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.js';
import type { TorchBackend } from '../src/backend/torch/backend.js';
import type { Arg, NTensor } from '../src/backend/torch/native.js';
import { makeWorkload, type WorkloadName } from './workloads.js';
import { makeDdim, makeUnetStep } from './unet.js';

const now = () => performance.now();

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

/** microseconds per call of f, median of 5 blocks of n calls */
function usPer(n: number, f: () => void): number {
  for (let i = 0; i < n; i++) f();
  const r: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = now();
    for (let i = 0; i < n; i++) f();
    r.push(((now() - t0) * 1e3) / n);
  }
  r.sort((a, b) => a - b);
  return +r[2]!.toFixed(3);
}

async function main(): Promise<void> {
  const workload = arg('workload', 'G');
  const steps = Number(arg('steps', '10'));
  const threads = Number(arg('threads', '1'));
  await initBackend('torch', { quiet: true, threads });
  const b = tf.backend() as TorchBackend;
  const N = b.N;

  // ---- fixed costs
  const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const y = tf.tensor2d([5, 6, 7, 8], [2, 2]);
  const tx = b.t(x);
  const ty = b.t(y);
  const hAdd = N.op('aten::add', 'Tensor');
  const hAlias = N.op('aten::alias', '');
  const hEmpty = N.op('aten::empty', 'memory_format');
  const micro: Record<string, number> = {
    'empty N-API call (getNumThreads)': usPer(200000, () => N.getNumThreads()),
    'meta(t)': usPer(200000, () => N.meta(tx)),
    'call aten::alias + dispose (dispatch floor)': usPer(100000, () =>
      N.dispose(N.call(hAlias, tx) as NTensor),
    ),
    'call aten::empty [2,2] + dispose (allocation)': usPer(100000, () =>
      N.dispose(N.call(hEmpty, [2, 2]) as NTensor),
    ),
    'call aten::add + dispose': usPer(100000, () => N.dispose(N.call(hAdd, tx, ty) as NTensor)),
    'backend.call aten::add + dispose': usPer(100000, () =>
      N.dispose(b.call(hAdd, [tx, ty] as Arg[]) as NTensor),
    ),
    'kernelFunc Add (no engine) + disposeData': usPer(100000, () => {
      const k = tf.getKernel('Add', 'torch')!;
      const r = k.kernelFunc({ inputs: { a: x, b: y }, backend: b, attrs: {} }) as tf.TensorInfo;
      b.disposeData(r.dataId);
    }),
    'tf.add + dispose (whole path)': usPer(100000, () => tf.add(x, y).dispose()),
  };
  tf.dispose([x, y]);

  // ---- instrument: every kernelFunc, and the addon's call()
  const kTime = new Map<string, [number, number]>();
  const aTime = new Map<number, [number, number]>();
  const names = new Map<number, string>();
  let inKernel = 0;
  let inCall = 0;
  let inCallInKernel = 0;
  let depth = 0;
  let on = false;
  const config = tf.getKernelsForBackend('torch');
  for (const c of config) {
    const f = c.kernelFunc;
    (c as { kernelFunc: typeof f }).kernelFunc = (args) => {
      if (!on) return f(args);
      const t0 = now();
      depth++;
      try {
        return f(args);
      } finally {
        depth--;
        const dt = now() - t0;
        if (depth === 0) inKernel += dt;
        const e = kTime.get(c.kernelName) ?? [0, 0];
        e[0]++;
        e[1] += dt;
        kTime.set(c.kernelName, e);
      }
    };
  }
  const call = N.call.bind(N);
  const schema = (h: number) => {
    if (!names.has(h)) names.set(h, N.schema(h).split('(')[0]!);
    return names.get(h)!;
  };
  N.call = (h: number, ...a: Arg[]) => {
    if (!on) return call(h, ...a);
    const t0 = now();
    const r = call(h, ...a);
    const dt = now() - t0;
    inCall += dt;
    if (depth > 0) inCallInKernel += dt;
    const e = aTime.get(h) ?? [0, 0];
    e[0]++;
    e[1] += dt;
    aTime.set(h, e);
    return r;
  };

  const w = workload === 'U' ? makeUnetStep() : makeWorkload(workload as WorkloadName)!;
  for (let s = 0; s < 5; s++) w.step().dispose(); // warm-up, ActNorm init
  kTime.clear();
  inKernel = 0;
  on = true;
  const stepMs: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = now();
    const loss = w.step();
    loss.dataSync();
    loss.dispose();
    stepMs.push(now() - t0);
  }
  on = false;
  // uninstrumented step time for comparison
  const plain: number[] = [];
  const saved = N.call;
  N.call = call;
  for (let s = 0; s < steps; s++) {
    const t0 = now();
    const loss = w.step();
    loss.dataSync();
    loss.dispose();
    plain.push(now() - t0);
  }
  N.call = saved;
  w.dispose();
  const per = (v: number) => +(v / steps).toFixed(3);
  const kernels = [...kTime.entries()]
    .map(([k, [n, t]]) => ({ kernel: k, calls: n / steps, ms: per(t) }))
    .sort((p, q) => q.ms - p.ms);
  const aten = [...aTime.entries()]
    .map(([h, [n, t]]) => ({ op: schema(h), calls: n / steps, ms: per(t) }))
    .sort((p, q) => q.ms - p.ms);
  const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
  const copies = aten.filter((a) => /contiguous|_to_copy|clone|copy_/.test(a.op));
  process.stdout.write(
    JSON.stringify(
      {
        workload,
        threads,
        stepMsInstrumented: +med(stepMs).toFixed(2),
        stepMsPlain: +med(plain).toFixed(2),
        kernelsPerStep: kernels.reduce((s, k) => s + k.calls, 0),
        atenCallsPerStep: aten.reduce((s, k) => s + k.calls, 0),
        msInKernelFuncs: per(inKernel),
        msInAddonCall: per(inCall),
        msInAddonCallFromKernels: per(inCallInKernel),
        msInAddonCallOutsideKernels: per(inCall - inCallInKernel),
        msOutsideKernelsAndAdam: per(med(stepMs) * steps - inKernel - (inCall - inCallInKernel)),
        copies,
        micro,
        kernels: kernels.slice(0, 40),
        aten: aten.slice(0, 40),
      },
      null,
      1,
    ) + '\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(String((e as Error).stack ?? e) + '\n');
  process.exit(1);
});

// In-process A/B of the bf16 policy's cast cache and matmul bound (docs/bf16.md): one workload, one process,
// blocks of steps alternating between the variants, so each block pair sees the same machine load (separate
// processes on this shared machine moved by 20-30% between runs) and the same warm state.
//   node dist/bench/bf16_ab.js [--workload W1|G|U] [--blocks 6] [--steps 10]
// Variants: v0 (cast on every call, bf16 matmuls above 16^3 multiply-adds: the policy before the cache), cache
// (the cast cache only), bound (the 2^21 matmul bound only), new (both: the default). Prints per variant the
// median over blocks of process CPU ms per step (1 thread: load-robust) and of wall ms per step, and every block.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.js';
import { setBf16Cache, setBf16MatmulMinMacs } from '../src/backend/torch/precision.js';
import { makeWorkload, type WorkloadName } from './workloads.js';
import { makeUnetStep } from './unet.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;

async function main(): Promise<void> {
  const workload = arg('workload', 'W1');
  const blocks = Number(arg('blocks', '6'));
  const steps = Number(arg('steps', '10'));
  await initBackend('torch', { quiet: true, threads: 1, precision: 'bf16' });
  const w = workload === 'U' ? makeUnetStep() : makeWorkload(workload as WorkloadName)!;
  const variants: Record<string, [boolean, number | undefined]> = {
    v0: [false, 16 * 16 * 16],
    cache: [true, 16 * 16 * 16],
    bound: [false, undefined],
    new: [true, undefined],
  };
  const run = async (n: number) => {
    for (let s = 0; s < n; s++) {
      const loss = w.step();
      await loss.data();
      loss.dispose();
    }
  };
  await run(20); // warm-up (ActNorm init; a fresh process's first steps are slower)
  const res: Record<string, [number, number][]> = {};
  for (let b = 0; b < blocks; b++)
    for (const [name, [cache, bound]] of Object.entries(variants)) {
      setBf16Cache(cache);
      setBf16MatmulMinMacs(bound);
      await run(2);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await run(steps);
      const c = process.cpuUsage(c0);
      (res[name] ??= []).push([(c.user + c.system) / 1e3 / steps, (performance.now() - t0) / steps]);
    }
  setBf16Cache(true);
  setBf16MatmulMinMacs(undefined);
  w.dispose();
  for (const [name, r] of Object.entries(res))
    process.stdout.write(
      `${workload}\t${name}\tcpu ms ${median(r.map((x) => x[0])).toFixed(2)}\twall ms ${median(r.map((x) => x[1])).toFixed(2)}` +
        `\tper block cpu ${r.map((x) => x[0].toFixed(1)).join(' ')}\n`,
    );
  process.stdout.write(`tfjs tensors after: ${tf.memory().numTensors}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(String((e as Error).stack ?? e) + '\n');
  process.exit(1);
});

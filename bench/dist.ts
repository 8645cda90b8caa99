// Data-parallel scaling on one machine: the Glow step (G) and the W2 conv step of bench/workloads.ts, each
// as 1 worker x 1 thread, 1 worker x 2 threads and 2 workers x 1 thread (c10d/Gloo over loopback), in one
// run. Per-worker batch = the workload's batch (weak scaling, as DistributedDataParallel is used): 2 workers
// process twice the examples per step, so the row to compare is examples/s. Communication: the time the JS
// thread waits in c10d's allreduce per step (rank 0), and the gradient bytes reduced.
//
// The workloads run unchanged: in a worker, the library's Adam.apply is wrapped to average the gradients
// over the group first (what src/distributed/train.ts does inside the training loop).
//
// usage: node dist/bench/dist.js [--steps 10] [--warmup 3] [--workloads G,W2]
//        -> bench/results/dist.json, bench/results/dist.md
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.js';
import { registerAllGradients } from '../src/backend/gradients.js';
import { distributedUnavailable, ProcessGroup } from '../src/distributed/group.js';
import { Adam } from '../src/train/optim.js';
import { WORKLOADS, makeWorkload, type WorkloadName } from './workloads.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..', '..');
const BATCH: Record<string, number> = { G: 16, W2: 64 };

interface WorkerOut {
  rank: number;
  times: number[];
  commMs: number[];
  /** time in the barrier just before each allreduce: waiting for the slower worker (load imbalance) */
  waitMs: number[];
  gradBytes: number;
  losses: number[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

/** one worker process: --worker W --threads T --steps S --warmup K (RANK/WORLD_SIZE/MASTER_* for a group) */
async function worker(): Promise<void> {
  const name = arg('worker', 'W2') as WorkloadName;
  const steps = Number(arg('steps', '10'));
  const warmup = Number(arg('warmup', '3'));
  await initBackend('torch', { quiet: true, threads: Number(arg('threads', '1')) });
  await registerAllGradients();
  const size = Number(process.env.WORLD_SIZE ?? 1);
  const pg =
    size > 1
      ? ProcessGroup.init({
          host: process.env.MASTER_ADDR!,
          port: Number(process.env.MASTER_PORT),
          rank: Number(process.env.RANK),
          size,
          timeoutMs: 120_000,
        })
      : null;
  let gradBytes = 0;
  let waitS = 0;
  if (pg) {
    const apply = Adam.prototype.apply;
    Adam.prototype.apply = function (grads: Map<string, tf.Tensor>, lr: number) {
      const names = [...grads.keys()];
      gradBytes = names.reduce((s, n) => s + grads.get(n)!.size * 4, 0);
      const b0 = pg.commSeconds;
      pg.barrier(); // separates waiting for the other worker from the reduction itself
      waitS += pg.commSeconds - b0;
      const avg = pg.allreduce(
        names.map((n) => grads.get(n)!),
        'avg',
      );
      apply.call(this, new Map(names.map((n, i) => [n, avg[i]!])), lr);
      tf.dispose(avg);
    };
  }
  const w = makeWorkload(name)!;
  const times: number[] = [];
  const commMs: number[] = [];
  const waitMs: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    pg?.barrier(); // every worker starts the step together: a step's time includes waiting for the slowest
    const c0 = pg?.commSeconds ?? 0;
    const w0 = waitS;
    const t0 = performance.now();
    const loss = w.step();
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
    const t = performance.now() - t0;
    if (i >= warmup) {
      times.push(t);
      waitMs.push((waitS - w0) * 1000);
      commMs.push(((pg?.commSeconds ?? 0) - c0 - (waitS - w0)) * 1000);
    }
  }
  w.dispose();
  pg?.destroy();
  const out: WorkerOut = { rank: pg?.rank ?? 0, times, commMs, waitMs, gradBytes, losses };
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function runConfig(name: string, workers: number, threads: number, steps: number, warmup: number) {
  const port = await freePort();
  const procs = Array.from({ length: workers }, (_, rank) => {
    const child = spawn(
      process.execPath,
      [
        SELF,
        '--worker',
        name,
        '--threads',
        String(threads),
        '--steps',
        String(steps),
        '--warmup',
        String(warmup),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: {
          ...process.env,
          ...(workers > 1
            ? {
                RANK: String(rank),
                WORLD_SIZE: String(workers),
                MASTER_ADDR: '127.0.0.1',
                MASTER_PORT: String(port),
              }
            : {}),
        },
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    return new Promise<WorkerOut>((resolve, reject) =>
      child.on('exit', (code) =>
        code === 0
          ? resolve(JSON.parse(out.trim().split('\n').pop()!))
          : reject(new Error(`worker exited ${code}`)),
      ),
    );
  });
  const outs = await Promise.all(procs);
  const r0 = outs.find((o) => o.rank === 0)!;
  // a data-parallel step ends when the slowest worker's does: the max over workers, step by step
  const stepMs = r0.times.map((_, i) => Math.max(...outs.map((o) => o.times[i]!)));
  const ms = median(stepMs);
  return {
    workload: name,
    workers,
    threads,
    stepMs: ms,
    examplesPerSec: (workers * BATCH[name]!) / (ms / 1000),
    commMsPerStep: workers > 1 ? median(r0.commMs) : 0,
    waitMsPerStep: workers > 1 ? median(r0.waitMs) : 0,
    gradMB: r0.gradBytes / 2 ** 20,
    lossStep1: r0.losses[0],
  };
}

async function main(): Promise<void> {
  const why = distributedUnavailable();
  if (why) {
    console.error(`bench/dist: ${why}`);
    process.exit(1);
  }
  const steps = Number(arg('steps', '10'));
  const warmup = Number(arg('warmup', '3'));
  const names = arg('workloads', 'G,W2').split(',');
  const rows: Awaited<ReturnType<typeof runConfig>>[] = [];
  for (const name of names)
    for (const [workers, threads] of [
      [1, 1],
      [1, 2],
      [2, 1],
    ] as const) {
      const r = await runConfig(name, workers, threads, steps, warmup);
      console.error(
        `${name} ${workers} worker x ${threads} thread: ${r.stepMs.toFixed(1)} ms/step, ${r.examplesPerSec.toFixed(1)} examples/s, allreduce ${r.commMsPerStep.toFixed(2)} ms, waiting ${r.waitMsPerStep.toFixed(2)} ms`,
      );
      rows.push(r);
    }
  const meta = {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadAverage: os.loadavg(),
    steps,
    warmup,
    note: 'per-worker batch = the workload batch (weak scaling); stepMs = median over steps of the slowest worker',
  };
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'dist.json'), JSON.stringify({ meta, rows }, null, 2) + '\n');
  const base = (w: string) => rows.find((r) => r.workload === w && r.workers === 1 && r.threads === 1)!;
  const md = [
    `# Data-parallel scaling (bench/dist.ts)`,
    ``,
    `${meta.date}, ${meta.cpus} cores (${meta.cpuModel}), load average ${meta.loadAverage.map((l) => l.toFixed(1)).join(' ')}; ` +
      `median of ${steps} steps after ${warmup} warm-up steps. Per-worker batch = the workload's batch ` +
      `(G ${BATCH.G}, W2 ${BATCH.W2}); a step's time is the slowest worker's. allreduce: rank 0's time in c10d's ` +
      `allreduce of the gradients (Gloo, loopback, one 25 MB bucket at most) per step; waiting: its time in the ` +
      `barrier just before it (the other worker still computing).`,
    ``,
    `| workload | workers x threads | ms/step | examples/s | speed-up (examples/s vs 1x1) | allreduce ms/step | waiting ms/step | gradients MB |`,
    `|---|---|---|---|---|---|---|---|`,
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${r.workers} x ${r.threads} | ${r.stepMs.toFixed(1)} | ${r.examplesPerSec.toFixed(1)} | ` +
        `${(r.examplesPerSec / base(r.workload).examplesPerSec).toFixed(2)} | ${r.workers > 1 ? r.commMsPerStep.toFixed(2) : '-'} | ${r.workers > 1 ? r.waitMsPerStep.toFixed(2) : '-'} | ${r.gradMB ? r.gradMB.toFixed(2) : '-'} |`,
    ),
    ``,
    ...names.map((n) => `- ${n}: ${WORKLOADS[n as WorkloadName]}`),
    ``,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'dist.md'), md);
  process.stdout.write(md);
}

if (process.argv.includes('--worker')) await worker();
else await main();

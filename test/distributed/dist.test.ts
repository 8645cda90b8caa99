// Data-parallel training over c10d/Gloo on loopback, through the real command (genmodels train --nproc):
// 2 workers with batch B each follow the same loss curve and reach the same parameters as 1 worker with
// batch 2B (a VAE and a GAN, 20 steps); a killed worker ends the run with an error in under 60 s; Ctrl-C
// stops every worker at one step and rank 0 saves; a 2-worker checkpoint resumed by 1 worker continues the
// single-process curve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { distributedUnavailable } from '../../src/distributed/group.js';
import { readSafetensors } from '../../src/io/safetensors.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const env: NodeJS.ProcessEnv = { ...process.env, GENMODELS_THREADS: '1', GENMODELS_DIST_TIMEOUT: '30' };
delete env.RANK;
delete env.WORLD_SIZE;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-dist-'));
const cli = (args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, timeout: 240_000 });
const why = distributedUnavailable();
const opts = why ? { skip: why } : {};

// moons, 2560 examples: 40 steps of a 64-example global batch per epoch, so --max-steps stops mid-epoch
const VAE = ['vae', '--data', 'moons', '--limit', '2560', '--batch-size', '64', '--set', 'logEvery=1'];
const GAN = ['gan', '--data', 'moons', '--limit', '2560', '--batch-size', '64', '--set', 'logEvery=1'];
const GAN_SET = ['--set', 'hidden=[32,32]', '--set', 'latentDim=4'];

interface Run {
  losses: Record<string, number>[];
  params: Map<string, Float32Array>;
}

function train(args: string[], out: string, extra: string[] = []): Run {
  const r = cli(['train', ...args, '--out', out, ...extra]);
  assert.equal(r.status, 0, `train ${args.join(' ')} ${extra.join(' ')}:\n${r.stderr}`);
  return readRun(out);
}

function readRun(out: string): Run {
  const losses = fs
    .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { type: string; step: number; losses: Record<string, number> })
    .filter((r) => r.type === 'train')
    .sort((a, b) => a.step - b.step)
    .map((r) => r.losses);
  const { tensors } = readSafetensors(path.join(out, 'checkpoint', 'model.safetensors'));
  const params = new Map<string, Float32Array>();
  for (const [k, t] of tensors) params.set(k, t.data as Float32Array);
  return { losses, params };
}

/** the largest |a - b| / (1 + |b|) over the loss curves, and over the parameters */
function distance(a: Run, b: Run): { loss: number; param: number } {
  assert.equal(a.losses.length, b.losses.length, 'same number of steps');
  let loss = 0;
  a.losses.forEach((la, i) => {
    for (const [k, v] of Object.entries(b.losses[i]!))
      loss = Math.max(loss, Math.abs(la[k]! - v) / (1 + Math.abs(v)));
  });
  assert.deepEqual([...a.params.keys()].sort(), [...b.params.keys()].sort());
  let param = 0;
  for (const [k, pa] of a.params) {
    const pb = b.params.get(k)!;
    assert.equal(pa.length, pb.length, k);
    for (let i = 0; i < pa.length; i++)
      param = Math.max(param, Math.abs(pa[i]! - pb[i]!) / (1 + Math.abs(pb[i]!)));
  }
  return { loss, param };
}

test(
  'VAE: 2 workers x batch 32 = 1 worker x batch 64 (20 steps); a 2-worker checkpoint resumed by 1 worker continues the curve',
  opts,
  (t) => {
    const dir = tmp();
    try {
      const one = train(VAE, path.join(dir, 'one'), ['--max-steps', '20']);
      const two = train(VAE, path.join(dir, 'two'), ['--max-steps', '20', '--nproc', '2']);
      assert.equal(one.losses.length, 20);
      const d = distance(two, one);
      t.diagnostic(`2 workers vs 1: ${JSON.stringify(d)}`);
      assert.ok(d.loss < 1e-4 && d.param < 1e-4, `2 workers vs 1: ${JSON.stringify(d)}`);
      // the comparison can fail: one worker with batch 32 is another run
      const half = train(
        [...VAE.slice(0, -4), '--batch-size', '32', '--set', 'logEvery=1'],
        path.join(dir, 'half'),
        ['--max-steps', '20'],
      );
      const dh = distance(half, one);
      assert.ok(dh.param > 1e-3, `batch 32 should differ from batch 64: ${JSON.stringify(dh)}`);

      // resume: 10 steps on 2 workers, then 10 more on 1 worker
      const split = path.join(dir, 'split');
      train(VAE, split, ['--max-steps', '10', '--nproc', '2']);
      const r = cli(['train', '--resume', split, '--max-steps', '20']);
      assert.equal(r.status, 0, r.stderr);
      const d2 = distance(readRun(split), one);
      t.diagnostic(`2 then 1 worker vs 1: ${JSON.stringify(d2)}; batch 32 vs 64: ${JSON.stringify(dh)}`);
      assert.ok(d2.loss < 1e-4 && d2.param < 1e-4, `2 then 1 worker vs 1: ${JSON.stringify(d2)}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('GAN: both players stay in step: 2 workers x batch 32 = 1 worker x batch 64 (20 steps)', opts, (t) => {
  const dir = tmp();
  try {
    const one = train([...GAN, ...GAN_SET], path.join(dir, 'one'), ['--max-steps', '20']);
    const two = train([...GAN, ...GAN_SET], path.join(dir, 'two'), ['--max-steps', '20', '--nproc', '2']);
    assert.equal(one.losses.length, 20);
    assert.deepEqual(Object.keys(one.losses[0]!).sort(), Object.keys(two.losses[0]!).sort());
    assert.ok(Object.keys(one.losses[0]!).length >= 2, 'two objectives');
    const d = distance(two, one);
    t.diagnostic(`2 workers vs 1: ${JSON.stringify(d)}`);
    assert.ok(d.loss < 1e-4 && d.param < 1e-4, `2 workers vs 1: ${JSON.stringify(d)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'two "machines" on loopback (--nnodes 2 --node-rank r --master host:port): the single-process curve',
  opts,
  async (t) => {
    const dir = tmp();
    try {
      const port = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(p));
        });
      });
      const out = path.join(dir, 'nodes');
      const node = (r: number) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const c = spawn(
            process.execPath,
            [
              MAIN,
              'train',
              ...VAE,
              '--max-steps',
              '10',
              '--out',
              out,
              '--nproc',
              '1',
              '--nnodes',
              '2',
              '--node-rank',
              String(r),
              '--master',
              `127.0.0.1:${port}`,
            ],
            { env, stdio: ['ignore', 'ignore', 'pipe'] },
          );
          let stderr = '';
          c.stderr.on('data', (d) => (stderr += d));
          c.on('exit', (code) => resolve({ code, stderr }));
        });
      const [n0, n1] = await Promise.all([node(0), node(1)]);
      assert.equal(n0.code, 0, n0.stderr);
      assert.equal(n1.code, 0, n1.stderr);
      assert.match(n1.stderr, /on node 1 of 2 \(world size 2/);
      const one = train(VAE, path.join(dir, 'one'), ['--max-steps', '10']);
      const d = distance(readRun(out), one);
      t.diagnostic(`2 nodes vs 1 process: ${JSON.stringify(d)}`);
      assert.ok(d.loss < 1e-4 && d.param < 1e-4, JSON.stringify(d));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a data-parallel step leaves the tensor count flat (2 workers, 15 steps)', opts, async () => {
  const dir = tmp();
  try {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'leak-worker.js');
    const outs = await Promise.all(
      [0, 1].map(
        (r) =>
          new Promise<{ counts: number[]; comm: number }>((resolve, reject) => {
            const c = spawn(process.execPath, [worker, String(r), String(port), path.join(dir, `r${r}`)], {
              env,
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            let out = '';
            c.stdout.on('data', (d) => (out += d));
            c.on('exit', (code) =>
              code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker ${r}: ${code}`)),
            );
          }),
      ),
    );
    for (const o of outs) {
      assert.equal(o.counts.length, 15);
      assert.ok(o.comm >= 30, `collectives ran (${o.comm})`);
      assert.deepEqual(new Set(o.counts.slice(1)).size, 1, `tensor counts ${o.counts.join(',')}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** pids of the launcher's workers by rank (Linux /proc) */
function workers(launcher: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== launcher) continue;
      const rank = /(?:^|\0)RANK=(\d+)\0/.exec(fs.readFileSync(`/proc/${p}/environ`, 'utf8'));
      if (rank) out.set(Number(rank[1]), Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

/** start a long 2-worker run; resolves once rank 0 has logged `steps` steps */
async function longRun(out: string, steps: number, timeoutS = 30) {
  const child = spawn(
    process.execPath,
    [MAIN, 'train', ...VAE, '--epochs', '1000', '--out', out, '--nproc', '2'],
    { env: { ...env, GENMODELS_DIST_TIMEOUT: String(timeoutS) }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, at: Date.now() })),
  );
  const metrics = path.join(out, 'metrics.jsonl');
  const t0 = Date.now();
  for (;;) {
    const n = fs.existsSync(metrics) ? fs.readFileSync(metrics, 'utf8').split('\n').length - 1 : 0;
    if (n >= steps) break;
    if (child.exitCode !== null) assert.fail(`the run ended early:\n${stderr}`);
    if (Date.now() - t0 > 120_000) assert.fail('no progress in 120 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, exited, stderr: () => stderr };
}

test('a killed worker ends the run with an error in under 60 s', opts, async (t) => {
  const dir = tmp();
  try {
    const run = await longRun(path.join(dir, 'run'), 5);
    const pids = workers(run.child.pid!);
    assert.equal(pids.size, 2, 'two workers');
    const killedAt = Date.now();
    process.kill(pids.get(1)!, 'SIGKILL');
    const { code, at } = await run.exited;
    t.diagnostic(`ended ${(at - killedAt) / 1000} s after the kill`);
    assert.ok(at - killedAt < 60_000, `ended ${(at - killedAt) / 1000} s after the kill`);
    assert.notEqual(code, 0);
    assert.match(run.stderr(), /worker 1 was killed by SIGKILL/);
    // rank 0 saw its peer go: a one-line collective error, not a hang
    assert.match(run.stderr(), /genmodels: error: allreduce failed \(rank 0 of 2\)/);
    for (const pid of pids.values()) assert.throws(() => process.kill(pid, 0), 'no worker left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'a hung worker makes the others fail at the timeout (5 s here), and the launcher ends the run',
  opts,
  async (t) => {
    const dir = tmp();
    try {
      const run = await longRun(path.join(dir, 'run'), 5, 5);
      const pids = workers(run.child.pid!);
      assert.equal(pids.size, 2, 'two workers');
      const stoppedAt = Date.now();
      process.kill(pids.get(1)!, 'SIGSTOP');
      const { code, at } = await run.exited;
      const s = (at - stoppedAt) / 1000;
      t.diagnostic(`ended ${s} s after the worker hung`);
      assert.ok(s >= 4 && s < 60, `ended ${s} s after the worker hung`);
      assert.notEqual(code, 0);
      assert.match(run.stderr(), /genmodels: error: allreduce failed \(rank 0 of 2\)/);
      assert.match(run.stderr(), /worker 0 exited with status 2; stopping the others/);
      for (const pid of pids.values()) assert.throws(() => process.kill(pid, 0), 'no worker left');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('Ctrl-C stops every worker at the same step; rank 0 saves the checkpoint', opts, async () => {
  const dir = tmp();
  try {
    const out = path.join(dir, 'run');
    const run = await longRun(out, 5);
    run.child.kill('SIGINT');
    const { code } = await run.exited;
    assert.equal(code, 130, run.stderr());
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint', 'config.json'), 'utf8'));
    assert.ok(cfg.state.step >= 5, `saved at step ${cfg.state.step}`);
    // the saved run resumes (one worker) from that step
    const r = cli(['train', '--resume', out, '--max-steps', String(cfg.state.step + 2)]);
    assert.equal(r.status, 0, r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

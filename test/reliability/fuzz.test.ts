// Fuzz: hundreds of seeded mutations of a valid checkpoint and of a valid CSV. Each must load fine or fail
// with a one-line UserError: never another exception, a hang, a tensor leak, or memory above a ceiling.
// A few dozen go through the CLI (eval / sample): exit 0, or exit 2 with one `genmodels: error:` line.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/families/index.js';
import { modelEntry, UserError } from '../../src/core/model.js';
import { Rng } from '../../src/core/rng.js';
import { loadDataset, parseDataArg } from '../../src/data/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { ADAM_DEFAULTS, Adam, Ema } from '../../src/train/optim.js';
import { mutateCheckpoint, mutateCsv } from './mutate.js';

await tf.setBackend('cpu');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-fuzz-'));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));
const N_CKPT = 600;
const N_CSV = 400;
const N_CLI = 20;
/** resident memory ceiling for the in-process runs (the base process with tfjs is ~200 MB) */
const RSS_CEILING = 1.5 * 1024 ** 3;
/** nothing is left alone: the model's own options are mutated too (the model's schema validates them) */
const SKIP: string[][] = [];

function baseCheckpoint(): string {
  const data = parseDataArg('moons', { nTrain: 64, nTest: 32 });
  const ds = loadDataset(data);
  const entry = modelEntry('realnvp');
  const model = entry.create({ ...entry.defaults, layers: 2, hidden: 8 }, ds.spec, 0);
  const opt = new Adam(model.variables(), ADAM_DEFAULTS);
  const ema = new Ema(model.variables(), 0.99);
  const dir = path.join(ROOT, 'base', 'checkpoint');
  saveCheckpoint(dir, {
    model,
    data: ds.describe(),
    train: { seed: 0, epochs: 1, batchSize: 16 },
    state: { epoch: 1, step: 4, stepInEpoch: 0, rng: new Rng(0, 9).state(), optim: { nll: { t: 4 } } },
    optimizers: new Map([['nll', opt]]),
    ema,
    backend: 'cpu',
  });
  model.dispose();
  opt.dispose();
  ema.dispose();
  return dir;
}

function checkError(e: unknown, what: string): void {
  if (!(e instanceof UserError)) {
    assert.fail(`${what}: not a UserError: ${(e as Error)?.stack ?? String(e)}`);
  }
  assert.ok(!/[\n\r]/.test(e.message), `${what}: message not one line: ${JSON.stringify(e.message)}`);
  assert.ok(e.message.length < 1000, `${what}: message of ${e.message.length} chars`);
}

test('mutated checkpoints load fine or fail with a one-line UserError', { timeout: 120_000 }, () => {
  const base = baseCheckpoint();
  const rng = new Rng(20261201);
  const tensors0 = tf.memory().numTensors;
  const outcome = { ok: 0, userError: 0 };
  for (let i = 0; i < N_CKPT; i++) {
    const dir = path.join(ROOT, 'm', String(i), 'checkpoint');
    const what = `mutation ${i} (${mutateCheckpoint(rng, base, dir, SKIP)})`;
    const t0 = Date.now();
    try {
      const ck = loadCheckpoint(dir, { useEma: i % 2 === 0 });
      try {
        tf.tidy(() => {
          const x = ck.model.sample(4, { seed: i });
          ck.model.logProb!(x).dataSync();
        });
      } finally {
        ck.model.dispose();
      }
      outcome.ok++;
    } catch (e) {
      checkError(e, what);
      outcome.userError++;
    }
    assert.ok(Date.now() - t0 < 10_000, `${what}: took ${Date.now() - t0} ms`);
    assert.equal(tf.memory().numTensors, tensors0, `${what}: leaked tensors`);
    assert.ok(process.memoryUsage().rss < RSS_CEILING, `${what}: rss ${process.memoryUsage().rss}`);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
  // the generator must exercise both outcomes, or it tests nothing
  assert.ok(outcome.ok > 20 && outcome.userError > N_CKPT / 2, JSON.stringify(outcome));
});

test('mutated CSVs load fine or fail with a one-line UserError', { timeout: 60_000 }, () => {
  const rng = new Rng(7);
  const rows = ['a,b,c,label'];
  for (let i = 0; i < 40; i++) rows.push(`${i * 0.5},${-i},${(i * 7) % 11},${['x', 'y', 'z'][i % 3]}`);
  const text = rows.join('\n') + '\n';
  const file = path.join(ROOT, 'fuzz.csv');
  const outcome = { ok: 0, userError: 0 };
  for (let i = 0; i < N_CSV; i++) {
    fs.writeFileSync(file, mutateCsv(rng, text));
    try {
      const ds = loadDataset(parseDataArg(file, i % 3 ? { label: 'label' } : {}));
      assert.ok(ds.train.n + ds.test.n >= 1);
      outcome.ok++;
    } catch (e) {
      checkError(e, `csv mutation ${i}`);
      outcome.userError++;
    }
  }
  assert.ok(outcome.ok > 20 && outcome.userError > 20, JSON.stringify(outcome));
});

function runCli(args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [path.resolve('dist/src/cli/main.js'), ...args], {
      env: { ...process.env, GENMODELS_THREADS: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - t0 });
    });
  });
}

test(
  'mutated checkpoints through the CLI: exit 0, or exit 2 with one error line',
  { timeout: 300_000 },
  async () => {
    const base = fs.existsSync(path.join(ROOT, 'base', 'checkpoint'))
      ? path.join(ROOT, 'base', 'checkpoint')
      : baseCheckpoint();
    const rng = new Rng(99);
    const jobs: { dir: string; args: string[] }[] = [];
    for (let i = 0; i < N_CLI; i++) {
      const dir = path.join(ROOT, 'cli', String(i), 'checkpoint');
      mutateCheckpoint(rng, base, dir, SKIP);
      jobs.push({
        dir,
        args:
          i % 2 === 0
            ? ['eval', dir, '--backend', 'cpu', '--limit', '16']
            : ['sample', dir, '--backend', 'cpu', '--n', '4', '--out', path.join(path.dirname(dir), 's.png')],
      });
    }
    // the unmutated checkpoint works through both commands
    jobs.push({ dir: base, args: ['eval', base, '--backend', 'cpu', '--limit', '16'] });
    const results: Awaited<ReturnType<typeof runCli>>[] = [];
    for (let i = 0; i < jobs.length; i += 2)
      results.push(...(await Promise.all(jobs.slice(i, i + 2).map((j) => runCli(j.args)))));
    const codes = { 0: 0, 2: 0 };
    results.forEach((r, i) => {
      const what = `${jobs[i]!.args.join(' ')}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`;
      assert.ok(r.code === 0 || r.code === 2, what);
      if (r.code === 2) {
        const errLines = r.stderr.split('\n').filter((l) => l.startsWith('genmodels:'));
        assert.equal(errLines.length, 1, what);
        assert.match(errLines[0]!, /^genmodels: error: \S/, what);
        assert.equal(r.stderr.trimEnd().split('\n').pop(), errLines[0], what);
      }
      codes[r.code as 0 | 2]++;
    });
    assert.equal(results[results.length - 1]!.code, 0, 'the valid checkpoint evaluates');
    assert.ok(codes[2] > 0, JSON.stringify(codes));
  },
);

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../src/core/model.js';
import { Rng } from '../../src/core/rng.js';
import { loadCheckpoint, saveCheckpoint, type SaveArgs } from '../../src/train/checkpoint.js';
import { Adam, Ema } from '../../src/train/optim.js';
import { DiagGauss, VEC_SPEC } from './tiny.js';

await tf.setBackend('cpu');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-ckpt-'));
const OPT = {
  lr: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  schedule: 'constant' as const,
  warmupSteps: 0,
  clipNorm: 0,
};

function setup(seed: number) {
  const model = new DiagGauss(VEC_SPEC, { jitter: 0.1 }, seed);
  const opt = new Adam(model.variables(), OPT);
  tf.tidy(() =>
    opt.apply(
      new Map([
        ['mu', tf.tensor1d([0.5, -1, 2])],
        ['log_sigma', tf.tensor1d([1, 1, 1])],
      ]),
      0.1,
    ),
  );
  const ema = new Ema(model.variables(), 0.9);
  const args: SaveArgs = {
    model,
    data: { name: 'fake', options: { a: 1 }, stats: { mean: [1, 2] } },
    train: { seed, lr: 0.1 },
    state: {
      epoch: 1,
      step: 5,
      stepInEpoch: 0,
      rng: new Rng(seed, 17).state(),
      optim: { nll: { t: opt.t } },
    },
    optimizers: new Map([['nll', opt]]),
    ema,
    backend: 'cpu',
  };
  return { model, opt, ema, args };
}

test('checkpoint round-trip restores variables, optimizer state, EMA and config', () => {
  const dir = path.join(tmp(), 'checkpoint');
  const { model, opt, ema, args } = setup(3);
  saveCheckpoint(dir, args);
  const ck = loadCheckpoint(dir);
  const m2 = ck.model as DiagGauss;
  assert.deepEqual(Array.from(m2.mu.dataSync()), Array.from(model.mu.dataSync()));
  assert.deepEqual(Array.from(m2.logSigma.dataSync()), Array.from(model.logSigma.dataSync()));
  assert.deepEqual(ck.config.data, args.data);
  assert.deepEqual(ck.config.state.rng, { seed: 3, counter: 17 });
  assert.equal(ck.config.model.kind, 'test-diag-gauss');
  assert.equal(ck.config.model.config.jitter, 0.1);
  const st = ck.optimState.get('nll')!;
  for (const [k, t] of opt.state()) assert.deepEqual(Array.from(st.get(k)!), Array.from(t.dataSync()), k);
  assert.ok(ck.emaState);
  // useEma loads the averaged weights instead
  const ck2 = loadCheckpoint(dir, { useEma: true });
  assert.deepEqual(
    Array.from((ck2.model as DiagGauss).mu.dataSync()),
    Array.from(ema.shadow.get('mu')!.dataSync()),
  );
  // the run dir (parent) resolves to its checkpoint/
  const ck3 = loadCheckpoint(path.dirname(dir));
  assert.equal(ck3.dir, dir);
  for (const m of [model, m2, ck2.model, ck3.model]) m.dispose();
  opt.dispose();
  ema.dispose();
});

test('a save that fails before the swap leaves the previous checkpoint intact and loadable', () => {
  const dir = path.join(tmp(), 'checkpoint');
  const first = setup(1);
  saveCheckpoint(dir, first.args);
  const bytes = fs.readFileSync(path.join(dir, 'model.safetensors'));
  const second = setup(2);
  second.args.state.step = 10;
  assert.throws(
    () =>
      saveCheckpoint(dir, second.args, {
        beforeSwap: () => {
          throw new Error('simulated crash');
        },
      }),
    /simulated crash/,
  );
  assert.deepEqual(fs.readFileSync(path.join(dir, 'model.safetensors')), bytes);
  assert.equal(loadCheckpoint(dir).config.state.step, 5);
  // the next save cleans the stale temp dir and replaces the checkpoint completely
  saveCheckpoint(dir, second.args);
  assert.equal(loadCheckpoint(dir).config.state.step, 10);
  assert.deepEqual(fs.readdirSync(path.dirname(dir)).sort(), ['checkpoint']);
  // a crash between the two renames leaves only checkpoint.prev: the loader falls back to it
  fs.renameSync(dir, `${dir}.prev`);
  assert.equal(loadCheckpoint(dir).config.state.step, 10);
  assert.equal(loadCheckpoint(path.dirname(dir)).config.state.step, 10);
  for (const s of [first, second]) {
    s.model.dispose();
    s.opt.dispose();
    s.ema.dispose();
  }
});

test('truncated, foreign and mismatched checkpoints give one-line UserErrors', () => {
  const root = tmp();
  const dir = path.join(root, 'checkpoint');
  const s = setup(4);
  saveCheckpoint(dir, s.args);
  const w = path.join(dir, 'model.safetensors');
  const good = fs.readFileSync(w);
  const oneLine = (e: unknown) => e instanceof UserError && !e.message.includes('\n');
  fs.writeFileSync(w, good.subarray(0, good.length - 7));
  assert.throws(
    () => loadCheckpoint(dir),
    (e) => oneLine(e) && /truncated/.test((e as Error).message),
  );
  fs.writeFileSync(w, good);
  const cfgFile = path.join(dir, 'config.json');
  const cfg = fs.readFileSync(cfgFile, 'utf8');
  fs.writeFileSync(cfgFile, cfg.slice(0, 100));
  assert.throws(
    () => loadCheckpoint(dir),
    (e) => oneLine(e) && /not valid JSON/.test((e as Error).message),
  );
  fs.writeFileSync(cfgFile, JSON.stringify({ hello: 'world' }));
  assert.throws(
    () => loadCheckpoint(dir),
    (e) => oneLine(e) && /not a genmodels checkpoint/.test((e as Error).message),
  );
  fs.writeFileSync(cfgFile, cfg.replace('"test-diag-gauss"', '"no-such-model"'));
  assert.throws(
    () => loadCheckpoint(dir),
    (e) => oneLine(e) && /unknown model 'no-such-model'/.test((e as Error).message),
  );
  const c = JSON.parse(cfg);
  c.spec.shape = [4];
  fs.writeFileSync(cfgFile, JSON.stringify(c));
  assert.throws(
    () => loadCheckpoint(dir),
    (e) => oneLine(e) && /shape \[3\], the model expects \[4\]/.test((e as Error).message),
  );
  assert.throws(
    () => loadCheckpoint(path.join(root, 'nope')),
    (e) => oneLine(e) && /does not exist/.test((e as Error).message),
  );
  s.model.dispose();
  s.opt.dispose();
  s.ema.dispose();
});

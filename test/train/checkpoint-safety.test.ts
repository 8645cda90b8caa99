// A checkpoint is input from strangers, and writing one must never lose data: these tests craft hostile
// checkpoints (paths out of the folder, FIFOs, absurd sizes, dtype mismatches, corrupt training state) and
// inject write failures (full disk, read-only folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerModel, UserError, type ModelState } from '../../src/core/model.js';
import { Rng } from '../../src/core/rng.js';
import { displayTransform } from '../../src/data/index.js';
import type { DataSpec } from '../../src/data/spec.js';
import { oneLine } from '../../src/io/guard.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import {
  loadCheckpoint,
  readCheckpointConfig,
  saveCheckpoint,
  type SaveArgs,
} from '../../src/train/checkpoint.js';
import { Adam, Ema } from '../../src/train/optim.js';
import { DiagGauss, VEC_SPEC } from './tiny.js';

await tf.setBackend('cpu');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-ckpt-safe-'));
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

const userErr = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
  assert.ok(!/[\n\r]/.test(e.message), `not one line: ${JSON.stringify(e.message)}`);
  assert.match(e.message, re);
  return true;
};

function saved(seed = 1): { dir: string; args: SaveArgs; dispose: () => void } {
  const model = new DiagGauss(VEC_SPEC, { jitter: 0.1 }, seed);
  const opt = new Adam(model.variables(), OPT);
  const ema = new Ema(model.variables(), 0.9);
  const args: SaveArgs = {
    model,
    data: { name: 'fake', options: {} },
    train: { seed },
    state: { epoch: 1, step: 5, stepInEpoch: 0, rng: new Rng(seed, 3).state(), optim: { nll: { t: 0 } } },
    optimizers: new Map([['nll', opt]]),
    ema,
    backend: 'cpu',
  };
  const dir = path.join(tmp(), 'checkpoint');
  saveCheckpoint(dir, args);
  return {
    dir,
    args,
    dispose: () => {
      model.dispose();
      opt.dispose();
      ema.dispose();
    },
  };
}

const cfgFile = (dir: string) => path.join(dir, 'config.json');
const readCfg = (dir: string) => JSON.parse(fs.readFileSync(cfgFile(dir), 'utf8'));
const writeCfg = (dir: string, c: unknown) => fs.writeFileSync(cfgFile(dir), JSON.stringify(c));

/** rewrite model.safetensors with `edit` applied to its tensors, updating weights.bytes */
function editTensors(
  dir: string,
  edit: (
    t: Map<string, ReturnType<typeof decodeSafetensors>['tensors'] extends Map<string, infer V> ? V : never>,
  ) => void,
) {
  const w = path.join(dir, 'model.safetensors');
  const { tensors } = decodeSafetensors(fs.readFileSync(w));
  edit(tensors);
  const buf = encodeSafetensors(tensors);
  fs.writeFileSync(w, buf);
  const c = readCfg(dir);
  c.weights.bytes = buf.length;
  writeCfg(dir, c);
}

test('oneLine escapes control characters and cuts long strings', () => {
  assert.equal(oneLine('a\nb\tc\r\x1b[31m\u2028'), 'a\\nb\\tc\\r\\x1b[31m\\u2028');
  const long = 'x'.repeat(500);
  const o = oneLine(long, 20);
  assert.ok(o.startsWith('x'.repeat(20) + '...') && o.includes('500 chars') && o.length < 40, o);
  assert.equal(oneLine(42), '42');
});

test('a full disk during a save leaves no temp files, keeps the previous checkpoint, names the path', () => {
  const s = saved(1);
  const before = fs.readFileSync(path.join(s.dir, 'model.safetensors'));
  s.args.state.step = 9;
  let wrote = 0;
  const enospc = (file: string, data: Uint8Array | string) => {
    // write half the bytes, as a full disk does, then fail
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    fs.writeFileSync(file, b.subarray(0, b.length >> 1));
    wrote++;
    throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
  };
  assert.throws(
    () => saveCheckpoint(s.dir, s.args, { writeFile: enospc }),
    userErr(/^disk full writing .*checkpoint\.tmp\/model\.safetensors \(ENOSPC\)/),
  );
  assert.equal(wrote, 1);
  assert.deepEqual(fs.readdirSync(path.dirname(s.dir)), ['checkpoint'], 'checkpoint.tmp removed');
  assert.deepEqual(fs.readFileSync(path.join(s.dir, 'model.safetensors')), before);
  const ck = loadCheckpoint(s.dir);
  assert.equal(ck.config.state.step, 5);
  ck.model.dispose();
  s.dispose();
});

test('a read-only output directory is reported as read-only, not as a missing file', () => {
  const s = saved(2);
  const eacces = () => {
    throw Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES' });
  };
  assert.throws(
    () => saveCheckpoint(s.dir, s.args, { writeFile: eacces }),
    userErr(/read-only or not writable .*\(EACCES\)/),
  );
  assert.deepEqual(fs.readdirSync(path.dirname(s.dir)), ['checkpoint']);
  // a real read-only directory (not effective when the tests run as root, who may write anyway)
  if (process.getuid?.() !== 0) {
    const ro = tmp();
    fs.chmodSync(ro, 0o555);
    assert.throws(
      () => saveCheckpoint(path.join(ro, 'checkpoint'), s.args),
      userErr(/read-only or not writable/),
    );
    fs.chmodSync(ro, 0o755);
  }
  s.dispose();
});

test('weights.file must be a plain file name inside the checkpoint folder', () => {
  const s = saved(3);
  const secret = path.join(path.dirname(path.dirname(s.dir)), 'outside.safetensors');
  fs.copyFileSync(path.join(s.dir, 'model.safetensors'), secret);
  const c = readCfg(s.dir);
  for (const f of ['../outside.safetensors', secret, '/etc/passwd', 'sub/x', '..', '.hidden'] as const) {
    writeCfg(s.dir, { ...c, weights: { ...c.weights, file: f } });
    assert.throws(() => loadCheckpoint(s.dir), userErr(/weights\.file: must be a plain file name/), f);
  }
  // a symbolic link inside the folder that leads out of it is refused
  fs.symlinkSync(secret, path.join(s.dir, 'link.safetensors'));
  writeCfg(s.dir, { ...c, weights: { ...c.weights, file: 'link.safetensors' } });
  assert.throws(() => loadCheckpoint(s.dir), userErr(/points outside .*; refused/));
  s.dispose();
});

test('FIFOs, devices and directories are refused without blocking', () => {
  const s = saved(4);
  const c = readCfg(s.dir);
  const fifo = path.join(s.dir, 'fifo.safetensors');
  execFileSync('mkfifo', [fifo]);
  writeCfg(s.dir, { ...c, weights: { ...c.weights, file: 'fifo.safetensors' } });
  const t0 = Date.now();
  assert.throws(() => loadCheckpoint(s.dir), userErr(/is a FIFO, not a regular file; refused/));
  fs.mkdirSync(path.join(s.dir, 'd.safetensors'));
  writeCfg(s.dir, { ...c, weights: { ...c.weights, file: 'd.safetensors' } });
  assert.throws(() => loadCheckpoint(s.dir), userErr(/is a directory, not a regular file/));
  fs.symlinkSync('/dev/zero', path.join(s.dir, 'zero.safetensors'));
  writeCfg(s.dir, { ...c, weights: { ...c.weights, file: 'zero.safetensors' } });
  assert.throws(() => loadCheckpoint(s.dir), userErr(/refused/));
  // config.json itself as a FIFO
  const d2 = path.join(tmp(), 'checkpoint');
  fs.mkdirSync(d2);
  execFileSync('mkfifo', [path.join(d2, 'config.json')]);
  assert.throws(() => loadCheckpoint(d2), userErr(/config\.json is a FIFO/));
  assert.ok(Date.now() - t0 < 5000, 'no blocking read');
  s.dispose();
});

test('absurd sizes are refused from the header alone, before allocating', () => {
  const s = saved(5);
  const w = path.join(s.dir, 'model.safetensors');
  const good = fs.readFileSync(w);
  const n = Number(good.readBigUInt64LE(0));
  const header = JSON.parse(good.subarray(8, 8 + n).toString());
  const rewrite = (h: unknown, tail = good.subarray(8 + n)) => {
    let j = JSON.stringify(h);
    j += ' '.repeat((8 - (j.length % 8)) % 8);
    const b = Buffer.alloc(8 + j.length + tail.length);
    b.writeBigUInt64LE(BigInt(j.length));
    b.write(j, 8);
    tail.copy(b, 8 + j.length);
    fs.writeFileSync(w, b);
    const c = readCfg(s.dir);
    c.weights.bytes = b.length;
    writeCfg(s.dir, c);
  };
  // header length 2^63: compared with the file size, nothing allocated
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(2n ** 63n, 0);
  fs.writeFileSync(w, huge);
  assert.throws(() => loadCheckpoint(s.dir), userErr(/header length .* exceeds the file size/));
  // a shape whose product is astronomically larger than its byte span
  rewrite({ ...header, mu: { ...header.mu, shape: [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1] } });
  assert.throws(() => loadCheckpoint(s.dir), userErr(/data_offsets do not match shape and dtype/));
  // offsets past the end of the file
  rewrite({ ...header, mu: { ...header.mu, data_offsets: [0, 1e15] } });
  assert.throws(() => loadCheckpoint(s.dir), userErr(/ends at byte .* \(truncated file\)/));
  rewrite({ ...header, mu: { ...header.mu, shape: [1e300, 0] } });
  assert.throws(() => loadCheckpoint(s.dir), userErr(/bad shape/));
  // unsupported dtypes are named
  rewrite({ ...header, mu: { ...header.mu, dtype: 'F8_E4M3' } });
  assert.throws(() => loadCheckpoint(s.dir), userErr(/unknown dtype 'F8_E4M3' \(unsupported; supported: /));
  // a data shape that asks for a gigantic model
  fs.writeFileSync(w, good);
  const c = readCfg(s.dir);
  c.weights.bytes = good.length;
  writeCfg(s.dir, { ...c, spec: { ...c.spec, shape: [1 << 20, 1 << 20] } });
  assert.throws(() => loadCheckpoint(s.dir), userErr(/invalid checkpoint config: spec\.shape/));
  s.dispose();
});

test('a stored dtype that differs from the expected one is refused, not reinterpreted', () => {
  const s = saved(6);
  const keep = fs.readFileSync(path.join(s.dir, 'model.safetensors'));
  const keepCfg = readCfg(s.dir);
  const restore = () => {
    fs.writeFileSync(path.join(s.dir, 'model.safetensors'), keep);
    writeCfg(s.dir, keepCfg);
  };
  // I32 with the same byte length as the F32 it replaces: today it would load as the wrong numbers
  editTensors(s.dir, (t) => {
    const mu = t.get('mu')!;
    t.set('mu', { dtype: 'I32', shape: mu.shape, data: new Int32Array(mu.data.buffer as ArrayBuffer) });
  });
  assert.throws(
    () => loadCheckpoint(s.dir),
    userErr(/variable 'mu' is stored as I32, the model expects F32/),
  );
  restore();
  editTensors(s.dir, (t) => {
    const e = t.get('ema/mu')!;
    t.set('ema/mu', { dtype: 'F16', shape: [6], data: new Uint16Array(e.data.buffer as ArrayBuffer) });
  });
  assert.throws(() => loadCheckpoint(s.dir), userErr(/EMA tensor 'ema\/mu' is stored as F16/));
  s.dispose();
});

test('optimizer and EMA tensors of the wrong length, or naming no variable, are UserErrors', () => {
  const s = saved(7);
  const keep = fs.readFileSync(path.join(s.dir, 'model.safetensors'));
  const keepCfg = readCfg(s.dir);
  const restore = () => {
    fs.writeFileSync(path.join(s.dir, 'model.safetensors'), keep);
    writeCfg(s.dir, keepCfg);
  };
  const f32 = (n: number) => ({ dtype: 'F32' as const, shape: [n], data: new Float32Array(n) });
  editTensors(s.dir, (t) => t.set('optim/nll/m/mu', f32(2)));
  assert.throws(
    () => loadCheckpoint(s.dir),
    userErr(/optimizer tensor 'optim\/nll\/m\/mu' has shape \[2\], the model expects \[3\]/),
  );
  restore();
  editTensors(s.dir, (t) => t.set('ema/log_sigma', f32(7)));
  assert.throws(() => loadCheckpoint(s.dir), userErr(/EMA tensor 'ema\/log_sigma' has shape \[7\]/));
  restore();
  editTensors(s.dir, (t) => t.set('optim/nll/m/nope', f32(3)));
  assert.throws(() => loadCheckpoint(s.dir), userErr(/names no variable/));
  restore();
  const ck = loadCheckpoint(s.dir);
  assert.equal(ck.optimState.get('nll')!.get('m/mu')!.length, 3);
  ck.model.dispose();
  s.dispose();
});

test('corrupt training state and config fields are refused with the field named', () => {
  const s = saved(8);
  const c = readCfg(s.dir);
  const cases: [string, unknown, RegExp][] = [
    ['step as a string', { ...c, state: { ...c.state, step: '5' } }, /state\.step/],
    ['negative epoch', { ...c, state: { ...c.state, epoch: -1 } }, /state\.epoch/],
    ['fractional stepInEpoch', { ...c, state: { ...c.state, stepInEpoch: 0.5 } }, /state\.stepInEpoch/],
    ['no rng', { ...c, state: { ...c.state, rng: undefined } }, /state\.rng/],
    ['rng counter -1', { ...c, state: { ...c.state, rng: { seed: 1, counter: -1 } } }, /state\.rng\.counter/],
    ['optimizer count', { ...c, state: { ...c.state, optim: { nll: { t: 'x' } } } }, /state\.optim\.nll\.t/],
    ['model kind a number', { ...c, model: { ...c.model, kind: 7 } }, /model\.kind/],
    ['weights.bytes negative', { ...c, weights: { ...c.weights, bytes: -3 } }, /weights\.bytes/],
    ['seed not an integer', { ...c, train: { ...c.train, seed: 'x' } }, /train\.seed/],
    ['version 0', { ...c, version: 0 }, /version/],
    ['newer version', { ...c, version: 99 }, /newer than this genmodels understands/],
    ['spec domain', { ...c, spec: { ...c.spec, domain: 'x\ny' } }, /spec\.domain/],
    ['data a string', { ...c, data: 'x' }, /data/],
  ];
  for (const [what, cfg, re] of cases) {
    writeCfg(s.dir, cfg);
    assert.throws(() => loadCheckpoint(s.dir), userErr(re), what);
  }
  s.dispose();
});

test('a checkpoint cannot point the data loader at an arbitrary file; sampling needs no data file', () => {
  const s = saved(9);
  const c = readCfg(s.dir);
  for (const p of ['/etc/passwd', '/dev/zero', '/tmp/x.csv\nline2']) {
    writeCfg(s.dir, { ...c, data: { name: 'csv', options: { path: p } } });
    assert.throws(
      () => readCheckpointConfig(s.dir),
      userErr(/CSV path must name a \.csv or \.csv\.gz file|must be/),
      p,
    );
  }
  // the display mapping of a CSV model comes from the stored statistics alone (the CSV is gone)
  const spec: DataSpec = { kind: 'vector', shape: [2], domain: 'real' };
  const toDisplay = displayTransform(
    {
      name: 'csv',
      options: { path: '/nonexistent/gone.csv', standardize: true },
      stats: { mean: [10, -1], std: [2, 0.5] },
    },
    spec,
  );
  assert.deepEqual(Array.from(toDisplay(new Float32Array([0, 0, 1, 2]))), [10, -1, 12, 0]);
  s.dispose();
});

// ---- non-variable state (GenerativeModel.getState / setState)
class Counting extends DiagGauss {
  override readonly kind = 'test-stateful' as 'test-diag-gauss';
  counts = tf.zeros([4], 'int32');
  note: unknown = null;
  getState(): ModelState {
    return { tensors: { counts: this.counts }, json: { note: this.note } };
  }
  setState(st: ModelState): void {
    this.counts.dispose();
    this.counts = tf.clone(st.tensors['counts']!);
    this.note = (st.json as { note: unknown }).note;
  }
  override dispose(): void {
    super.dispose();
    this.counts.dispose();
  }
}
registerModel({
  kind: 'test-stateful',
  family: 'flow',
  description: 'test model with non-variable state',
  defaults: {},
  accepts: () => null,
  create: (config, spec, seed) => new Counting(spec, config, seed),
});

test('non-variable model state round-trips through the checkpoint; version 1 checkpoints still load', () => {
  const m = new Counting(VEC_SPEC, {}, 1);
  m.counts.dispose();
  m.counts = tf.tensor1d([3, 0, 7, 1], 'int32');
  m.note = { buffer: 'replay', n: 4 };
  const dir = path.join(tmp(), 'checkpoint');
  const state = { epoch: 0, step: 2, stepInEpoch: 2, rng: new Rng(1).state(), optim: {} };
  saveCheckpoint(dir, { model: m, data: null, train: { seed: 1 }, state, backend: 'cpu' });
  const c = readCfg(dir);
  assert.equal(c.version, 2);
  assert.deepEqual(c.modelState, { note: { buffer: 'replay', n: 4 } });
  const ck = loadCheckpoint(dir);
  const m2 = ck.model as Counting;
  assert.deepEqual(Array.from(m2.counts.dataSync()), [3, 0, 7, 1]);
  assert.deepEqual(m2.note, { buffer: 'replay', n: 4 });
  const before = tf.memory().numTensors;
  m2.dispose();
  assert.equal(tf.memory().numTensors, before - 3, 'the loader kept no tensor of its own');
  // a version 1 checkpoint (no modelState, no state/ tensors) loads; the model keeps its fresh state
  const d = saved(10);
  const c1 = readCfg(d.dir);
  c1.version = 1;
  writeCfg(d.dir, c1);
  const ck1 = loadCheckpoint(d.dir);
  assert.equal(ck1.config.version, 1);
  assert.equal(ck1.config.state.step, 5);
  ck1.model.dispose();
  d.dispose();
  m.dispose();
});

test('a stored model config that asks for absurd sizes is refused before it allocates them', async () => {
  await import('../../src/families/index.js');
  const src = path.resolve('test/fixtures/checkpoints-v1/vae-moons/checkpoint');
  const dir = path.join(tmp(), 'checkpoint');
  fs.cpSync(src, dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.model.config.hidden = [16, 50_000_000]; // a 16 x 5e7 layer: 3.2 GB of weights from a 20 kB checkpoint
  fs.writeFileSync(file, JSON.stringify(cfg));
  const before = tf.memory().numBytes;
  assert.throws(() => loadCheckpoint(dir), userErr(/far more than its weights file holds/));
  // at most the one tensor that crossed the budget was allocated (and not the 3.2 GB layer)
  assert.ok(tf.memory().numBytes - before < 2 ** 30, `${tf.memory().numBytes - before} bytes left allocated`);
});

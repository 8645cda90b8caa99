// Pretrained models and the playground's server, in Node (no browser): F16 conversion against numpy's,
// `genmodels pretrained add` (EMA weights, no optimizer state, F16 storage that loads back), the
// `pretrained:NAME` resolution, and `genmodels serve`'s file server (MIME types, only files inside its
// folders, 127.0.0.1 by default).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { addPretrained, listPretrained, pretrainedNames } from '../../src/api/pretrained.js';
import { serve } from '../../src/api/serve.js';
import { UserError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { float16ToFloat32, float32ToFloat16, readSafetensors } from '../../src/io/safetensors.js';
import { loadCheckpoint, readCheckpointConfig, saveCheckpoint } from '../../src/train/checkpoint.js';
import { Adam, ADAM_DEFAULTS, Ema } from '../../src/train/optim.js';
import { DiagGauss, VEC_SPEC } from '../train/tiny.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-pretrained-'));

test('float32 -> float16 bits equal numpy astype(float16), and back', () => {
  const rng = new Rng(5);
  const vals = [
    0,
    -0,
    1,
    -2,
    0.1,
    65504,
    65520,
    70000,
    1e-8,
    2 ** -24,
    2 ** -25,
    3 * 2 ** -26,
    6.1e-5,
    -1e-6,
    NaN,
    Infinity,
  ];
  for (let i = 0; i < 200; i++) vals.push((rng.next() - 0.5) * 10 ** (rng.next() * 8 - 4));
  const f = Float32Array.from(vals);
  const r = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      'import json,sys,numpy as np; a=np.array(json.load(sys.stdin),dtype=np.float32); print(json.dumps(a.astype(np.float16).view(np.uint16).tolist()))',
    ],
    {
      input: JSON.stringify(
        [...f].map((v) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : Object.is(v, -0) ? '-0.0' : v)),
      ),
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout) as number[];
  const got = float32ToFloat16(f);
  for (let i = 0; i < f.length; i++) {
    if (Number.isNaN(f[i]!))
      assert.ok((got[i]! & 0x7c00) === 0x7c00 && (got[i]! & 0x3ff) !== 0, 'NaN stays NaN');
    else
      assert.equal(
        got[i],
        want[i],
        `value ${f[i]}: ${got[i]!.toString(16)} vs numpy ${want[i]!.toString(16)}`,
      );
  }
  // back to float32: exact for every half value (all 2^16 bit patterns but NaNs round-trip)
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const back = float32ToFloat16(float16ToFloat32(all));
  for (let i = 0; i < 65536; i++) if ((i & 0x7c00) !== 0x7c00 || (i & 0x3ff) === 0) assert.equal(back[i], i);
});

function savedRun(): string {
  const dir = tmp();
  const model = new DiagGauss(VEC_SPEC, { jitter: 0.1 }, 3);
  const opt = new Adam(model.variables(), { ...ADAM_DEFAULTS, lr: 0.1 });
  const ema = new Ema(model.variables(), 0.5);
  tf.tidy(() => model.mu.assign(tf.add(model.mu, 0.3)));
  ema.update(1);
  saveCheckpoint(path.join(dir, 'checkpoint'), {
    model,
    data: { name: 'fake', options: {} },
    train: { seed: 3 },
    state: { epoch: 1, step: 1, stepInEpoch: 0, rng: new Rng(3).state(), optim: { nll: { t: 1 } } },
    optimizers: new Map([['nll', opt]]),
    ema,
    backend: 'cpu',
  });
  fs.writeFileSync(path.join(dir, 'eval.json'), JSON.stringify({ split: 'test', n: 5, metrics: [] }));
  opt.dispose();
  ema.dispose();
  model.dispose();
  return dir;
}

test('pretrained add keeps the EMA weights as F16, drops optimizer state, and loads back', async () => {
  await tf.setBackend('cpu');
  const run = savedRun();
  const root = tmp();
  const e = addPretrained(run, 'tiny', { fp16: true, root });
  assert.equal(e.fp16, true);
  const dir = path.join(root, 'tiny');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'results.json']);
  const { tensors } = readSafetensors(path.join(dir, 'model.safetensors'));
  assert.deepEqual([...tensors.keys()].sort(), ['log_sigma', 'mu']);
  for (const t of tensors.values()) assert.equal(t.dtype, 'F16');
  const src = readSafetensors(path.join(run, 'checkpoint', 'model.safetensors')).tensors;
  const emaMu = src.get('ema/mu')!.data as Float32Array;
  const mu = float16ToFloat32(tensors.get('mu')!.data as Uint16Array);
  assert.ok(!(src.get('mu')!.data as Float32Array).every((v, i) => v === emaMu[i]), 'EMA differs from raw');
  mu.forEach((v, i) => assert.ok(Math.abs(v - emaMu[i]!) <= Math.abs(emaMu[i]!) * 2 ** -11 + 1e-7));
  // loads like any checkpoint; the F16 weights arrive as float32 variables holding the F16 values
  const ck = loadCheckpoint(dir);
  assert.equal(ck.model.variables().get('mu')!.dtype, 'float32');
  assert.deepEqual([...ck.model.variables().get('mu')!.dataSync()], [...mu]);
  assert.equal(ck.optimState.size, 0);
  ck.model.dispose();
  assert.throws(() => addPretrained(run, 'tiny', { root }), UserError);
  // the playground's sampling defaults travel in config.json (pretrained.sample), which still loads
  addPretrained(run, 'tiny', { root, force: true, sample: { steps: 20, sampler: 'ddim' } });
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(cfg.pretrained.sample, { steps: 20, sampler: 'ddim' });
  loadCheckpoint(dir).model.dispose();
  assert.throws(() => addPretrained(run, 'Bad Name', { root }), UserError);
  fs.rmSync(path.join(run, 'eval.json'));
  assert.throws(() => addPretrained(run, 'tiny2', { root }), /has no result\.json or eval\.json/);
  assert.deepEqual(
    listPretrained(root).map((p) => p.name),
    ['tiny'],
  );
});

test('pretrained:NAME opens the shipped models; an unknown name lists them', () => {
  const names = pretrainedNames();
  assert.ok(names.length > 0, 'no pretrained models shipped in assets/pretrained/');
  for (const n of names) {
    const { config } = readCheckpointConfig(`pretrained:${n}`);
    assert.ok(config.model.kind.length > 0);
  }
  assert.throws(
    () => readCheckpointConfig('pretrained:no-such-model'),
    (e: unknown) => e instanceof UserError && e.message.includes(names[0]!),
  );
  assert.throws(() => readCheckpointConfig('pretrained:../../package'), UserError);
});

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          type: String(res.headers['content-type']),
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('serve: MIME types, only files inside its folders, 127.0.0.1 by default', async () => {
  const root = tmp();
  fs.writeFileSync(path.join(root, 'index.html'), '<p>hi</p>');
  fs.writeFileSync(path.join(root, 'a.wasm'), Buffer.from([0, 97, 115, 109]));
  fs.writeFileSync(path.join(root, 'b.mjs'), 'export {}');
  fs.writeFileSync(path.join(root, '.secret'), 'no');
  fs.symlinkSync('/etc/hostname', path.join(root, 'out.txt'));
  const s = await serve({ root, port: 0 });
  try {
    assert.equal((s.server.address() as { address: string }).address, '127.0.0.1');
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const home = await get(s.url);
    assert.equal(home.status, 200);
    assert.match(home.type, /^text\/html/);
    assert.equal((await get(s.url + 'a.wasm')).type, 'application/wasm');
    assert.match((await get(s.url + 'b.mjs')).type, /^text\/javascript/);
    for (const bad of ['.secret', 'out.txt', '%2e%2e/package.json', '..%2f..%2fetc%2fpasswd', 'nope.js'])
      assert.equal((await get(s.url + bad)).status, 404, bad);
    assert.equal((await get(s.url, 'POST')).status, 405);
    const list = JSON.parse((await get(s.url + 'pretrained/index.json')).body.toString()) as {
      name: string;
    }[];
    assert.deepEqual(
      list.map((p) => p.name),
      pretrainedNames(),
    );
    const cfg = await get(s.url + `pretrained/${list[0]!.name}/config.json`);
    assert.equal(cfg.status, 200);
    assert.equal(cfg.type, 'application/json');
  } finally {
    await s.close();
  }
  await assert.rejects(serve({ root: tmp(), port: 0 }), /npm run build:web/);
});

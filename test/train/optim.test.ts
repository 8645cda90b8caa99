import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ADAM_DEFAULTS, Adam, learningRate, setFastAdam, type OptimConfig } from '../../src/train/optim.js';
import { loadAddon } from '../../src/backend/torch/native.js';
import { torchRun, torchUnavailable } from '../util/torchref.js';

await tf.setBackend('cpu');

test('Adam / AdamW steps match torch.optim.Adam / AdamW', { skip: torchUnavailable() ?? false }, () => {
  const p0 = [0.3, -1.2, 2.0, 0.05];
  const grads = [
    [0.1, -0.4, 1.5, 0.0],
    [-2.0, 0.3, 0.2, 1e-4],
    [0.5, 0.5, -0.5, 3.0],
    [1.0, -1.0, 0.0, 0.2],
  ];
  const lrs = [0.1, 0.05, 0.02, 0.01];
  for (const wd of [0, 0.1]) {
    const cfg: OptimConfig = {
      lr: 0.1,
      beta1: 0.8,
      beta2: 0.95,
      eps: 1e-6,
      weightDecay: wd,
      schedule: 'constant',
      warmupSteps: 0,
      clipNorm: 0,
    };
    const p = tf.variable(tf.tensor1d(p0));
    const opt = new Adam(new Map([['p', p]]), cfg);
    grads.forEach((g, i) => tf.tidy(() => opt.apply(new Map([['p', tf.tensor1d(g)]]), lrs[i]!)));
    const ours = Array.from(p.dataSync());
    const ref = torchRun<number[]>(
      `
p = torch.nn.Parameter(T(inp['p0']))
cls = torch.optim.AdamW if inp['wd'] > 0 else torch.optim.Adam
opt = cls([p], lr=0.1, betas=(0.8, 0.95), eps=1e-6, weight_decay=inp['wd'])
for g, lr in zip(inp['grads'], inp['lrs']):
    for group in opt.param_groups: group['lr'] = lr
    p.grad = T(g)
    opt.step()
out = L(p)`,
      { p0, grads, lrs, wd },
    );
    ours.forEach((v, i) =>
      assert.ok(Math.abs(v - ref[i]!) < 1e-5, `wd=${wd} [${i}] ${v} vs torch ${ref[i]}`),
    );
    opt.dispose();
    p.dispose();
  }
});

test('learning-rate schedules: warm-up, cosine and linear decay', () => {
  const base: OptimConfig = { ...ADAM_DEFAULTS, lr: 1 };
  assert.equal(learningRate(base, 50, 100), 1);
  const w = { ...base, warmupSteps: 4 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 99].map((s) => learningRate(w, s, 100)),
    [0.25, 0.5, 0.75, 1, 1, 1],
  );
  const cos = { ...base, schedule: 'cosine' as const };
  assert.equal(learningRate(cos, 0, 101), 1);
  assert.ok(Math.abs(learningRate(cos, 50, 101) - 0.5) < 1e-12);
  assert.ok(learningRate(cos, 100, 101) < 1e-12);
  const lin = { ...base, schedule: 'linear' as const };
  assert.ok(Math.abs(learningRate(lin, 25, 101) - 0.75) < 1e-12);
});

/** Deterministic values in [-2, 2) (only need to be generic). */
function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x6d2b79f5) | 0;
    out[i] = -2 + ((s >>> 0) / 4294967296) * 4;
  }
  return out;
}

const addonMissing = loadAddon() === null ? 'torch addon not built (npm run build:native)' : false;

test(
  "Adam's in-place path on 'torch' gives the cpu path's parameters and moments (with and without weight decay)",
  { skip: addonMissing },
  async () => {
    const torch = await import('../../src/backend/torch/index.js');
    const { fusedAdamUpdate } = await import('../../src/backend/torch/adam.js');
    assert.equal(torch.registerTorch(), null);
    let fast = 0;
    // count the updates the fast path actually did, so the comparison cannot pass by falling back
    setFastAdam('torch', (...a) => {
      const done = fusedAdamUpdate(...a);
      if (done) fast++;
      return done;
    });
    const shapes: Record<string, number[]> = { w: [7, 5], b: [5], k: [3, 3, 2, 4] };
    const steps = 6;
    const run = async (backend: string, wd: number, shared: boolean) => {
      await tf.setBackend(backend);
      const cfg: OptimConfig = {
        lr: 0.05,
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-6,
        weightDecay: wd,
        schedule: 'constant',
        warmupSteps: 0,
        clipNorm: 0,
      };
      const params = new Map<string, tf.Variable>();
      let i = 0;
      for (const [n, s] of Object.entries(shapes))
        params.set(
          n,
          tf.tidy(() =>
            tf.variable(
              tf.tensor(
                rand(
                  s.reduce((a, b) => a * b, 1),
                  ++i,
                ),
                s,
              ),
            ),
          ),
        );
      // a clone shares the parameter's memory: the update must replace, not overwrite it
      const alias = shared ? params.get('w')!.clone() : null;
      const opt = new Adam(params, cfg);
      for (let t = 0; t < steps; t++) {
        tf.tidy(() => {
          const grads = new Map<string, tf.Tensor>();
          let j = 0;
          for (const [n, s] of Object.entries(shapes))
            grads.set(
              n,
              tf.tensor(
                rand(
                  s.reduce((a, b) => a * b, 1),
                  100 * t + ++j,
                ),
                s,
              ),
            );
          opt.apply(grads, cfg.lr * (1 - t / (2 * steps)));
        });
      }
      const out: Record<string, number[]> = {};
      for (const [n, p] of params) out[n] = Array.from(p.dataSync());
      for (const [n, st] of opt.state()) out[n] = Array.from(st.dataSync());
      if (alias) out.alias = Array.from(alias.dataSync());
      alias?.dispose();
      opt.dispose();
      for (const p of params.values()) p.dispose();
      return out;
    };
    try {
      for (const wd of [0, 0.1]) {
        for (const shared of [false, true]) {
          const before = fast;
          const cpu = await run('cpu', wd, shared);
          assert.equal(fast, before, 'no fast path on cpu');
          const tch = await run('torch', wd, shared);
          assert.equal(fast - before, steps * Object.keys(shapes).length, 'every torch update was in place');
          assert.deepEqual(Object.keys(tch).sort(), Object.keys(cpu).sort());
          for (const k of Object.keys(cpu))
            cpu[k]!.forEach((c, i) => {
              const d = tch[k]![i]!;
              assert.ok(
                Math.abs(c - d) <= 1e-5 * Math.max(1, Math.abs(c)),
                `wd=${wd} shared=${shared} ${k}[${i}]: cpu ${c} torch ${d}`,
              );
            });
          if (shared)
            assert.deepEqual(tch.alias, Array.from(rand(35, 1)), 'the clone keeps the initial values');
        }
      }
    } finally {
      setFastAdam('torch', fusedAdamUpdate);
      await tf.setBackend('cpu');
    }
  },
);

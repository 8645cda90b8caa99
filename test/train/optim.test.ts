import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Adam, learningRate, type OptimConfig } from '../../src/train/optim.js';
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
  const base: OptimConfig = {
    lr: 1,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
    schedule: 'constant',
    warmupSteps: 0,
    clipNorm: 0,
  };
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

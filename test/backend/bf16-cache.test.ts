// The bf16 policy's cast cache (precision.ts bf16Cache, TorchBackend.derived): each float32 tensor is cast to
// bf16 once and its copy reused by later kernels of the policy, freed with the tensor and dropped when the tensor
// is written in place (the fused Adam update). Checked here:
// - training steps (matmuls, convolutions, the fused conv + bias, the library's Adam updating the weights in
//   place) give the same losses, gradients and weights bit for bit with the cache and without it (casting on
//   every call), over several steps, i.e. an updated weight is cast again;
// - without the invalidation (written() disabled) the steps differ: the comparison sees a stale copy;
// - the copies are freed: tfjs tensor count, native tensor count and native bytes flat over steps, a copy goes
//   with its tensor, and fp32 kernels make none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.js';
import type { TorchBackend } from '../../src/backend/torch/backend.js';
import { loadAddon } from '../../src/backend/torch/native.js';
import { setBf16Cache, setCpuProbe, setPrecision } from '../../src/backend/torch/precision.js';
import { conv2dBias } from '../../src/ops/conv.js';
import { ADAM_DEFAULTS, Adam } from '../../src/train/optim.js';
import { rand } from '../util/rand.js';

const skip = loadAddon() === null ? 'torch addon not built (npm run build:native)' : false;

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= initBackend('torch', { quiet: true, precision: 'fp32' }).then(() => {
    setCpuProbe(() => ({ flags: ['avx512_bf16'], source: 'test' }));
  }));

let nets = 0;
/**
 * A small conv net + MLP: fused conv + bias, tf.conv2d, a dense layer (matMul) and a fused matMul + bias (both
 * 3.1M multiply-adds, above BF16_MATMUL_MIN_MACS: in the policy).
 */
function makeNet() {
  const shapes: Record<string, number[]> = {
    c1: [3, 3, 3, 16],
    b1: [16],
    c2: [3, 3, 16, 16],
    d1: [8 * 8 * 16, 96],
    d2: [96, 1024],
    b2: [1024],
  };
  const vars = new Map<string, tf.Variable>();
  const id = nets++;
  let seed = 100;
  for (const [k, s] of Object.entries(shapes)) {
    const n = s.reduce((p, q) => p * q, 1);
    const fanIn = s.length === 1 ? 16 : s.slice(0, -1).reduce((p, q) => p * q, 1);
    const bound = 1 / Math.sqrt(fanIn);
    vars.set(
      k,
      tf.tidy(() => tf.variable(tf.tensor(rand(n, seed++, -bound, bound), s), true, `bf16cache${id}-${k}`)),
    );
  }
  const x = tf.tensor4d(rand(32 * 8 * 8 * 3, 7), [32, 8, 8, 3]);
  const target = tf.tensor2d(rand(32 * 1024, 8), [32, 1024]);
  const v = (k: string) => vars.get(k)!;
  const byName = new Map([...vars.values()].map((w) => [w.name, w]));
  const loss = () => {
    let h = tf.relu(conv2dBias(x, v('c1') as tf.Tensor4D, v('b1') as tf.Tensor1D, 1, 'same'));
    h = tf.relu(tf.conv2d(h, v('c2') as tf.Tensor4D, 1, 'same'));
    const flat = tf.reshape(h, [32, -1]) as tf.Tensor2D;
    const z = tf.tanh(tf.matMul(flat, v('d1') as tf.Tensor2D));
    const y = tf.fused.matMul({ a: z, b: v('d2') as tf.Tensor2D, bias: v('b2') });
    return tf.mean(tf.square(tf.sub(y, target))) as tf.Scalar;
  };
  const opt = new Adam(byName, { ...ADAM_DEFAULTS, lr: 1e-2 });
  /** one training step: [loss, gradients...] */
  const step = (): Float32Array[] =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, [...vars.values()]);
      const out = [value, ...Object.values(grads)].map((t) => t.dataSync() as Float32Array);
      opt.apply(new Map(Object.entries(grads)), 1e-2);
      return out;
    });
  const weights = () => [...vars.values()].map((w) => w.dataSync() as Float32Array);
  const dispose = () => {
    tf.dispose([...vars.values(), x, target]);
    opt.dispose();
  };
  return { step, weights, dispose };
}

/** `steps` bf16 training steps of a fresh net: each step's loss and gradients, then the final weights */
function train(steps: number, cache: boolean): Float32Array[][] {
  const net = makeNet();
  setPrecision('bf16');
  setBf16Cache(cache);
  try {
    const out: Float32Array[][] = [];
    for (let s = 0; s < steps; s++) out.push(net.step());
    out.push(net.weights());
    return out;
  } finally {
    setPrecision('fp32');
    setBf16Cache(true);
    net.dispose();
  }
}
const plain = (r: Float32Array[][]) => r.map((step) => step.map((a) => Array.from(a)));

test(
  'bf16 cache: training steps with cached bf16 copies equal casting on every call (values, gradients, weights)',
  { skip },
  async () => {
    await setup();
    const cached = plain(train(4, true));
    const uncached = plain(train(4, false));
    assert.deepEqual(cached, uncached);
    // the weights moved (each step's copy had to be cast again) and the losses with them
    assert.notDeepEqual(cached[0]![1], cached[3]![1], 'gradients change over the steps');
    assert.notEqual(cached[0]![0]![0], cached[3]![0]![0], 'the loss changes over the steps');
  },
);

test(
  'bf16 cache: without the invalidation of written weights the steps differ (the comparison sees it)',
  { skip },
  async () => {
    await setup();
    const b = tf.backend() as TorchBackend;
    const uncached = plain(train(3, false));
    const written = b.written;
    b.written = () => {}; // stale copies of the updated weights stay in use
    let stale;
    try {
      stale = plain(train(3, true));
    } finally {
      b.written = written;
    }
    assert.deepEqual(stale[0], uncached[0], 'step 1 (nothing written yet) is the same');
    assert.notDeepEqual(stale[2], uncached[2], 'step 3 used stale bf16 weights');
  },
);

test(
  'bf16 cache: copies are freed (tensor counts and native memory flat over steps; a copy goes with its tensor)',
  { skip },
  async () => {
    await setup();
    const b = tf.backend() as TorchBackend;
    const native = () => {
      const m = b.memory();
      return [tf.memory().numTensors, m.nativeTensors, m.nativeBytes];
    };
    const net = makeNet();
    setPrecision('bf16');
    try {
      const after: number[][] = [];
      for (let s = 0; s < 5; s++) {
        net.step();
        after.push(native());
      }
      for (let s = 2; s < 5; s++) assert.deepEqual(after[s], after[1], `after step ${s + 1}`);

      // one float32 operand: its bf16 copy lives as long as it does, and is made once
      const base = native();
      const a = tf.tensor2d(rand(128 * 160, 1), [128, 160]);
      const w = tf.tensor2d(rand(160 * 128, 2), [160, 128]); // 2.6M MACs: bf16
      const before = native();
      const y1 = tf.matMul(a, w);
      const one = native();
      assert.deepEqual(one, [before[0]! + 1, before[1]! + 3, one[2]], 'the product and two bf16 copies');
      const y2 = tf.matMul(a, w);
      assert.equal(native()[1], one[1]! + 1, 'the second product reuses both copies');
      assert.deepEqual(Array.from(y2.dataSync()), Array.from(y1.dataSync()));
      tf.dispose([a, w, y1, y2]);
      assert.deepEqual(native(), base, 'the copies went with their tensors');
      setPrecision('fp32');
      const a2 = tf.tensor2d(rand(32 * 48, 1), [32, 48]);
      const at = native();
      tf.matMul(a2, a2, false, true).dispose();
      assert.deepEqual(native(), at, 'fp32 kernels keep no copies');
      a2.dispose();
    } finally {
      setPrecision('fp32');
      net.dispose();
    }
  },
);

// The 'torch' backend against tfjs's cpu backend (the reference implementation of every kernel) on
// random inputs, including convolution gradients; error handling and memory accounting.
// Skipped when the addon is not built (`npm run build:native`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { registerAllGradients } from '../../src/backend/gradients.js';
import { fallbackCounts, kernelCoverage, registerTorch } from '../../src/backend/torch/index.js';
import { loadAddon, type NTensor } from '../../src/backend/torch/native.js';
import { ADAM_DEFAULTS, Adam, type OptimConfig } from '../../src/train/optim.js';
import { rand } from '../util/rand.js';

const loaded = loadAddon();
const skip = loaded === null ? 'torch addon not built (npm run build:native)' : false;

let ready: Promise<void> | undefined;
function setup(): Promise<void> {
  ready ??= (async () => {
    await registerAllGradients();
    const err = registerTorch();
    if (err !== null) throw new Error(err);
  })();
  return ready;
}

type Case = [name: string, shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]];

/** Run f on both backends with the same inputs; return [cpu, torch] flat outputs. */
async function both(shapes: number[][], f: Case[2], seed: number): Promise<[number[][], number[][]]> {
  const inputs = shapes.map((s, i) =>
    rand(
      s.reduce((a, b) => a * b, 1),
      seed + i,
    ),
  );
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const xs = shapes.map((s, i) => tf.tensor(inputs[i], s));
      const r = f(...xs);
      return (Array.isArray(r) ? r : [r]).map((t) => Array.from(t.dataSync()));
    });
  };
  return [await run('cpu'), await run('torch')];
}

function close(a: number[][], b: number[][], tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: number of outputs`);
  for (let k = 0; k < a.length; k++) {
    assert.equal(a[k].length, b[k].length, `${what}: output ${k} size`);
    for (let i = 0; i < a[k].length; i++) {
      const d = Math.abs(a[k][i] - b[k][i]);
      const ok = d <= tol * (1 + Math.abs(a[k][i])) || (Number.isNaN(a[k][i]) && Number.isNaN(b[k][i]));
      assert.ok(ok, `${what}: output ${k}[${i}] cpu ${a[k][i]} vs torch ${b[k][i]}`);
    }
  }
}

const CASES: Case[] = [
  ['add broadcast', [[3, 4], [4]], (a, b) => tf.add(a, b)],
  [
    'sub/mul/div',
    [
      [2, 3],
      [2, 3],
    ],
    (a, b) => tf.div(tf.mul(tf.sub(a, b), a), tf.add(tf.abs(b), 1)),
  ],
  ['squaredDifference, pow', [[5], [5]], (a, b) => [tf.squaredDifference(a, b), tf.pow(tf.abs(a), b)]],
  [
    'unary math',
    [[10]],
    (a) => [tf.exp(a), tf.log1p(tf.abs(a)), tf.sqrt(tf.abs(a)), tf.rsqrt(tf.add(tf.abs(a), 1)), tf.erf(a)],
  ],
  [
    'activations',
    [[10]],
    (a) => [
      tf.relu(a),
      tf.relu6(tf.mul(a, 4)),
      tf.elu(a),
      tf.leakyRelu(a, 0.1),
      tf.sigmoid(a),
      tf.softplus(a),
      tf.tanh(a),
    ],
  ],
  ['prelu', [[2, 5], [5]], (a, b) => tf.prelu(a, b)],
  [
    'rounding, sign',
    [[12]],
    (a) => [
      tf.floor(tf.mul(a, 3)),
      tf.ceil(tf.mul(a, 3)),
      tf.round(tf.mul(a, 3)),
      tf.sign(a),
      tf.step(a, 0.3),
    ],
  ],
  [
    'compare, logical, where',
    [[6], [6]],
    (a, b) => [
      tf.cast(tf.greater(a, b), 'float32'),
      tf.where(tf.logicalAnd(tf.less(a, 1), tf.greaterEqual(b, -1)), a, b),
    ],
  ],
  [
    'max/min/clip',
    [
      [3, 3],
      [3, 3],
    ],
    (a, b) => [tf.maximum(a, b), tf.minimum(a, b), tf.clipByValue(a, -0.5, 0.7)],
  ],
  ['int32 arithmetic', [[6]], (a) => tf.floorDiv(tf.cast(tf.mul(a, 10), 'int32'), tf.scalar(3, 'int32'))],
  [
    'reductions',
    [[3, 4, 5]],
    (a) => [
      tf.sum(a, 1),
      tf.mean(a, [0, 2], true),
      tf.max(a, 2),
      tf.min(a),
      tf.prod(tf.add(a, 3), 0),
      tf.logSumExp(a, 1),
    ],
  ],
  [
    'arg reductions',
    [[4, 6]],
    (a) => [tf.cast(tf.argMax(a, 1), 'float32'), tf.cast(tf.argMin(a, 0), 'float32')],
  ],
  [
    'softmax, logSoftmax, cumsum',
    [[3, 7]],
    (a) => [tf.softmax(a), tf.logSoftmax(a), tf.cumsum(a, 1), tf.cumsum(a, 0, true, true)],
  ],
  [
    'matMul with transposes',
    [
      [5, 3],
      [4, 5],
    ],
    (a, b) => [tf.matMul(a, b, true, true), tf.matMul(b, a)],
  ],
  [
    'batched matMul broadcast',
    [
      [2, 3, 4],
      [4, 5],
    ],
    (a, b) => tf.matMul(a, b),
  ],
  [
    'fused matMul',
    [[4, 3], [3, 5], [5]],
    (a, b, c) => tf.fused.matMul({ a, b, bias: c, activation: 'relu' }),
  ],
  [
    'conv2d same/valid/stride',
    [
      [2, 7, 7, 3],
      [3, 3, 3, 4],
    ],
    (x, w) => [
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'),
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
    ],
  ],
  [
    'conv2d dilated',
    [
      [1, 9, 9, 2],
      [3, 3, 2, 3],
    ],
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2),
  ],
  [
    'fused conv2d',
    [[1, 5, 5, 2], [3, 3, 2, 4], [4]],
    (x, w, b) =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: w as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: b,
        activation: 'relu',
      }),
  ],
  [
    'depthwise conv2d',
    [
      [2, 6, 6, 3],
      [3, 3, 3, 2],
    ],
    (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
  ],
  [
    'pools',
    [[2, 6, 6, 3]],
    (x) => [
      tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'),
      tf.avgPool(x as tf.Tensor4D, 3, 1, 'same'),
      tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'),
    ],
  ],
  [
    'shape ops',
    [[2, 3, 4]],
    (a) => [
      tf.transpose(a, [2, 0, 1]),
      tf.reshape(a, [6, 4]),
      tf.slice(a, [0, 1, 1], [2, 2, 2]),
      tf.reverse(a, [1]),
      tf.tile(a, [1, 2, 1]),
      tf.pad(
        a,
        [
          [0, 1],
          [2, 0],
          [1, 1],
        ],
        0.5,
      ),
    ],
  ],
  [
    'concat, stack, unstack, split',
    [
      [2, 3],
      [2, 3],
    ],
    (a, b) => [tf.concat([a, b], 1), tf.stack([a, b], 1), ...tf.unstack(a, 1), ...tf.split(b, [1, 2], 1)],
  ],
  ['stridedSlice', [[5, 6]], (a) => tf.stridedSlice(a, [4, 0], [0, 6], [-2, 2])],
  [
    'gather, gatherND, oneHot',
    [[5, 3]],
    (a) => [
      tf.gather(a, tf.tensor1d([4, 0, 2], 'int32')),
      tf.gatherND(
        a,
        tf.tensor2d(
          [
            [1, 2],
            [3, 0],
          ],
          [2, 2],
          'int32',
        ),
      ),
      tf.oneHot(tf.tensor1d([0, 2, 7], 'int32'), 4),
    ],
  ],
  ['scatterND', [[3]], (u) => tf.scatterND(tf.tensor2d([[1], [3], [1]], [3, 1], 'int32'), u, [5])],
  [
    'creation',
    [[2]],
    (a) => [
      tf.add(tf.fill([2, 2], 3), tf.sum(a)),
      tf.range(0, 10, 3),
      tf.onesLike(a),
      tf.zerosLike(a),
      tf.broadcastTo(a, [3, 2]),
    ],
  ],
  ['topk (cpu fallback)', [[8]], (a) => tf.topk(a, 3).values],
  [
    // the torch-only gradient formulas of Sum and Mean (broadcast dy), and Step (Abs's gradient)
    'sum, mean, abs gradients',
    [[3, 4, 5]],
    (a) => [
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.sum(x, 1), tf.reshape(tf.range(1, 16), [3, 5]))))(a),
      tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.mean(x, [0, 2], true))))(a),
      tf.grad((x: tf.Tensor) => tf.mean(tf.mul(x, x)))(a),
      tf.grad((x: tf.Tensor) => tf.sum(tf.abs(tf.sub(x, tf.round(x)))))(a),
      tf.step(tf.tensor1d([NaN, -0, 0, -1, 2, 1e-40, Infinity, -Infinity]), -0.5),
      tf.step(tf.tensor1d([NaN, -0, 0, 3, -1e-40]), 0),
    ],
  ],
];

for (const [name, shapes, f] of CASES) {
  test(`torch vs cpu: ${name}`, { skip }, async () => {
    await setup();
    const [c, t] = await both(shapes, f, name.length);
    close(c, t, 1e-4, name);
  });
}

test(
  'conv gradients match the cpu backend (tf.grads through conv2d, depthwise, pools)',
  { skip },
  async () => {
    await setup();
    const cases: Case[] = [
      [
        'conv same',
        [
          [2, 6, 6, 3],
          [3, 3, 3, 4],
        ],
        (x, w) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))),
          )([x, w]),
      ],
      [
        'conv stride 2 same (asymmetric pad)',
        [
          [1, 6, 6, 2],
          [3, 3, 2, 3],
        ],
        (x, w) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.sin(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
          )([x, w]),
      ],
      [
        'depthwise',
        [
          [1, 5, 5, 2],
          [3, 3, 2, 2],
        ],
        (x, w) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))),
          )([x, w]),
      ],
      [
        'relu + pools',
        [[1, 6, 6, 2]],
        (x) =>
          tf.grad((a: tf.Tensor) =>
            tf.sum(
              tf.add(
                tf.maxPool(tf.relu(a) as tf.Tensor4D, 2, 2, 'valid'),
                tf.mean(tf.avgPool(a as tf.Tensor4D, 3, 1, 'valid')),
              ),
            ),
          )(x),
      ],
    ];
    for (const [name, shapes, f] of cases) {
      const [c, t] = await both(shapes, f, 7);
      close(c, t, 1e-3, name);
    }
  },
);

// tfjs-cpu's AvgPoolGrad divides by the full window even where the forward pass (like ATen's)
// averages only the valid cells; ATen's backward is the exact gradient of the forward: check it
// against central differences.
test('avgPool "same" gradient is the derivative of the forward pass', { skip }, async () => {
  await setup();
  await tf.setBackend('torch');
  const x0 = rand(2 * 4 * 4, 3);
  const f = (x: tf.Tensor) =>
    tf.sum(tf.mul(tf.avgPool(x as tf.Tensor4D, 3, 1, 'same'), tf.reshape(tf.range(1, 33), [1, 4, 4, 2])));
  const g = tf.tidy(() =>
    Array.from(
      tf
        .grad(f)(tf.tensor(x0, [1, 4, 4, 2]))
        .dataSync(),
    ),
  );
  const h = 1e-2;
  for (const i of [0, 5, 13, 31]) {
    const xp = x0.slice();
    const xm = x0.slice();
    xp[i] += h;
    xm[i] -= h;
    const fd = tf.tidy(
      () =>
        (f(tf.tensor(xp, [1, 4, 4, 2])).dataSync()[0] - f(tf.tensor(xm, [1, 4, 4, 2])).dataSync()[0]) /
        (2 * h),
    );
    assert.ok(
      Math.abs(fd - g[i]) < 2e-2 * (1 + Math.abs(fd)),
      `d/dx[${i}]: analytic ${g[i]} vs numeric ${fd}`,
    );
  }
});

test('errors are JS errors, not crashes', { skip }, async () => {
  await setup();
  const N = loaded!.addon;
  const a: NTensor = N.fromArray(new Float32Array([1, 2, 3]), [3], 'float32');
  const add = N.op('aten::add', 'Tensor');
  N.dispose(a);
  assert.throws(() => N.call(add, a, a), /use of a disposed tensor/);
  // its slot is reused by the next tensor, but the old id still names the disposed one
  const a2 = N.fromArray(new Float32Array([1, 2, 3]), [3], 'float32');
  assert.notEqual(a2, a);
  assert.throws(() => N.call(add, a, a2), /use of a disposed tensor/);
  N.dispose(a2);
  N.dispose(a2); // a second dispose is harmless
  assert.throws(() => N.fromArray(new Float32Array(2), [2], 'complex64'), /unsupported dtype/);
  assert.throws(() => N.fromArray(new Float32Array(3), [2, 2], 'float32'), /does not match shape/);
  assert.throws(() => N.op('aten::no_such_op', ''), /unknown ATen operator/);
  const b = N.fromArray(new Float32Array(2), [2], 'float32');
  const c = N.fromArray(new Float32Array(3), [3], 'float32');
  assert.throws(() => N.call(add, b, c), /size of tensor/);
  assert.throws(() => N.call(add, b, 'x'), Error);
  N.dispose(b);
  N.dispose(c);
  // through tfjs: a disposed tensor, and a shape error from a native kernel
  await tf.setBackend('torch');
  const t = tf.tensor([1, 2]);
  t.dispose();
  assert.throws(() => tf.add(t, t), Error); // tfjs's engine rejects it before any kernel runs
  assert.throws(() => tf.matMul(tf.ones([2, 3]), tf.ones([2, 3])), Error);
});

test('tensor count and native memory are flat after tidy training loops', { skip }, async () => {
  await setup();
  await tf.setBackend('torch');
  const w = tf.variable(tf.randomNormal([3, 3, 2, 4]));
  const x = tf.randomNormal([2, 8, 8, 2]);
  const opt = new Adam(new Map([[w.name, w]]), { ...ADAM_CFG, weightDecay: 0.01 }); // in-place update
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.mean(tf.square(tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')))) as tf.Scalar,
      );
      opt.apply(new Map(Object.entries(grads)), 0.01);
      return value;
    });
  step().dispose();
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const native = () => loaded!.addon.stats().tensors; // the addon's slot table: every kernel temporary freed
  const before = { tensors: tf.memory().numTensors, ids: backend.numDataIds(), native: native() };
  for (let i = 0; i < 20; i++) step().dispose();
  assert.equal(tf.memory().numTensors, before.tensors);
  assert.equal(backend.numDataIds(), before.ids);
  assert.equal(native(), before.native);
  opt.dispose();
  tf.dispose([w, x]);
});

test(
  'kernel coverage: the model kernels run natively, the rest on the listed fallback',
  { skip },
  async () => {
    await setup();
    const { native, fallback } = kernelCoverage();
    for (const k of [
      'BatchMatMul',
      'Conv2D',
      'Conv2DBackpropInput',
      'Conv2DBackpropFilter',
      'MaxPoolGrad',
      'AvgPoolGrad',
      'Sum',
      'Softmax',
    ]) {
      assert.ok(native.includes(k), `${k} should be native`);
    }
    assert.ok(!fallback.some((k) => native.includes(k)));
    // a W2-like step touches no fallback kernel
    await tf.setBackend('torch');
    fallbackCounts.clear();
    tf.tidy(() => {
      const x = tf.randomNormal([2, 8, 8, 1]);
      const w = tf.randomNormal([3, 3, 1, 4]);
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.mean(tf.sigmoid(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))),
      )([x, w]);
    });
    assert.deepEqual([...fallbackCounts.keys()], []);
  },
);

const ADAM_CFG: OptimConfig = { ...ADAM_DEFAULTS, lr: 0.05 };

test(
  "the library's Adam on torch (in-place update) follows the cpu backend step for step",
  { skip },
  async () => {
    await setup();
    const w0 = rand(12, 11);
    const x0 = rand(8, 12);
    const run = async (backend: string, shareParam: boolean) => {
      await tf.setBackend(backend);
      const init = tf.tensor(w0, [4, 3]);
      const w = tf.variable(init); // shares init's memory: the update must not be visible through init
      if (!shareParam) init.dispose();
      const x = tf.tensor(x0, [2, 4]);
      const opt = new Adam(new Map([['w', w]]), ADAM_CFG);
      const losses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const l = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(
            () => tf.sum(tf.square(tf.sub(tf.matMul(x, w), 0.5))) as tf.Scalar,
            [w],
          );
          opt.apply(new Map([['w', grads[w.name]!]]), ADAM_CFG.lr);
          return value;
        });
        losses.push(l.dataSync()[0]);
        l.dispose();
      }
      const out = [losses, Array.from(w.dataSync()), shareParam ? Array.from(init.dataSync()) : []];
      if (shareParam) init.dispose();
      opt.dispose();
      tf.dispose([w, x]);
      return out;
    };
    for (const share of [false, true]) {
      const c = await run('cpu', share);
      const t = await run('torch', share);
      close(c, t, 1e-4, `adam (param shared: ${share})`);
      if (share) assert.deepEqual(t[2], Array.from(w0), 'the initial tensor is unchanged');
    }
  },
);

test(
  'small elementwise arithmetic (the addon loop for <= 256 contiguous values) is bit-identical to IEEE float32',
  { skip },
  async () => {
    // cpu computes each + - * / in float64 and rounds once to float32: the correctly rounded float32 result
    const specials = [0, -0, 1e-38, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 1, -1, 0.1, 7];
    for (const n of [4, 256, 257, 1000]) {
      const a = Float32Array.from(
        { length: n },
        (_, i) => specials[i % 12]! * (i % 5 === 0 ? 1 : Math.sin(i) * 3),
      );
      const b = Float32Array.from({ length: n }, (_, i) => specials[(i * 7) % 12]! + Math.cos(i));
      for (const f of [tf.add, tf.sub, tf.mul, tf.div]) {
        const run = async (backend: string) => {
          await tf.setBackend(backend);
          return tf.tidy(() => Array.from(f(tf.tensor1d(a), tf.tensor1d(b)).dataSync()));
        };
        const got = await run('torch');
        const want = await run('cpu');
        assert.deepEqual(got, want, `${f.name} on ${n} values`);
      }
    }
    await tf.setBackend('torch');
  },
);

// Fused ops of src/ops/norm.ts and src/ops/flow.ts: on 'torch' (one kernel each way, hand-written gradient)
// against their composites written here as plain tfjs ops and differentiated by autodiff, values and every
// input's gradient; and the same op on 'cpu' (no fused kernels: the op's own composite path) against torch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.js';
import { FUSED_NORM, groupNorm, silu } from '../../src/ops/norm.js';
import {
  FUSED_FLOW,
  FUSED_INVCONV,
  FUSED_SUM,
  actNorm,
  invConv1x1,
  channelLogDet,
  sigmoidCoupling,
  sigmoidCouplingLogDet,
  sumAll,
} from '../../src/ops/flow.js';
import { FUSED_CONV, conv2dBias } from '../../src/ops/conv.js';

const hasTorch = (await initBackend('torch', { quiet: true })) === 'torch';

type F = (...xs: tf.Tensor[]) => tf.Tensor;

/** values and gradients of sum(f(xs) * w) for a fixed random upstream weight w */
function evalGrads(f: F, shapes: number[][], seed: number): { value: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const xs = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', seed + i));
    const y = f(...xs);
    const w = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 100);
    const gs = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs);
    return { value: y.dataSync() as Float32Array, grads: gs.map((g) => g.dataSync() as Float32Array) };
  });
}

function close(got: Float32Array, want: Float32Array, what: string, tol = 2e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < got.length; i++)
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  assert.ok(worst <= tol, `${what}: max relative difference ${worst}`);
}

/** fused op on torch == composite on torch (autodiff) == fused op's fallback on cpu */
async function compare(
  name: string,
  kernel: string,
  fusedF: F,
  composite: F,
  shapes: number[][],
): Promise<void> {
  await tf.setBackend('torch');
  assert.ok(tf.getKernel(kernel, 'torch'), `${kernel} is registered on torch`);
  const kernelsBefore = tf.memory().numTensors;
  const a = evalGrads(fusedF, shapes, 7);
  assert.equal(tf.memory().numTensors, kernelsBefore, `${name}: no tensor leaked`);
  const b = evalGrads(composite, shapes, 7);
  close(a.value, b.value, `${name} value (fused vs composite, torch)`);
  a.grads.forEach((g, i) => close(g, b.grads[i]!, `${name} d/dinput${i} (fused vs composite, torch)`));
  await tf.setBackend('cpu');
  const c = evalGrads(fusedF, shapes, 7);
  close(c.value, a.value, `${name} value (cpu vs torch)`);
  c.grads.forEach((g, i) => close(g, a.grads[i]!, `${name} d/dinput${i} (cpu vs torch)`));
  await tf.setBackend('torch');
}

const sigmoidComposite = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));

test('silu: fused vs x sigmoid(x)', { skip: !hasTorch }, async () => {
  await compare('silu', FUSED_NORM.silu, (x) => silu(x), sigmoidComposite, [[3, 5, 7]]);
});

function gnComposite(groups: number, act: boolean): F {
  return (x, g, b) => {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const xg = tf.reshape(x, [n, h * w, groups, c / groups]);
    const { mean, variance } = tf.moments(xg, [1, 3], true);
    const xn = tf.reshape(tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, 1e-5))), [n, h, w, c]);
    const y = tf.add(tf.mul(xn, g), b);
    return act ? sigmoidComposite(y) : y;
  };
}

for (const act of [false, true])
  for (const [groups, c] of [
    [8, 16],
    [4, 12],
    [1, 5],
  ] as const)
    test(
      `groupNorm${act ? ' + silu' : ''}: ${groups} groups of ${c} channels`,
      { skip: !hasTorch },
      async () => {
        await compare(
          `groupNorm(${groups}, ${c}, act ${act})`,
          FUSED_NORM.groupNorm,
          (x, g, b) => groupNorm(x, tf.add(g, 1), b, groups, { act }),
          (x, g, b) => gnComposite(groups, act)(x, tf.add(g, 1), b),
          [[3, 6, 5, c], [c], [c]],
        );
      },
    );

test(
  'groupNorm on a strided NHWC view (a channel slice) equals the composite',
  { skip: !hasTorch },
  async () => {
    const slice = (x: tf.Tensor) => tf.slice(x, [0, 0, 0, 2], [-1, -1, -1, 8]);
    await compare(
      'groupNorm(slice)',
      FUSED_NORM.groupNorm,
      (x, g, b) => groupNorm(slice(x), g, b, 4, { act: true }),
      (x, g, b) => gnComposite(4, true)(slice(x), g, b),
      [[2, 4, 4, 12], [8], [8]],
    );
  },
);

test('actNorm: fused vs (x + bias) exp(logs)', { skip: !hasTorch }, async () => {
  await compare(
    'actNorm',
    FUSED_FLOW.actNorm,
    (x, b, l) => actNorm(x, b, tf.mul(l, 0.3)),
    (x, b, l) => tf.mul(tf.add(x, b), tf.exp(tf.mul(l, 0.3))),
    [[4, 5, 5, 6], [6], [6]],
  );
});

// a channel mask on [H, W, C]: first half kept (inv = 0), second half transformed (inv = 1)
const INV = () => tf.concat([tf.zeros([5, 5, 3]), tf.ones([5, 5, 3])], 2);
// log sigmoid(u) = -softplus(-u) (tf.logSigmoid captures its input in a closure instead of saving it)
const logScale = (h: tf.Tensor, inv: tf.Tensor) => tf.mul(tf.neg(tf.softplus(tf.neg(tf.add(h, 2)))), inv);

test('sigmoidCoupling: fused vs x exp(inv log sigmoid(h + 2)) + t inv', { skip: !hasTorch }, async () => {
  await compare(
    'sigmoidCoupling',
    FUSED_FLOW.coupling,
    (x, h, t) => sigmoidCoupling(x, tf.mul(h, 3), t, INV()),
    (x, h, t) => tf.add(tf.mul(x, tf.exp(logScale(tf.mul(h, 3), INV()))), tf.mul(t, INV())),
    [
      [4, 5, 5, 6],
      [4, 5, 5, 6],
      [4, 5, 5, 6],
    ],
  );
});

test('sigmoidCouplingLogDet: fused vs per-example sum of s', { skip: !hasTorch }, async () => {
  await compare(
    'sigmoidCouplingLogDet',
    FUSED_FLOW.couplingLogDet,
    (h) => sigmoidCouplingLogDet(tf.mul(h, 3), INV()),
    (h) => tf.sum(tf.reshape(logScale(tf.mul(h, 3), INV()), [4, -1]), 1),
    [[4, 5, 5, 6]],
  );
});

// Glow's LU weight written out: masks from index comparisons, diag(v) as I * v, W = P (L' + I)(U' + diag)
function luComposite(C: number, perm: number[], sign: number[]) {
  const idx = Array.from({ length: C * C }, (_, k) => [Math.floor(k / C), k % C] as const);
  const lower = tf.tensor2d(
    idx.map(([r, c]) => (r > c ? 1 : 0)),
    [C, C],
  );
  const upper = tf.tensor2d(
    idx.map(([r, c]) => (r < c ? 1 : 0)),
    [C, C],
  );
  const P = tf.tensor2d(
    idx.map(([r, c]) => (perm[c] === r ? 1 : 0)),
    [C, C],
  );
  const s = tf.tensor1d(sign);
  const weight = (L: tf.Tensor, U: tf.Tensor, logs: tf.Tensor) => {
    const eye = tf.eye(C);
    const Lp = tf.add(tf.mul(L, lower), eye) as tf.Tensor2D;
    const Up = tf.add(tf.mul(U, upper), tf.mul(eye, tf.mul(s, tf.exp(logs)))) as tf.Tensor2D;
    return tf.matMul(P, tf.matMul(Lp, Up));
  };
  const mix = (x: tf.Tensor, L: tf.Tensor, U: tf.Tensor, logs: tf.Tensor) =>
    tf.reshape(tf.matMul(tf.reshape(x, [-1, C]), weight(L, U, logs), false, true), x.shape);
  return { P, s, mix, dispose: () => tf.dispose([lower, upper, P, s]) };
}

for (const [shape, perm, sign] of [
  [
    [3, 4, 5, 6],
    [2, 0, 5, 1, 4, 3],
    [1, -1, 1, 1, -1, 1],
  ],
  [
    [7, 3],
    [1, 2, 0],
    [-1, 1, 1],
  ], // vectors: an invertible linear map
] as const)
  test(
    `invConv1x1 (LU): fused vs P (L' + I)(U' + diag(sign exp(logs))) on ${shape.join('x')}`,
    { skip: !hasTorch },
    async () => {
      const C = shape[shape.length - 1]!;
      const ref = luComposite(C, [...perm], [...sign]);
      // L and U are full random matrices: the op must read only their strict triangles
      await compare(
        'invConv1x1',
        FUSED_INVCONV.invConv,
        (x, L, U, logs) => invConv1x1(x, { L: L!, U: U!, logs: tf.mul(logs!, 0.3), P: ref.P, sign: ref.s }),
        (x, L, U, logs) => ref.mix(x, L!, U!, tf.mul(logs!, 0.3)),
        [[...shape], [C, C], [C, C], [C]],
      );
      ref.dispose();
    },
  );

test('channelLogDet: fused vs positions * sum(logs) for each example', { skip: !hasTorch }, async () => {
  await compare(
    'channelLogDet',
    FUSED_INVCONV.logDet,
    (logs) => channelLogDet(logs!, 5, 49),
    (logs) => tf.add(tf.zeros([5]), tf.mul(tf.sum(logs!), 49)),
    [[6]],
  );
});

test(
  'sumAll: fused (one AddN, one fan-out of dy) vs a chain of adds, a term used twice',
  { skip: !hasTorch },
  async () => {
    await compare(
      'sumAll',
      FUSED_SUM.fanOut,
      (a, b, c) => sumAll([tf.mul(a!, 2), a!, tf.exp(b!), c!, a!]),
      (a, b, c) => tf.add(tf.add(tf.add(tf.add(tf.mul(a!, 2), a!), tf.exp(b!)), c!), a!),
      [[6], [6], [6]],
    );
    // terms of different shapes broadcast, like the chain they replace
    const r = sumAll([tf.ones([3]), tf.scalar(2)]);
    assert.deepEqual(Array.from(r.dataSync()), [3, 3, 3]);
    r.dispose();
  },
);

for (const [k, stride, cin, cout, sliced] of [
  [3, 1, 4, 6, false],
  [1, 1, 6, 5, false],
  [3, 2, 3, 4, false], // 'same' with stride 2 on an even size: asymmetric padding
  [3, 1, 4, 6, true], // a strided NHWC view (channel slice), as a coupling layer's halves
] as const)
  test(
    `conv2dBias: ${k}x${k} stride ${stride}${sliced ? ' on a channel slice' : ''}`,
    { skip: !hasTorch },
    async () => {
      const input = (x: tf.Tensor) => (sliced ? tf.slice(x, [0, 0, 0, 1], [-1, -1, -1, cin]) : x);
      await compare(
        `conv2dBias(${k}, ${stride})`,
        FUSED_CONV.conv,
        (x, w, b) => conv2dBias(input(x) as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, stride, 'same'),
        (x, w, b) => tf.add(tf.conv2d(input(x) as tf.Tensor4D, w as tf.Tensor4D, stride, 'same'), b),
        [[2, 8, 8, sliced ? cin + 2 : cin], [k, k, cin, cout], [cout]],
      );
    },
  );

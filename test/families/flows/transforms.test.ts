// Every flow transform: inverse(forward(x)) = x, inverse log-det = -forward log-det, and log|det df/dx| equals
// log|det J| of a central-difference Jacobian (float64 LU), with parameters perturbed away from the identity.
// Masks: coupling keeps its masked half bit for bit; MADE outputs have exactly zero gradient w.r.t. inputs at or
// after their own position. Tiny shapes on the cpu backend.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../src/core/rng.js';
import { ActNorm } from '../../../src/families/flows/actnorm.js';
import { Coupling, makeMask } from '../../../src/families/flows/coupling.js';
import { glowTransform } from '../../../src/families/flows/glow.js';
import { InvConv1x1 } from '../../../src/families/flows/invconv.js';
import { MADE } from '../../../src/families/flows/made.js';
import { MAFLayer } from '../../../src/families/flows/maf.js';
import { SplineCoupling, rqSpline } from '../../../src/families/flows/spline.js';
import { Split } from '../../../src/families/flows/split.js';
import { Squeeze } from '../../../src/families/flows/squeeze.js';
import { Compose, Reverse, type FlowContext, type Transform } from '../../../src/families/flows/transform.js';
import { fwd, logAbsDet, maxAbsDiff, numericalJacobian, perturb, useBackend } from './helpers.js';

before(useBackend);

interface Case {
  name: string;
  shape: number[];
  make: (rng: Rng) => Transform;
  /** perturbation of the trainable parameters */
  std: number;
  /** number of classes for a conditional transform */
  classes?: number;
  /** the transform is volume preserving (log-det must be exactly 0) */
  volumePreserving?: boolean;
}

const coupling =
  (
    shape: number[],
    mask: 'checkerboard' | 'channel' | 'alternate',
    o: Partial<{
      parity: 0 | 1;
      coupling: 'affine' | 'additive';
      scale: 'tanh' | 'sigmoid';
      classes: number;
    }> = {},
  ) =>
  (rng: Rng) =>
    new Coupling(
      shape,
      {
        mask,
        parity: o.parity ?? 0,
        coupling: o.coupling ?? 'affine',
        scale: o.scale ?? 'tanh',
        hidden: 8,
        numClasses: o.classes ?? 0,
      },
      rng,
      'c',
    );

/** the kept half's flow inside a split of [4, 4, 2]: squeeze, then a channel coupling on [2, 2, 4] */
const squeezeCoupling = (rng: Rng, numClasses: number) =>
  new Compose([
    new Squeeze(),
    new Coupling(
      [2, 2, 4],
      { mask: 'channel', parity: 0, coupling: 'affine', scale: 'tanh', hidden: 8, numClasses },
      rng,
      'c',
    ),
  ]);

const CASES: Case[] = [
  {
    name: 'affine coupling, checkerboard mask (tanh scale)',
    shape: [4, 4, 2],
    make: coupling([4, 4, 2], 'checkerboard'),
    std: 0.3,
  },
  {
    name: 'affine coupling, channel mask (sigmoid scale, parity 1)',
    shape: [3, 3, 4],
    make: coupling([3, 3, 4], 'channel', { parity: 1, scale: 'sigmoid' }),
    std: 0.3,
  },
  {
    name: 'additive coupling (NICE), checkerboard',
    shape: [4, 4, 1],
    make: coupling([4, 4, 1], 'checkerboard', { coupling: 'additive' }),
    std: 0.3,
    volumePreserving: true,
  },
  {
    name: 'conditional affine coupling on vectors',
    shape: [5],
    make: coupling([5], 'alternate', { classes: 3 }),
    std: 0.3,
    classes: 3,
  },
  { name: 'squeeze', shape: [4, 4, 2], make: () => new Squeeze(), std: 0, volumePreserving: true },
  { name: 'actnorm (image)', shape: [3, 3, 2], make: () => new ActNorm([3, 3, 2], 'a'), std: 0.5 },
  {
    name: 'actnorm (vector)',
    shape: [3],
    make: () => {
      const a = new ActNorm([3], 'a');
      a.logs.assign(tf.tensor1d([0.4, -0.3, 0.6]));
      a.bias.assign(tf.tensor1d([0.5, -1, 0.2]));
      return a;
    },
    std: 0.1,
  },
  {
    name: 'invertible 1x1 conv (LU)',
    shape: [3, 3, 4],
    make: (rng) => new InvConv1x1([3, 3, 4], rng, 'w'),
    std: 0.3,
  },
  {
    name: 'invertible linear map (LU) on vectors',
    shape: [4],
    make: (rng) => new InvConv1x1([4], rng, 'w'),
    std: 0.3,
  },
  {
    name: 'conditional MAF layer (MADE)',
    shape: [5],
    make: (rng) => new MAFLayer(5, [16, 16], 3, rng, 'm'),
    std: 0.2,
    classes: 3,
  },
  {
    name: 'rational-quadratic spline coupling (vector)',
    shape: [4],
    make: (rng) =>
      new SplineCoupling(
        [4],
        { mask: 'alternate', parity: 1, bins: 5, tailBound: 3, hidden: 16, numClasses: 0 },
        rng,
        's',
      ),
    std: 0.1,
  },
  {
    name: 'rational-quadratic spline coupling (image, checkerboard)',
    shape: [2, 2, 2],
    make: (rng) =>
      new SplineCoupling(
        [2, 2, 2],
        { mask: 'checkerboard', parity: 0, bins: 4, tailBound: 3, hidden: 8, numClasses: 0 },
        rng,
        's',
      ),
    std: 0.1,
  },
  { name: 'reverse', shape: [4], make: () => new Reverse(), std: 0, volumePreserving: true },
  {
    name: 'split (factor-out) around squeeze + coupling',
    shape: [4, 4, 2],
    make: (rng) => new Split([4, 4, 2], squeezeCoupling(rng, 0), [2, 2, 4]),
    std: 0.3,
  },
  {
    name: 'split with the learned (conditional) prior of the factored-out half',
    shape: [4, 4, 2],
    make: (rng) =>
      new Split([4, 4, 2], squeezeCoupling(rng, 3), [2, 2, 4], { numClasses: 3, prefix: 'prior' }),
    std: 0.15,
    classes: 3,
  },
  {
    name: 'Glow transform: 2 levels (squeeze, 2 steps, split, squeeze, 2 steps)',
    shape: [8, 8, 1],
    make: (rng) =>
      glowTransform(
        [8, 8, 1],
        {
          levels: 2,
          depth: 2,
          layers: 0,
          hidden: 8,
          coupling: 'affine',
          scale: 'sigmoid',
          prior: 'learned',
          conditional: false,
        },
        0,
        rng,
      ).flow,
    std: 0.1,
  },
];

function inputs(shape: number[], n: number, seed: number): tf.Tensor {
  return tf.randomNormal([n, ...shape], 0, 1, 'float32', seed);
}

function context(c: Case, n: number): FlowContext {
  if (!c.classes) return {};
  return {
    cond: tf.oneHot(
      tf.tensor1d(
        Array.from({ length: n }, (_, i) => i % c.classes!),
        'int32',
      ),
      c.classes,
    ) as tf.Tensor2D,
  };
}

for (const c of CASES) {
  test(`${c.name}: inverse(forward(x)) = x and inverse log-det = -forward log-det`, () => {
    const t = c.make(new Rng(11));
    perturb(t, c.std, 100);
    const x = inputs(c.shape, 6, 3);
    const ctx = context(c, 6);
    const f = fwd(t, x, ctx);
    const inv = t.inverse(f.y, ctx);
    assert.deepEqual(inv.x.shape, x.shape);
    const err = maxAbsDiff(inv.x, x);
    assert.ok(err < 1e-4, `max |f^-1(f(x)) - x| = ${err}`);
    const invLd = inv.logDet.dataSync();
    f.logDet.forEach((v, i) =>
      assert.ok(Math.abs(v + invLd[i]!) < 1e-4 * (1 + Math.abs(v)), `logDet ${v} vs inverse ${invLd[i]}`),
    );
    // and forward(inverse(z)) = z for z drawn from the base
    const z = tf.reshape(inputs(c.shape, 6, 4), f.y.shape);
    const back = fwd(t, t.inverse(z, ctx).x, ctx).y;
    assert.ok(maxAbsDiff(back, z) < 1e-4, `max |f(f^-1(z)) - z| = ${maxAbsDiff(back, z)}`);
  });

  test(`${c.name}: logDet = log|det| of the numerical Jacobian`, () => {
    const t = c.make(new Rng(12));
    perturb(t, c.std, 200);
    const n = 2;
    const x = inputs(c.shape, n, 5);
    const ctxAll = context(c, n);
    const { logDet } = fwd(t, x, ctxAll);
    const D = c.shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i++) {
      const xi = tf.slice(x, [i], [1]);
      const cond = ctxAll.cond ? tf.tile(tf.slice(ctxAll.cond, [i], [1]), [2 * D, 1]) : undefined;
      const J = numericalJacobian((b) => t.forward(b, cond ? { cond: cond as tf.Tensor2D } : {}).y, xi, 3e-3);
      const expected = logAbsDet(J, D);
      if (c.volumePreserving) assert.equal(logDet[i], 0);
      else
        assert.ok(
          Math.abs(logDet[i]!) > 0.05,
          `log-det ${logDet[i]} is too close to 0 for a meaningful check`,
        );
      assert.ok(
        Math.abs(logDet[i]! - expected) < 2e-2,
        `example ${i}: logDet ${logDet[i]} vs numerical ${expected}`,
      );
    }
  });
}

test('coupling masks: kept entries pass through bit for bit, the others change', () => {
  for (const [shape, mask] of [
    [[4, 4, 2], 'checkerboard'],
    [[3, 3, 4], 'channel'],
    [[6], 'alternate'],
  ] as const) {
    const t = coupling([...shape], mask)(new Rng(3));
    perturb(t, 0.3, 7);
    const x = inputs([...shape], 4, 9);
    const y = t.forward(x).y;
    const b = makeMask([...shape], mask, 0).dataSync();
    const xv = x.dataSync();
    const yv = y.dataSync();
    const per = b.length;
    let kept = 0;
    let changed = 0;
    for (let i = 0; i < yv.length; i++) {
      if (b[i % per] === 1) {
        assert.equal(yv[i], xv[i]);
        kept++;
      } else if (yv[i] !== xv[i]) changed++;
    }
    assert.equal(kept, yv.length / 2, `${mask}: half of the entries are kept`);
    assert.equal(changed, yv.length / 2, `${mask}: every other entry is transformed`);
  }
});

test('masks alternate: parity 0 and 1 are complements; checkerboard differs between neighbours', () => {
  const a = makeMask([4, 4, 2], 'checkerboard', 0).dataSync();
  const b = makeMask([4, 4, 2], 'checkerboard', 1).dataSync();
  a.forEach((v, i) => assert.equal(v + b[i]!, 1));
  // position (0,0) vs (0,1): entries 0 and 2 (C = 2)
  assert.notEqual(a[0], a[2]);
  const ch = makeMask([2, 2, 4], 'channel', 0).dataSync();
  assert.deepEqual(Array.from(ch.slice(0, 4)), [1, 1, 0, 0]);
});

test('MADE is autoregressive: d out_d / d x_j is exactly 0 for j >= d, and not all 0 for j < d', () => {
  const D = 5;
  const made = new MADE(D, [40, 40], 2, 0, new Rng(4), 'm');
  perturb(made, 0.5, 1);
  const n = 8;
  const x = inputs([D], n, 2) as tf.Tensor2D;
  for (let k = 0; k < 2; k++)
    for (let d = 0; d < D; d++) {
      const g = tf
        .grad((xx: tf.Tensor) => tf.sum(tf.slice(made.apply(xx as tf.Tensor2D)[k]!, [0, d], [n, 1])))(x)
        .dataSync();
      for (let r = 0; r < n; r++)
        for (let j = d; j < D; j++) assert.equal(g[r * D + j], 0, `output ${k}/${d} depends on input ${j}`);
      if (d > 0) {
        const earlier = Array.from(g).filter((_, i) => i % D < d);
        assert.ok(
          earlier.some((v) => v !== 0),
          `output ${k}/${d} ignores its inputs`,
        );
      }
    }
});

test('rational-quadratic spline: monotone, identity outside [-B, B], derivative = exp(logAbsDet)', () => {
  const K = 6;
  const B = 2;
  const v = tf.linspace(-3, 3, 601);
  const params = tf.tile(tf.randomNormal([1, 3 * K - 1], 0, 1.5, 'float32', 8), [601, 1]);
  const { out, logAbsDet: ld } = rqSpline(v, params, K, B, false);
  const y = out.dataSync();
  const xs = v.dataSync();
  const l = ld.dataSync();
  for (let i = 1; i < y.length; i++) assert.ok(y[i]! > y[i - 1]!, `not increasing at ${xs[i]}`);
  for (let i = 0; i < y.length; i++)
    if (Math.abs(xs[i]!) > B + 1e-6) {
      assert.ok(Math.abs(y[i]! - xs[i]!) < 1e-6);
      assert.equal(l[i], 0);
    }
  // slope by central differences at interior points vs exp(logAbsDet)
  for (let i = 1; i + 1 < y.length; i += 37) {
    if (Math.abs(xs[i]!) >= B) continue;
    const slope = (y[i + 1]! - y[i - 1]!) / (xs[i + 1]! - xs[i - 1]!);
    assert.ok(
      Math.abs(Math.log(slope) - l[i]!) < 2e-2,
      `x=${xs[i]}: slope ${slope} vs exp(ld) ${Math.exp(l[i]!)}`,
    );
  }
});

// Shared helpers of the energy-family tests: a tiny RBM with given weights, brute-force sums, an in-memory dataset.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '../../../src/core/rng.js';
import type { DataSpec } from '../../../src/data/spec.js';
import type { Dataset } from '../../../src/data/types.js';
import { registerAllGradients } from '../../../src/backend/gradients.js';
import { RBM } from '../../../src/families/energy/rbm.js';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await registerAllGradients();
}

export interface Weights {
  D: number;
  H: number;
  /** row-major [D, H] */
  W: number[];
  b: number[];
  c: number[];
}

export function randomWeights(D: number, H: number, scale: number, seed: number): Weights {
  const rng = new Rng(seed);
  return {
    D,
    H,
    W: Array.from({ length: D * H }, () => scale * rng.normal()),
    b: Array.from({ length: D }, () => 0.5 * scale * rng.normal()),
    c: Array.from({ length: H }, () => 0.5 * scale * rng.normal()),
  };
}

/** An RBM of the registry's class with these weights. */
export function rbmWith(w: Weights, opts: Record<string, unknown> = {}): RBM {
  const gaussian = opts.visible === 'gaussian';
  const spec: DataSpec = { kind: 'vector', shape: [w.D], domain: gaussian ? 'real' : 'binary' };
  const m = new RBM({ hidden: w.H, ...opts }, spec, 1);
  m.W.assign(tf.tensor2d(w.W, [w.D, w.H]));
  m.b.assign(tf.tensor1d(w.b));
  m.c.assign(tf.tensor1d(w.c));
  return m;
}

/** bits of integer s as a 0/1 array of length n (bit j = unit j) */
export const bits = (s: number, n: number): number[] => Array.from({ length: n }, (_, j) => (s >>> j) & 1);

/** -E(v, h) = b.v + c.h + v'W h (+ -|v|^2/2 for Gaussian visibles) */
export function negEnergy(w: Weights, v: number[], h: number[], gaussian = false): number {
  let e = 0;
  for (let i = 0; i < w.D; i++) {
    e += w.b[i]! * v[i]!;
    if (gaussian) e -= 0.5 * v[i]! * v[i]!;
    for (let j = 0; j < w.H; j++) e += v[i]! * w.W[i * w.H + j]! * h[j]!;
  }
  for (let j = 0; j < w.H; j++) e += w.c[j]! * h[j]!;
  return e;
}

export function logSumExp(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i]!);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.exp(a[i]! - m);
  return m + Math.log(s);
}

/** binary data as an in-memory Dataset (identity prepare/display) */
export function binaryDataset(train: Float32Array, test: Float32Array, D: number): Dataset {
  const spec: DataSpec = { kind: 'vector', shape: [D], domain: 'binary' };
  return {
    name: 'binary-toy',
    spec,
    train: { n: train.length / D, x: train },
    test: { n: test.length / D, x: test },
    prepare: (x) => x,
    toDisplay: (x) => x,
    describe: () => ({ name: 'binary-toy', options: { D } }),
  };
}

/** n rows of a mixture of `modes` random binary prototypes, each bit flipped w.p. `flip` */
export function binaryMixture(n: number, d: number, modes: number, flip: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const protos = Array.from({ length: modes }, () =>
    Array.from({ length: d }, () => (rng.next() < 0.5 ? 1 : 0)),
  );
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const m = Math.floor(rng.next() * modes);
    for (let j = 0; j < d; j++) x[i * d + j] = rng.next() < flip ? 1 - protos[m]![j]! : protos[m]![j]!;
  }
  return x;
}

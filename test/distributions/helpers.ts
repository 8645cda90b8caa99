// Shared test helpers: backend selection, deterministic inputs, closeness assertions.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../../src/backend/index.js';
import { registerAllGradients } from '../../src/backend/gradients.js';
import { Rng } from '../../src/core/rng.js';

/** cpu unless GENMODELS_BACKEND names another backend. */
export async function setupBackend(): Promise<void> {
  await initBackend((process.env.GENMODELS_BACKEND as BackendName | undefined) ?? 'cpu', { quiet: true });
  await registerAllGradients(); // tfjs-core's node entry registers none
}

export function normals(rng: Rng, n: number, scale = 1, shift = 0): number[] {
  return Array.from({ length: n }, () => shift + scale * rng.normal());
}

export function uniforms(rng: Rng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

/** |a - e| <= atol + rtol |e| elementwise, with the worst offender in the message. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol = 0,
  label = '',
): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(a))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    assert.fail(
      `${label}: element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`,
    );
  }
}

export function values(t: tf.Tensor): Float32Array | Int32Array {
  return t.dataSync() as Float32Array | Int32Array;
}

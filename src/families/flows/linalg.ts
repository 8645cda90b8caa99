// Small dense linear algebra in float64 on row-major n x n matrices (for the invertible 1x1 convolution's
// initialization and inverse; C is small).
import type { Rng } from '../../core/rng.js';

/** A random orthogonal matrix: Gram-Schmidt on a Gaussian matrix (Glow initializes W as a rotation). */
export function randomOrthogonal(n: number, rng: Rng): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const v = Array.from({ length: n }, () => rng.normal());
    for (let k = 0; k < i; k++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += v[j]! * q[k * n + j]!;
      for (let j = 0; j < n; j++) v[j]! -= dot * q[k * n + j]!;
    }
    const norm = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
    for (let j = 0; j < n; j++) q[i * n + j] = v[j]! / norm;
  }
  return q;
}

/**
 * LU decomposition with partial pivoting, A = P L U: perm[i] is the row of A that becomes row i of L U
 * (so P[perm[i], i] = 1), L unit lower triangular, U upper triangular (both returned full n x n).
 */
export function luDecompose(
  a: Float64Array,
  n: number,
): { perm: number[]; L: Float64Array; U: Float64Array } {
  const m = Float64Array.from(a);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[p * n + k]!)) p = i;
    if (p !== k) {
      for (let j = 0; j < n; j++) [m[k * n + j], m[p * n + j]] = [m[p * n + j]!, m[k * n + j]!];
      [perm[k], perm[p]] = [perm[p]!, perm[k]!];
    }
    const piv = m[k * n + k]!;
    if (piv === 0) throw new Error('luDecompose: singular matrix');
    for (let i = k + 1; i < n; i++) {
      const f = (m[i * n + k]! /= piv);
      for (let j = k + 1; j < n; j++) m[i * n + j]! -= f * m[k * n + j]!;
    }
  }
  const L = new Float64Array(n * n);
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if (j < i) L[i * n + j] = m[i * n + j]!;
      else U[i * n + j] = m[i * n + j]!;
      if (i === j) L[i * n + j] = 1;
    }
  return { perm, L, U };
}

/** A^{-1} by Gauss-Jordan elimination with partial pivoting. */
export function invert(a: ArrayLike<number>, n: number): Float64Array {
  const m = Float64Array.from(a as ArrayLike<number>);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[p * n + k]!)) p = i;
    if (m[p * n + k] === 0) throw new Error('invert: singular matrix');
    for (let j = 0; j < n; j++) {
      [m[k * n + j], m[p * n + j]] = [m[p * n + j]!, m[k * n + j]!];
      [inv[k * n + j], inv[p * n + j]] = [inv[p * n + j]!, inv[k * n + j]!];
    }
    const piv = m[k * n + k]!;
    for (let j = 0; j < n; j++) {
      m[k * n + j]! /= piv;
      inv[k * n + j]! /= piv;
    }
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const f = m[i * n + k]!;
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[i * n + j]! -= f * m[k * n + j]!;
        inv[i * n + j]! -= f * inv[k * n + j]!;
      }
    }
  }
  return inv;
}

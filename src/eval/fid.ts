// Fréchet distance between Gaussian fits of two feature sets (Heusel et al. 2017, "GANs Trained by a Two
// Time-Scale Update Rule Converge to a Local Nash Equilibrium", eq. 6; Dowson & Landau 1982):
//   FID = ||mu_1 - mu_2||^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^{1/2}).
// tr((S_1 S_2)^{1/2}) is computed as tr((A S_2 A)^{1/2}) with A = S_1^{1/2}: A S_2 A is symmetric PSD and
// similar to S_1 S_2 (same eigenvalues), so both square roots come from a symmetric eigen-decomposition
// (cyclic Jacobi, below), all in float64. Features here have D <= 128 dimensions, so this is cheap.

/** Mean and (unbiased, N-1) covariance of n rows of d features, in float64. */
export interface GaussianFit {
  d: number;
  n: number;
  mu: Float64Array;
  /** row-major d x d */
  cov: Float64Array;
}

export function gaussianFit(x: ArrayLike<number>, n: number, d: number): GaussianFit {
  if (n < 2) throw new Error(`a Gaussian fit needs at least 2 rows (got ${n})`);
  if (x.length !== n * d) throw new Error(`expected ${n} x ${d} = ${n * d} values, got ${x.length}`);
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j]! += x[i * d + j]!;
  for (let j = 0; j < d; j++) mu[j]! /= n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) c[j] = x[i * d + j]! - mu[j]!;
    for (let a = 0; a < d; a++) {
      const ca = c[a]!;
      if (ca === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) cov[row + b]! += ca * c[b]!;
    }
  }
  for (let a = 0; a < d; a++)
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  return { d, n, mu, cov };
}

/**
 * Eigen-decomposition of a symmetric d x d matrix (row-major) by the cyclic Jacobi method (Golub & Van Loan,
 * "Matrix Computations", 4th ed., alg. 8.5.3): returns eigenvalues w and eigenvectors V (columns), A = V diag(w) V^T.
 */
export function symEig(a: ArrayLike<number>, d: number): { w: Float64Array; V: Float64Array } {
  const A = Float64Array.from(a);
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += A[i]! * A[i]!;
  const tol = 1e-26 * Math.max(scale, 1e-300); // off-diagonal norm <= 1e-13 ||A||_F
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += A[p * d + q]! * A[p * d + q]!;
    if (off <= tol) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = A[p * d + q]!;
        if (apq === 0) continue;
        const app = A[p * d + p]!;
        const aqq = A[q * d + q]!;
        // the rotation (c, s) that zeroes A[p][q]
        const tau = (aqq - app) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          // A <- A J (columns p, q)
          const akp = A[k * d + p]!;
          const akq = A[k * d + q]!;
          A[k * d + p] = c * akp - s * akq;
          A[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          // A <- J^T A (rows p, q)
          const apk = A[p * d + k]!;
          const aqk = A[q * d + k]!;
          A[p * d + k] = c * apk - s * aqk;
          A[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = V[k * d + p]!;
          const vkq = V[k * d + q]!;
          V[k * d + p] = c * vkp - s * vkq;
          V[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const w = new Float64Array(d);
  for (let i = 0; i < d; i++) w[i] = A[i * d + i]!;
  return { w, V };
}

/** Square root of a symmetric PSD matrix (negative eigenvalues from round-off are clamped to 0). */
export function sqrtPsd(a: ArrayLike<number>, d: number): Float64Array {
  const { w, V } = symEig(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(0, w[k]!));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = V[i * d + k]! * s;
      if (vik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += vik * V[j * d + k]!;
    }
  }
  return out;
}

function matMul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += aik * b[k * d + j]!;
    }
  return out;
}

/** Fréchet distance between two Gaussians N(mu_1, S_1), N(mu_2, S_2). */
export function frechetDistance(f1: GaussianFit, f2: GaussianFit): number {
  const d = f1.d;
  if (f2.d !== d) throw new Error(`feature dimensions differ: ${f1.d} vs ${f2.d}`);
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (f1.mu[j]! - f2.mu[j]!) ** 2;
  let tr1 = 0;
  let tr2 = 0;
  for (let j = 0; j < d; j++) {
    tr1 += f1.cov[j * d + j]!;
    tr2 += f2.cov[j * d + j]!;
  }
  const A = sqrtPsd(f1.cov, d);
  const M = matMul(matMul(A, f2.cov, d), A, d);
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      const m = 0.5 * (M[i * d + j]! + M[j * d + i]!); // symmetrize round-off
      M[i * d + j] = m;
      M[j * d + i] = m;
    }
  const { w } = symEig(M, d);
  let trSqrt = 0;
  for (const l of w) trSqrt += Math.sqrt(Math.max(0, l));
  return meanTerm + tr1 + tr2 - 2 * trSqrt; // >= 0 up to round-off
}

/** FID of two feature matrices (n1 x d and n2 x d, row-major). */
export function fid(x1: ArrayLike<number>, n1: number, x2: ArrayLike<number>, n2: number, d: number): number {
  return frechetDistance(gaussianFit(x1, n1, d), gaussianFit(x2, n2, d));
}

// FID (src/eval/fid.ts): the Jacobi eigen-decomposition, FID(X, X) = 0, symmetry, a closed form for
// diagonal covariances, and agreement with the numpy/scipy reference (scipy.linalg.sqrtm, as pytorch-fid).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { fid, frechetDistance, gaussianFit, sqrtPsd, symEig } from '../../src/eval/fid.js';
import { torchRun, torchUnavailable } from '../util/torchref.js';

/** n x d correlated gaussian features: x = A u + m with a random A */
function features(n: number, d: number, seed: number, shift = 0): Float64Array {
  const rng = new Rng(seed);
  const A = Array.from({ length: d * d }, () => rng.normal() / Math.sqrt(d));
  const x = new Float64Array(n * d);
  const u = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) u[j] = rng.normal();
    for (let a = 0; a < d; a++) {
      let s = shift * (a % 3);
      for (let b = 0; b < d; b++) s += A[a * d + b]! * u[b]!;
      x[i * d + a] = s;
    }
  }
  return x;
}

test('symEig reconstructs the matrix and sqrtPsd squares back', () => {
  const d = 12;
  const x = features(200, d, 1);
  const { cov } = gaussianFit(x, 200, d);
  const { w, V } = symEig(cov, d);
  let err = 0;
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += V[i * d + k]! * w[k]! * V[j * d + k]!;
      err = Math.max(err, Math.abs(s - cov[i * d + j]!));
    }
  assert.ok(err < 1e-12, `reconstruction error ${err}`);
  const r = sqrtPsd(cov, d);
  let err2 = 0;
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += r[i * d + k]! * r[k * d + j]!;
      err2 = Math.max(err2, Math.abs(s - cov[i * d + j]!));
    }
  assert.ok(err2 < 1e-12, `sqrt^2 error ${err2}`);
});

test('FID(X, X) = 0 and FID(X, Y) = FID(Y, X) > 0', () => {
  const d = 32;
  const x = features(500, d, 2);
  const y = features(400, d, 3, 0.3);
  assert.ok(Math.abs(fid(x, 500, x, 500, d)) < 1e-8, `FID(X,X) = ${fid(x, 500, x, 500, d)}`);
  const xy = fid(x, 500, y, 400, d);
  const yx = fid(y, 400, x, 500, d);
  assert.ok(xy > 0.1, `FID(X,Y) = ${xy}`);
  assert.ok(Math.abs(xy - yx) < 1e-9 * Math.max(1, xy), `${xy} vs ${yx}`);
});

test('FID of diagonal Gaussians equals the closed form sum (mu1-mu2)^2 + (s1 - s2)^2', () => {
  const d = 4;
  const f1 = { d, n: 2, mu: Float64Array.from([0, 1, 2, 3]), cov: new Float64Array(d * d) };
  const f2 = { d, n: 2, mu: Float64Array.from([1, 1, 0, 3]), cov: new Float64Array(d * d) };
  const s1 = [1, 2, 0.5, 3];
  const s2 = [2, 2, 1, 0.1];
  for (let i = 0; i < d; i++) {
    f1.cov[i * d + i] = s1[i]! ** 2;
    f2.cov[i * d + i] = s2[i]! ** 2;
  }
  let want = 0;
  for (let i = 0; i < d; i++) want += (f1.mu[i]! - f2.mu[i]!) ** 2 + (s1[i]! - s2[i]!) ** 2;
  assert.ok(Math.abs(frechetDistance(f1, f2) - want) < 1e-10, `${frechetDistance(f1, f2)} vs ${want}`);
});

test('FID matches numpy/scipy (scipy.linalg.sqrtm, as in pytorch-fid)', (t) => {
  const why = torchUnavailable();
  if (why) return t.skip(why);
  const d = 24;
  const x = features(300, d, 4);
  const y = features(250, d, 5, 0.5);
  const ref = torchRun<number>(
    `
import numpy as np
from scipy import linalg
X = np.array(inp['x']).reshape(-1, inp['d']); Y = np.array(inp['y']).reshape(-1, inp['d'])
m1, m2 = X.mean(0), Y.mean(0)
s1, s2 = np.cov(X, rowvar=False), np.cov(Y, rowvar=False)
covmean = linalg.sqrtm(s1.dot(s2))
out = float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))
`,
    { x: Array.from(x), y: Array.from(y), d },
  );
  const got = fid(x, 300, y, 250, d);
  assert.ok(Math.abs(got - ref) < 1e-7 * Math.max(1, ref), `ours ${got} vs scipy ${ref}`);
});

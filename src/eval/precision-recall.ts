// Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for
// Assessing Generative Models", eqs. 1-3). Each set of feature vectors approximates its manifold by the union
// of balls around its points, the radius of a point's ball being the distance to its k-th nearest neighbour
// within the set (k = 3 in the paper):
//   f(phi, Phi) = 1 if ||phi - phi'||_2 <= ||phi' - NN_k(phi')||_2 for some phi' in Phi, else 0
//   precision = mean over generated phi_g of f(phi_g, Phi_real)   (samples that look real)
//   recall    = mean over real phi_r of f(phi_r, Phi_gen)          (real data the model covers)
// Distances come from ||a||^2 + ||b||^2 - 2 a.b on the active tfjs backend, in row chunks.
import * as tf from '@tensorflow/tfjs-core';

const CHUNK = 1024;

/** squared distances between rows of a [m, d] and b [n, d] -> [m, n] */
function sqDist(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const a2 = tf.sum(tf.square(a), 1, true);
    const b2 = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]);
    return tf.relu(tf.sub(tf.add(a2, b2), tf.mul(2, tf.matMul(a, b, false, true)))) as tf.Tensor2D;
  });
}

function rows(x: Float32Array, d: number, start: number, m: number): tf.Tensor2D {
  return tf.tensor2d(x.subarray(start * d, (start + m) * d), [m, d]);
}

/** Squared distance of each row of x (n x d) to its k-th nearest other row. */
export function kthNeighbourSqRadii(x: Float32Array, n: number, d: number, k: number): Float32Array {
  if (k < 1 || k >= n) throw new Error(`k must be in [1, n-1] (k=${k}, n=${n})`);
  const out = new Float32Array(n);
  const all = tf.tensor2d(x, [n, d]);
  try {
    for (let s = 0; s < n; s += CHUNK) {
      const m = Math.min(CHUNK, n - s);
      const r = tf.tidy(() => {
        // the k+1 smallest distances include the point itself (distance 0)
        const { values } = tf.topk(tf.neg(sqDist(rows(x, d, s, m), all)), k + 1);
        return tf.neg(tf.slice(values, [0, k], [m, 1])).dataSync();
      });
      out.set(r, s);
    }
  } finally {
    all.dispose();
  }
  return out;
}

/** Fraction of the rows of q (nq x d) that lie in the union of balls around the rows of x (radii^2 given). */
export function fractionInManifold(
  q: Float32Array,
  nq: number,
  x: Float32Array,
  nx: number,
  d: number,
  sqRadii: Float32Array,
): number {
  const xs = tf.tensor2d(x, [nx, d]);
  const r = tf.tensor2d(sqRadii, [1, nx]);
  let inside = 0;
  try {
    for (let s = 0; s < nq; s += CHUNK) {
      const m = Math.min(CHUNK, nq - s);
      inside += tf.tidy(
        () =>
          tf.sum(tf.cast(tf.any(tf.lessEqual(sqDist(rows(q, d, s, m), xs), r), 1), 'int32')).dataSync()[0]!,
      );
    }
  } finally {
    tf.dispose([xs, r]);
  }
  return inside / nq;
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
  k: number;
}

/** Improved precision/recall of generated features `fake` (nf x d) against `real` (nr x d). */
export function precisionRecall(
  real: Float32Array,
  nr: number,
  fake: Float32Array,
  nf: number,
  d: number,
  k = 3,
): PrecisionRecall {
  const rReal = kthNeighbourSqRadii(real, nr, d, k);
  const rFake = kthNeighbourSqRadii(fake, nf, d, k);
  return {
    precision: fractionInManifold(fake, nf, real, nr, d, rReal),
    recall: fractionInManifold(real, nr, fake, nf, d, rFake),
    k,
  };
}

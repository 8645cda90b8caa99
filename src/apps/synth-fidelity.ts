// Fidelity of synthetic table rows against the real ones (the measures of SDMetrics' quality / privacy reports):
//  - column shapes: per numeric column the KS complement 1 - sup_t |F_real(t) - F_synth(t)| (two-sample
//    Kolmogorov-Smirnov statistic), per categorical column the TV complement 1 - (1/2) sum_k |p_k - q_k|;
//  - correlation similarity: 1 - mean over column pairs of |r_real - r_synth| / 2 (Pearson r, in [0, 1]), over
//    the columns not constant in the real data (a column constant in the synthetic data has r = 0);
//  - train on synthetic, test on real (TSTR; Esteban et al. 2017): accuracy on the real test split of a
//    softmax regression fitted to the synthetic rows, against the same classifier fitted to the real training
//    rows (TRTR);
//  - distance to closest record (DCR): Euclidean distance of each synthetic row to its nearest training row,
//    against the same for held-out real rows (rows never trained on); synthetic rows much closer to the
//    training rows than held-out rows are suggest memorized records.
// All on standardized features (the training table's mean / std; one-hot columns as 0/1).

/** Two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b|. */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const t = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= t) i++;
    while (j < y.length && y[j]! <= t) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** Total variation distance between the category frequencies of two integer-coded samples. */
export function tvDistance(a: ArrayLike<number>, b: ArrayLike<number>, K: number): number {
  const p = new Float64Array(K);
  const q = new Float64Array(K);
  for (let i = 0; i < a.length; i++) p[a[i]!]! += 1 / a.length;
  for (let i = 0; i < b.length; i++) q[b[i]!]! += 1 / b.length;
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.abs(p[k]! - q[k]!);
  return s / 2;
}

/** Column j of an n x d row-major matrix. */
export function column(x: ArrayLike<number>, n: number, d: number, j: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[i * d + j]!;
  return out;
}

/** Pearson correlation matrix (d x d); a constant column correlates 0 with every other. */
export function correlationMatrix(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const ca = x[i * d + a]! - mean[a]!;
      if (ca === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b]! += ca * (x[i * d + b]! - mean[b]!);
    }
  const r = new Float64Array(d * d);
  for (let a = 0; a < d; a++)
    for (let b = a; b < d; b++) {
      const den = Math.sqrt(cov[a * d + a]! * cov[b * d + b]!);
      const v = a === b ? 1 : den > 1e-12 * n ? cov[a * d + b]! / den : 0;
      r[a * d + b] = v;
      r[b * d + a] = v;
    }
  return r;
}

/** 1 - mean_{a<b} |r_real - r_synth| / 2 over the columns `keep` (those not constant in the real data). */
export function correlationSimilarity(
  rReal: Float64Array,
  rSynth: Float64Array,
  d: number,
  keep: number[],
): number {
  let s = 0;
  let m = 0;
  for (let i = 0; i < keep.length; i++)
    for (let j = i + 1; j < keep.length; j++) {
      const [a, b] = [keep[i]!, keep[j]!];
      s += Math.abs(rReal[a * d + b]! - rSynth[a * d + b]!) / 2;
      m++;
    }
  return m ? 1 - s / m : 1;
}

export interface SoftmaxRegression {
  /** (d + 1) x K: weights, then the bias row */
  w: Float64Array;
  d: number;
  K: number;
}

/**
 * Multinomial logistic regression: minimize mean_i -log softmax(W^T x_i + b)_{y_i} + ||W||^2 / (2 C n) (the
 * objective of scikit-learn's LogisticRegression(C) divided by C n), by Nesterov's accelerated gradient with
 * step 1 / L, L = ||X||_F^2 / (2 n) + 1 / (C n) + 1/2 a bound on the gradient's Lipschitz constant.
 */
export function fitSoftmaxRegression(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  n: number,
  d: number,
  K: number,
  opts: { C?: number; iters?: number } = {},
): SoftmaxRegression {
  const C = opts.C ?? 1;
  const iters = opts.iters ?? 1500;
  const lam = 1 / (C * n);
  let fro = 0;
  for (let i = 0; i < n * d; i++) fro += x[i]! * x[i]!;
  const L = (fro + n) / (2 * n) + lam;
  const P = (d + 1) * K;
  let w = new Float64Array(P);
  let prev = new Float64Array(P);
  const g = new Float64Array(P);
  const z = new Float64Array(K);
  for (let t = 1; t <= iters; t++) {
    const mom = (t - 1) / (t + 2);
    const v = new Float64Array(P);
    for (let p = 0; p < P; p++) v[p] = w[p]! + mom * (w[p]! - prev[p]!);
    g.fill(0);
    for (let i = 0; i < n; i++) {
      let mx = -Infinity;
      for (let k = 0; k < K; k++) {
        let s = v[d * K + k]!;
        for (let j = 0; j < d; j++) s += x[i * d + j]! * v[j * K + k]!;
        z[k] = s;
        if (s > mx) mx = s;
      }
      let den = 0;
      for (let k = 0; k < K; k++) den += z[k] = Math.exp(z[k]! - mx);
      for (let k = 0; k < K; k++) {
        const e = (z[k]! / den - (y[i] === k ? 1 : 0)) / n;
        if (e === 0) continue;
        for (let j = 0; j < d; j++) g[j * K + k]! += e * x[i * d + j]!;
        g[d * K + k]! += e;
      }
    }
    for (let p = 0; p < d * K; p++) g[p]! += lam * v[p]!;
    prev = w;
    w = new Float64Array(P);
    for (let p = 0; p < P; p++) w[p] = v[p]! - g[p]! / L;
  }
  return { w, d, K };
}

/** argmax_k of the regression's scores per row. */
export function predictSoftmax(m: SoftmaxRegression, x: ArrayLike<number>, n: number): Int32Array {
  const { w, d, K } = m;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = w[d * K + k]!;
      for (let j = 0; j < d; j++) s += x[i * d + j]! * w[j * K + k]!;
      if (s > best) [best, out[i]] = [s, k];
    }
  }
  return out;
}

export function accuracy(pred: Int32Array, y: ArrayLike<number>): number {
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) hit++;
  return hit / pred.length;
}

/** For each row of `a` (na x d), the Euclidean distance to its nearest row of `b` (nb x d). */
export function nearestDistances(
  a: ArrayLike<number>,
  na: number,
  b: ArrayLike<number>,
  nb: number,
  d: number,
): Float64Array {
  const out = new Float64Array(na);
  for (let i = 0; i < na; i++) {
    let best = Infinity;
    for (let r = 0; r < nb; r++) {
      let s = 0;
      for (let j = 0; j < d && s < best; j++) {
        const t = a[i * d + j]! - b[r * d + j]!;
        s += t * t;
      }
      if (s < best) best = s;
    }
    out[i] = Math.sqrt(best);
  }
  return out;
}

export function quantile(v: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(v).sort();
  if (s.length === 0) return NaN;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}

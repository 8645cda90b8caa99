// The partition function of an RBM, p(v) = exp(-F(v)) / Z.
//   Exact: sum over every state of the smaller layer (<= 20 units), in chunks, with a float64 log-sum-exp.
//     hidden:  log Z = LSE_h [ c.h + sum_i g(b_i + (W h)_i) ],  g(a) = softplus(a) (binary v),
//              g(a) = a^2 / 2 + log(2 pi) / 2 (Gaussian v, unit variance: the integral over v in closed form)
//     visible: log Z = LSE_v [ -F(v) ]   (binary v only)
//   Annealed importance sampling (Neal 2001; Salakhutdinov & Murray 2008, "On the quantitative analysis of
//   deep belief networks", §3-4): a base-rate model p_A (W = 0, visible biases b_A from the data's pixel means,
//   c = 0) annealed to the RBM through
//     log f_k(v) = -q(v) + ((1 - beta_k) b_A + beta_k b).v + sum_j softplus(beta_k (c_j + (v W)_j))
//   (q = |v|^2 / 2 for Gaussian visibles, else 0), whose joint with h is the RBM with energy scaled by beta_k
//   plus the base model scaled by 1 - beta_k, so T_k is one block-Gibbs sweep at beta_k. Each chain's
//   log w = sum_k log f_k(v_k) - log f_{k-1}(v_k), and Z_B ~ Z_A mean(w) is unbiased; log of it is biased low
//   (Jensen), so the log Z estimate is low on average and the NLL computed from it optimistic.
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/model.js';
import { Rng } from '../../core/rng.js';
import { bernoulli, logMeanExp, randNormal } from './util.js';

export interface RbmParams {
  /** [D, H] */
  W: tf.Tensor2D;
  /** visible biases [D] */
  b: tf.Tensor1D;
  /** hidden biases [H] */
  c: tf.Tensor1D;
  gaussian: boolean;
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** All 2^n states of n binary units, rows start..start+m-1 (bit j of the row index is unit j). */
function states(n: number, start: number, m: number): tf.Tensor2D {
  const s = new Float32Array(m * n);
  for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) s[r * n + j] = ((start + r) >>> j) & 1;
  return tf.tensor2d(s, [m, n]);
}

function lseAdd(acc: { m: number; s: number }, v: ArrayLike<number>): void {
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x > acc.m) {
      acc.s = acc.s * Math.exp(acc.m - x) + 1;
      acc.m = x;
    } else acc.s += Math.exp(x - acc.m);
  }
}

/** Which layer an exact sum would enumerate (the smaller one within maxUnits), or null: AIS is needed. */
export function enumerableLayer(
  p: { D: number; H: number; gaussian: boolean },
  maxUnits = 20,
): 'hidden' | 'visible' | null {
  const hOk = p.H <= maxUnits;
  const vOk = !p.gaussian && p.D <= maxUnits;
  if (hOk && (!vOk || p.H <= p.D)) return 'hidden';
  return vOk ? 'visible' : null;
}

/** Exact log Z by enumerating `over` (default: the smaller layer within 20 units). */
export function exactLogZ(p: RbmParams, over?: 'hidden' | 'visible', chunk = 1 << 14): number {
  const [D, H] = p.W.shape;
  const layer = over ?? enumerableLayer({ D, H, gaussian: p.gaussian });
  if (layer === null)
    throw new UserError(`exact log Z needs a layer of at most 20 units (this RBM: ${D} x ${H})`);
  if (layer === 'visible' && p.gaussian) throw new UserError('Gaussian visible units cannot be enumerated');
  const n = layer === 'hidden' ? H : D;
  if (n > 30) throw new UserError(`cannot enumerate 2^${n} states`);
  const total = 2 ** n;
  const acc = { m: -Infinity, s: 0 };
  for (let start = 0; start < total; start += chunk) {
    const m = Math.min(chunk, total - start);
    const v = tf.tidy(() => {
      const s = states(n, start, m);
      if (layer === 'hidden') {
        const a = tf.add(tf.matMul(s, p.W, false, true), p.b); // [m, D]
        const g = p.gaussian ? tf.add(tf.mul(0.5, tf.square(a)), HALF_LOG_2PI) : tf.softplus(a);
        return tf.add(tf.sum(g, 1), tf.sum(tf.mul(s, p.c), 1));
      }
      return tf.add(tf.sum(tf.mul(s, p.b), 1), tf.sum(tf.softplus(tf.add(tf.matMul(s, p.W), p.c)), 1));
    });
    lseAdd(acc, v.dataSync());
    v.dispose();
  }
  return acc.m + Math.log(acc.s);
}

/**
 * Inverse temperatures 0 = beta_0 < ... < beta_K = 1. Salakhutdinov & Murray's schedule (K = 14500: 500
 * uniform on [0, 0.5], 4000 on [0.5, 0.9], 10000 on [0.9, 1]), stretched to any K: beta_k = g(k / K) with g
 * piecewise linear through (0, 0), (500/14500, 0.5), (4500/14500, 0.9), (1, 1).
 */
export function aisSchedule(K: number): Float64Array {
  if (!Number.isInteger(K) || K < 1)
    throw new UserError(`AIS needs at least 1 intermediate temperature (got ${K})`);
  const t1 = 500 / 14500;
  const t2 = 4500 / 14500;
  const beta = new Float64Array(K + 1);
  for (let k = 0; k <= K; k++) {
    const t = k / K;
    beta[k] =
      t <= t1
        ? (0.5 * t) / t1
        : t <= t2
          ? 0.5 + (0.4 * (t - t1)) / (t2 - t1)
          : 0.9 + (0.1 * (t - t2)) / (1 - t2);
  }
  beta[K] = 1;
  return beta;
}

export interface AisOptions {
  /** base-rate visible biases b_A [D]: logit of the data's pixel means (binary), the data mean (Gaussian) */
  baseBias: tf.Tensor1D;
  chains: number;
  /** K, the number of intermediate distributions after the base (beta_K = 1), or an explicit schedule */
  temperatures: number | Float64Array;
  seed: number;
  onStep?: (k: number, total: number) => void;
}

export interface AisResult {
  logZ: number;
  /** delta-method standard error of log Z-hat: sd(w) / (sqrt(M) mean(w)) */
  stderr: number;
  logZBase: number;
  /** per-chain log importance weights */
  logW: Float64Array;
  chains: number;
  temperatures: number;
  seconds: number;
}

/** log Z of the RBM by AIS from the base-rate model (see the header). All chains share one matmul per half-sweep. */
export function aisLogZ(p: RbmParams, o: AisOptions): AisResult {
  const beta = typeof o.temperatures === 'number' ? aisSchedule(o.temperatures) : o.temperatures;
  const K = beta.length - 1;
  if (K < 1) throw new UserError(`AIS needs at least 1 intermediate temperature (got ${K})`);
  if (!Number.isInteger(o.chains) || o.chains < 1)
    throw new UserError(`AIS needs at least 1 chain (got ${o.chains})`);
  const t0 = Date.now();
  const [D, H] = p.W.shape;
  const M = o.chains;
  const rng = new Rng(o.seed);
  const bA = o.baseBias;
  // log Z_A = H log 2 + sum_i softplus(b_A,i)  (binary)  or  H log 2 + D log(2 pi)/2 + |b_A|^2 / 2  (Gaussian)
  const logZBase = tf.tidy(() => {
    const s = p.gaussian
      ? tf.add(tf.mul(0.5, tf.sum(tf.square(bA))), D * HALF_LOG_2PI)
      : tf.sum(tf.softplus(bA));
    return s.dataSync()[0]! + H * Math.LN2;
  });
  // one matmul gives a = c + vW and the linear term (b - b_A).v: W' = [W | b - b_A], c' = [c, 0]
  const [Wx, cx, dB, WT] = tf.tidy(() => {
    const dB = tf.sub(p.b, bA);
    return [
      tf.concat([p.W, tf.reshape(dB, [D, 1])], 1),
      tf.concat([p.c, tf.zeros([1])]),
      dB,
      tf.transpose(p.W),
    ] as const;
  });
  let v = tf.tidy(() =>
    p.gaussian
      ? tf.add(bA, randNormal([M, D], rng.nextSeed()))
      : bernoulli(tf.broadcastTo(tf.sigmoid(bA), [M, D]), rng.nextSeed()),
  );
  let logW: tf.Tensor = tf.zeros([M]);
  try {
    for (let k = 1; k <= K; k++) {
      const bk = beta[k]!;
      const bp = beta[k - 1]!;
      const next = tf.tidy(() => {
        const ax = tf.add(tf.matMul(v, Wx), cx);
        const [a, lin] = tf.split(ax, [H, 1], 1) as [tf.Tensor2D, tf.Tensor2D];
        const ak = tf.mul(a, bk);
        // log f_k(v) - log f_{k-1}(v) = (beta_k - beta_{k-1}) (b - b_A).v + sum_j [sp(beta_k a_j) - sp(beta_{k-1} a_j)]
        const dLog = tf.add(
          tf.sum(tf.sub(tf.softplus(ak), tf.softplus(tf.mul(a, bp))), 1),
          tf.mul(tf.reshape(lin, [M]), bk - bp),
        );
        const w = tf.add(logW, dLog);
        if (k === K) return [w];
        // T_k: h ~ p_k(h|v) = sigmoid(beta_k a); v ~ p_k(v|h) with mean / logit b_A + beta_k (b - b_A + W h)
        const h = bernoulli(tf.sigmoid(ak), rng.nextSeed());
        const mv = tf.add(bA, tf.mul(tf.add(dB, tf.matMul(h, WT)), bk));
        const vn = p.gaussian
          ? tf.add(mv, randNormal([M, D], rng.nextSeed()))
          : bernoulli(tf.sigmoid(mv), rng.nextSeed());
        return [w, vn];
      });
      v.dispose();
      logW.dispose();
      logW = next[0]!;
      v = next[1] ?? tf.zeros([1]);
      o.onStep?.(k, K);
    }
    const lw = Float64Array.from(logW.dataSync());
    const { value, stderr } = logMeanExp(lw);
    return {
      logZ: logZBase + value,
      stderr,
      logZBase,
      logW: lw,
      chains: M,
      temperatures: K,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    tf.dispose([v, logW, Wx, cx, dB, WT]);
  }
}

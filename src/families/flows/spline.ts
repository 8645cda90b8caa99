// Rational-quadratic spline coupling (Durkan et al. 2019, "Neural Spline Flows", sec. 3.1, eq. 4-6 and
// appendix A). On [-B, B] each transformed coordinate goes through a monotonic piecewise rational-quadratic
// function with K bins, whose widths, heights and interior knot derivatives come from a network of the kept
// coordinates; outside [-B, B] it is the identity (linear tails, boundary derivatives 1).
//   in bin k, xi = (x - x_k) / w_k, s_k = h_k / w_k:
//   y = y_k + h_k (s_k xi^2 + d_k xi (1 - xi)) / (s_k + (d_{k+1} + d_k - 2 s_k) xi (1 - xi))          (eq. 4)
//   dy/dx = s_k^2 (d_{k+1} xi^2 + 2 s_k xi (1 - xi) + d_k (1 - xi)^2) / (s_k + (...) xi (1 - xi))^2    (eq. 5)
//   inverse: xi is the root of a quadratic a xi^2 + b xi + c = 0, xi = 2c / (-b - sqrt(b^2 - 4ac))  (eq. 6, A.3)
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { makeMask, type MaskKind } from './coupling.js';
import { makeCouplingNet, type CouplingNet } from './nets.js';
import {
  sumPerExample,
  type FlowContext,
  type ForwardResult,
  type InverseResult,
  type Transform,
} from './transform.js';

const MIN_BIN = 1e-3;
const MIN_DERIV = 1e-3;
/** softplus(DERIV_SHIFT) + MIN_DERIV = 1: a zero network output gives the identity spline */
const DERIV_SHIFT = Math.log(Math.expm1(1 - MIN_DERIV));

/** Knot positions [..., K+1] from unnormalized bin sizes [..., K]: from -B to B, each bin >= MIN_BIN * 2B. */
function knots(raw: tf.Tensor, K: number, B: number): { pos: tf.Tensor; size: tf.Tensor } {
  return tf.tidy(() => {
    const frac = tf.add(MIN_BIN, tf.mul(1 - MIN_BIN * K, tf.softmax(raw)));
    const cum = tf.cumsum(frac, frac.rank - 1); // (tfjs cumsum mishandles axis -1)
    const zero = tf.zeros([...cum.shape.slice(0, -1), 1]);
    const pos = tf.sub(tf.mul(tf.concat([zero, cum], -1), 2 * B), B);
    const size = tf.mul(frac, 2 * B);
    return { pos, size };
  });
}

/** t[..., begin : begin + size] */
function sliceLast(t: tf.Tensor, begin: number, size: number): tf.Tensor {
  const b = t.shape.map((_, i) => (i === t.rank - 1 ? begin : 0));
  return tf.slice(t, b, [...t.shape.slice(0, -1), size]);
}

/** sum over the last axis of t * onehot(bin): picks each element's bin entry. */
function pick(t: tf.Tensor, oneHot: tf.Tensor): tf.Tensor {
  return tf.sum(tf.mul(t, oneHot), -1);
}

/**
 * The elementwise spline. x [...], params [..., 3K - 1] (widths K, heights K, interior derivatives K-1).
 * Returns y and log|dy/dx| (forward), or x and log|dx/dy| (inverse), elementwise.
 */
export function rqSpline(
  v: tf.Tensor,
  params: tf.Tensor,
  K: number,
  B: number,
  inverse: boolean,
): { out: tf.Tensor; logAbsDet: tf.Tensor } {
  return tf.tidy(() => {
    const [rw, rh, rd] = tf.split(params, [K, K, K - 1], -1);
    const xs = knots(rw!, K, B);
    const ys = knots(rh!, K, B);
    const ones = tf.ones([...rd!.shape.slice(0, -1), 1]);
    const deriv = tf.concat([ones, tf.add(tf.softplus(tf.add(rd!, DERIV_SHIFT)), MIN_DERIV), ones], -1);
    // bin and inside-mask are discrete: computed on detached copies (comparisons have no gradient in tfjs)
    const detach = (t: tf.Tensor) => tf.tensor(t.dataSync(), t.shape);
    const vd = detach(v);
    const inside = tf.logicalAnd(tf.greaterEqual(vd, -B), tf.lessEqual(vd, B));
    const vc = tf.clipByValue(v, -B, B); // outside values take the identity branch; keep the other finite
    // bin index: the number of interior knots at or below the value
    const interior = detach(sliceLast(inverse ? ys.pos : xs.pos, 1, K - 1));
    const bin = tf.sum(
      tf.cast(tf.greaterEqual(tf.expandDims(tf.clipByValue(vd, -B, B), -1), interior), 'int32'),
      -1,
    );
    const oh = tf.reshape(tf.oneHot(tf.reshape(bin, [-1]), K), [...v.shape, K]);
    const firstK = (t: tf.Tensor) => sliceLast(t, 0, K);
    const lastK = (t: tf.Tensor) => sliceLast(t, 1, K);
    const xk = pick(firstK(xs.pos), oh);
    const wk = pick(xs.size, oh);
    const yk = pick(firstK(ys.pos), oh);
    const hk = pick(ys.size, oh);
    const dk = pick(firstK(deriv), oh);
    const dk1 = pick(lastK(deriv), oh);
    const sk = tf.div(hk, wk);
    const sum2 = tf.sub(tf.add(dk1, dk), tf.mul(2, sk));
    let xi: tf.Tensor;
    let out: tf.Tensor;
    if (!inverse) {
      xi = tf.div(tf.sub(vc, xk), wk);
      const xi1 = tf.mul(xi, tf.sub(1, xi));
      const num = tf.mul(hk, tf.add(tf.mul(sk, tf.square(xi)), tf.mul(dk, xi1)));
      out = tf.add(yk, tf.div(num, tf.add(sk, tf.mul(sum2, xi1))));
    } else {
      const dy = tf.sub(vc, yk);
      const a = tf.add(tf.mul(hk, tf.sub(sk, dk)), tf.mul(dy, sum2));
      const b = tf.sub(tf.mul(hk, dk), tf.mul(dy, sum2));
      const c = tf.mul(tf.neg(sk), dy);
      const disc = tf.relu(tf.sub(tf.square(b), tf.mul(4, tf.mul(a, c))));
      xi = tf.div(tf.mul(2, c), tf.sub(tf.neg(b), tf.sqrt(disc)));
      out = tf.add(tf.mul(xi, wk), xk);
    }
    const xi1 = tf.mul(xi, tf.sub(1, xi));
    const den = tf.add(sk, tf.mul(sum2, xi1));
    const dnum = tf.add(
      tf.add(tf.mul(dk1, tf.square(xi)), tf.mul(tf.mul(2, sk), xi1)),
      tf.mul(dk, tf.square(tf.sub(1, xi))),
    );
    const logDeriv = tf.sub(tf.add(tf.mul(2, tf.log(sk)), tf.log(dnum)), tf.mul(2, tf.log(den)));
    return {
      out: tf.where(inside, out, v),
      logAbsDet: tf.where(inside, inverse ? tf.neg(logDeriv) : logDeriv, tf.zerosLike(v)),
    };
  });
}

export interface SplineCouplingOptions {
  mask: MaskKind;
  parity: 0 | 1;
  bins: number;
  tailBound: number;
  hidden: number;
  numClasses: number;
}

/** Coupling with the spline as the elementwise map of the transformed part: y = b*x + (1-b) * g(x; NN(b*x)). */
export class SplineCoupling implements Transform {
  readonly variables: Map<string, tf.Variable>;
  private readonly b: tf.Tensor;
  private readonly net: CouplingNet;
  private readonly P: number;

  constructor(
    readonly shape: number[],
    readonly opts: SplineCouplingOptions,
    rng: Rng,
    prefix: string,
  ) {
    this.b = tf.keep(makeMask(shape, opts.mask, opts.parity));
    this.P = 3 * opts.bins - 1;
    this.net = makeCouplingNet(shape, 2, this.P, opts.hidden, opts.numClasses, rng, `${prefix}.nn`);
    this.variables = this.net.variables;
  }

  dispose(): void {
    this.b.dispose();
  }

  private run(v: tf.Tensor, inverse: boolean, cond?: tf.Tensor2D): { out: tf.Tensor; logDet: tf.Tensor1D } {
    return tf.tidy(() => {
      const n = v.shape[0]!;
      const bv = tf.mul(v, this.b);
      const inp = tf.concat([bv, tf.mul(tf.onesLike(v), this.b)], -1);
      const h = this.net.apply(this.shape.length === 3 ? inp : tf.reshape(inp, [n, -1]), cond);
      const params = tf.reshape(h, [...v.shape, this.P]);
      const { out, logAbsDet } = rqSpline(v, params, this.opts.bins, this.opts.tailBound, inverse);
      const inv = tf.sub(1, this.b);
      return { out: tf.add(bv, tf.mul(inv, out)), logDet: sumPerExample(tf.mul(inv, logAbsDet)) };
    });
  }

  forward(x: tf.Tensor, ctx: FlowContext = {}): ForwardResult {
    const { out, logDet } = this.run(x, false, ctx.cond);
    return { y: out, logDet };
  }

  inverse(y: tf.Tensor, ctx: FlowContext = {}): InverseResult {
    const { out, logDet } = this.run(y, true, ctx.cond);
    return { x: out, logDet };
  }
}

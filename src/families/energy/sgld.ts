// Stochastic-gradient Langevin dynamics on an energy, and the replay buffer of persistent negatives.
//   x_{t+1} = x_t - stepSize * dE/dx(x_t) + noise * xi_t,  xi_t ~ N(0, I)
//   (Welling & Teh 2011; noise = sqrt(2 stepSize) is the unadjusted Langevin algorithm, whose stationary law
//   tends to exp(-E) as stepSize -> 0; Du & Mordatch 2019 and Grathwohl et al. 2019 decouple the two.)
//   Replay buffer (Du & Mordatch 2019, §3.1): each chain starts from a stored negative, or with probability
//   `restart` from fresh noise; the chains' end points are written back.
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type SampleOptions } from '../../core/model.js';
import { Rng } from '../../core/rng.js';
import { offTape, randNormal } from './util.js';

export interface SgldOptions {
  steps: number;
  stepSize: number;
  noise: number;
  seed: number;
  /** clamp every iterate to [lo, hi] (data in [0, 1]) */
  clamp?: [number, number];
  onStep?: (i: number, total: number) => void;
  /** the chain's state at the start (t = 0) and after step t (SampleOptions.onState) */
  onState?: SampleOptions['onState'];
}

export function checkSgld(o: { steps: number; stepSize: number; noise: number }): void {
  if (!(o.stepSize > 0) || !Number.isFinite(o.stepSize))
    throw new UserError(`SGLD step size must be a positive number (got ${o.stepSize})`);
  if (!(o.noise >= 0) || !Number.isFinite(o.noise))
    throw new UserError(`SGLD noise must be a non-negative number (got ${o.noise})`);
  if (!Number.isInteger(o.steps) || o.steps < 0)
    throw new UserError(`SGLD steps must be a non-negative integer (got ${o.steps})`);
}

/** K SGLD steps from x0 on E (off any enclosing gradient tape: the result is a constant). Returns a new tensor. */
export function sgld(energy: (x: tf.Tensor) => tf.Tensor1D, x0: tf.Tensor, o: SgldOptions): tf.Tensor {
  checkSgld(o);
  return offTape(() => {
    const rng = new Rng(o.seed);
    const dE = tf.grad((x: tf.Tensor) => tf.sum(energy(x)));
    let x = tf.clone(x0);
    o.onState?.(0, o.steps, () => tf.clone(x));
    for (let t = 0; t < o.steps; t++) {
      const next = tf.tidy(() => {
        let y = tf.sub(x, tf.mul(dE(x), o.stepSize));
        if (o.noise > 0) y = tf.add(y, randNormal(x.shape, rng.nextSeed(), o.noise));
        return o.clamp ? tf.clipByValue(y, o.clamp[0], o.clamp[1]) : y;
      });
      x.dispose();
      x = next;
      o.onStep?.(t + 1, o.steps);
      o.onState?.(t + 1, o.steps, () => tf.clone(x));
    }
    return x;
  });
}

/** Negatives kept across updates: a non-trainable variable [size, ...shape], checkpointed with the model. */
export class ReplayBuffer {
  readonly data: tf.Variable;
  constructor(
    readonly size: number,
    readonly shape: number[],
    private readonly fresh: (n: number, seed: number) => tf.Tensor,
    seed: number,
  ) {
    if (!Number.isInteger(size) || size < 1)
      throw new UserError(`replay buffer size must be >= 1 (got ${size})`);
    this.data = tf.tidy(() => tf.variable(fresh(size, seed), false));
  }

  /**
   * n distinct buffer rows (n <= size), each replaced by fresh noise with probability `restart`.
   * All draws come from `seed`.
   */
  draw(n: number, restart: number, seed: number): { idx: Int32Array; x: tf.Tensor } {
    const rng = new Rng(seed);
    const m = Math.min(n, this.size);
    // partial Fisher-Yates over a sparse map: m distinct indices
    const swap = new Map<number, number>();
    const idx = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(rng.next() * (this.size - i));
      idx[i] = swap.get(j) ?? j;
      swap.set(j, swap.get(i) ?? i);
    }
    const keep = new Float32Array(m);
    for (let i = 0; i < m; i++) keep[i] = rng.next() < restart ? 0 : 1;
    const freshSeed = rng.nextSeed();
    const x = tf.tidy(() => {
      const old = tf.gather(this.data, tf.tensor1d(idx, 'int32'));
      const k = tf.reshape(tf.tensor1d(keep), [m, ...this.shape.map(() => 1)]);
      return tf.add(tf.mul(old, k), tf.mul(this.fresh(m, freshSeed), tf.sub(1, k)));
    });
    return { idx, x };
  }

  /** write rows x [m, ...shape] back at the (distinct) indices idx */
  write(idx: Int32Array, x: tf.Tensor): void {
    tf.tidy(() => {
      // data * (1 - mask) + scatter(x): rows not written stay bit-identical
      const id = tf.tensor2d(idx, [idx.length, 1], 'int32');
      const ones = this.shape.map(() => 1);
      const mask = tf.reshape(tf.scatterND(id, tf.ones([idx.length]), [this.size]), [this.size, ...ones]);
      const put = tf.scatterND(id, x, [this.size, ...this.shape]);
      this.data.assign(tf.add(tf.mul(this.data, tf.sub(1, mask)), put));
    });
  }
}

// Adam (Kingma & Ba 2015, Alg. 1) with decoupled weight decay (AdamW, Loshchilov & Hutter 2019), learning-rate
// schedules, and global-norm gradient clipping (Pascanu et al. 2013). Own implementation so that the
// optimizer state is plain named tensors that checkpoints store and PyTorch can read.
import * as tf from '@tensorflow/tfjs-core';

export type Schedule = 'constant' | 'cosine' | 'linear';

export interface OptimConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  schedule: Schedule;
  /** linear warm-up from 0 over this many steps (any schedule) */
  warmupSteps: number;
  /** clip gradients to this global L2 norm; 0 = off */
  clipNorm: number;
}

/** Adam as Kingma & Ba (2015) recommend: lr 1e-3, betas (0.9, 0.999), eps 1e-8; no decay, schedule or clipping. */
export const ADAM_DEFAULTS: Readonly<OptimConfig> = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  schedule: 'constant',
  warmupSteps: 0,
  clipNorm: 0,
};

/**
 * Learning rate at (0-based) step of totalSteps: linear warm-up to lr, then constant, cosine decay to 0
 * (Loshchilov & Hutter 2017, eq. 5 with one cycle) or linear decay to 0.
 */
export function learningRate(cfg: OptimConfig, step: number, totalSteps: number): number {
  const w = cfg.warmupSteps;
  if (w > 0 && step < w) return (cfg.lr * (step + 1)) / w;
  if (cfg.schedule === 'constant') return cfg.lr;
  const span = Math.max(1, totalSteps - 1 - w); // the last step reaches the end of the schedule
  const p = Math.min(1, Math.max(0, (step - w) / span));
  if (cfg.schedule === 'cosine') return 0.5 * cfg.lr * (1 + Math.cos(Math.PI * p));
  return cfg.lr * (1 - p);
}

/** Global L2 norm of a list of gradients, as a scalar tensor. */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/** Hyper-parameters of one Adam update: c1 = 1 − β1^t, c2 = 1 − β2^t (bias corrections), wd as in OptimConfig. */
export interface AdamStep {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  c1: number;
  c2: number;
  wd: number;
}

/**
 * A backend's in-place Adam update of one parameter p with moments m, v and gradient g — the same math as
 * Adam.apply's generic path. Returns false, having changed nothing, when it cannot update in place; the
 * generic path then runs.
 */
export type FastAdam = (p: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, h: AdamStep) => boolean;

const fastAdam = new Map<string, FastAdam>();

/**
 * Register (or, with null, remove) the fast Adam update for a backend name. Backends register themselves
 * (src/backend/torch/index.ts), so this module never loads a native backend.
 */
export function setFastAdam(backend: string, fn: FastAdam | null): void {
  if (fn === null) fastAdam.delete(backend);
  else fastAdam.set(backend, fn);
}

export class Adam {
  /** number of updates applied so far */
  t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  /** `params`: the variables this optimizer updates, by their model name */
  constructor(
    readonly params: Map<string, tf.Variable>,
    readonly cfg: OptimConfig,
  ) {
    for (const [name, p] of params) {
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  /**
   * One update with gradients by model name (missing = no gradient, skipped). Call inside tf.tidy.
   * θ ← θ − lr·(m̂/(√v̂+ε) + wd·θ),  m̂ = m/(1−β1^t),  v̂ = v/(1−β2^t).
   * A backend with a registered FastAdam (torch: in-place ATen calls) does each parameter's update itself;
   * the tfjs ops below run otherwise, and for any parameter it declines.
   */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.cfg;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    const fast = fastAdam.get(tf.getBackend());
    const h: AdamStep = { lr, b1, b2, eps, c1, c2, wd };
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      const m = this.m.get(name);
      const v = this.v.get(name);
      if (!p || !m || !v) continue;
      if (fast !== undefined && fast(p, m, v, g, h)) continue;
      tf.tidy(() => {
        const mNew = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const vNew = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        m.assign(mNew);
        v.assign(vNew);
        let step = tf.div(tf.div(mNew, c1), tf.add(tf.sqrt(tf.div(vNew, c2)), eps));
        if (wd > 0) step = tf.add(step, tf.mul(p, wd));
        p.assign(tf.sub(p, tf.mul(step, lr)));
      });
    }
  }

  /** state tensors by relative name: 'm/<param>', 'v/<param>' (live variables, do not dispose) */
  state(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [n, m] of this.m) out.set(`m/${n}`, m);
    for (const [n, v] of this.v) out.set(`v/${n}`, v);
    return out;
  }

  /** restore from state(); missing entries leave zeros (fresh moments) */
  load(state: Map<string, Float32Array>, t: number): void {
    this.t = t;
    for (const [kind, map] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      for (const [n, vv] of map) {
        const d = state.get(`${kind}/${n}`);
        if (d) {
          if (d.length !== vv.size)
            throw new Error(`optimizer state ${kind}/${n}: ${d.length} values for shape [${vv.shape}]`);
          tf.tidy(() => vv.assign(tf.tensor(d, vv.shape, 'float32')));
        }
      }
    }
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Exponential moving average of weights (Polyak averaging): shadow ← d·shadow + (1−d)·θ. */
export class Ema {
  readonly shadow = new Map<string, tf.Variable>();
  constructor(
    readonly params: Map<string, tf.Variable>,
    readonly decay: number,
  ) {
    for (const [n, p] of params)
      if (p.dtype === 'float32')
        this.shadow.set(
          n,
          tf.tidy(() => tf.variable(p.clone(), false)),
        );
  }
  /**
   * shadow <- d shadow + (1 - d) param after update number `step` (0-based), with the warm-up
   * d = min(decay, (1 + step) / (10 + step)) of TensorFlow's ExponentialMovingAverage(num_updates): without it
   * the average keeps decay^steps of the initial weights (37% after 1000 steps at 0.999).
   */
  update(step: number): void {
    const d = Math.min(this.decay, (1 + step) / (10 + step));
    tf.tidy(() => {
      for (const [n, s] of this.shadow) s.assign(tf.add(tf.mul(s, d), tf.mul(this.params.get(n)!, 1 - d)));
    });
  }
  /** run fn with the averaged weights swapped into the model, then swap back */
  async with<T>(fn: () => T | Promise<T>): Promise<T> {
    const saved = new Map<string, tf.Tensor>();
    for (const [n, s] of this.shadow) {
      const p = this.params.get(n)!;
      saved.set(n, p.clone());
      p.assign(s);
    }
    try {
      return await fn();
    } finally {
      for (const [n, t] of saved) {
        this.params.get(n)!.assign(t);
        t.dispose();
      }
    }
  }
  load(state: Map<string, Float32Array>): void {
    for (const [n, s] of this.shadow) {
      const d = state.get(n);
      if (d) tf.tidy(() => s.assign(tf.tensor(d, s.shape, 'float32')));
    }
  }
  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }
}

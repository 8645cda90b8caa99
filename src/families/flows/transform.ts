// Invertible transforms for normalizing flows (Dinh et al. 2015 NICE, 2017 RealNVP; Kingma & Dhariwal 2018 Glow;
// Papamakarios et al. 2017 MAF; Durkan et al. 2019 NSF). Every transform maps data towards the base, f: x -> y,
// and reports log|det df/dx| per example, so that by the change of variables (RealNVP eq. 3)
//   log p(x) = log p_Z(f(x)) + log|det df/dx|.
// inverse(y) returns f^{-1}(y) and log|det df^{-1}/dy| = -log|det df/dx| at x = f^{-1}(y).
import * as tf from '@tensorflow/tfjs-core';
import { sumAll } from '../../ops/flow.js';

/** What a transform may condition on: a one-hot label (conditional flows) and the ActNorm init switch. */
export interface FlowContext {
  /** one-hot class labels [n, numClasses] (conditional flows), else undefined */
  cond?: tf.Tensor2D;
  /** true on training batches: ActNorm layers that are not initialized yet initialize from this batch */
  init?: boolean;
}

export interface ForwardResult {
  y: tf.Tensor;
  /** log|det dy/dx| per example [n] */
  logDet: tf.Tensor1D;
}

export interface InverseResult {
  x: tf.Tensor;
  /** log|det dx/dy| per example [n] */
  logDet: tf.Tensor1D;
}

export interface Transform {
  forward(x: tf.Tensor, ctx?: FlowContext): ForwardResult;
  inverse(y: tf.Tensor, ctx?: FlowContext): InverseResult;
  /** trainable and persistent state by stable name (checkpoints) */
  readonly variables: Map<string, tf.Variable>;
  /** release constant tensors (masks); variables are disposed by the model */
  dispose?(): void;
}

/** A variable holding init()'s value; the initial tensor is released (tidy), the variable keeps its memory. */
export function variable(init: () => tf.Tensor, trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(init(), trainable));
}

/** Sum over every axis but the first: [n, ...] -> [n]. */
export function sumPerExample(t: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.reshape(t, [t.shape[0]!, -1]), 1) as tf.Tensor1D);
}

/** Names of a list of sub-modules' variables collected into one map (names must be unique). */
export function collectVariables(parts: { variables: Map<string, tf.Variable> }[]): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const p of parts)
    for (const [k, v] of p.variables) {
      if (out.has(k)) throw new Error(`duplicate flow variable name '${k}'`);
      out.set(k, v);
    }
  return out;
}

/** f = f_K o ... o f_1: log-dets add (RealNVP eq. 5 applied repeatedly). */
export class Compose implements Transform {
  readonly variables: Map<string, tf.Variable>;
  constructor(readonly parts: Transform[]) {
    this.variables = collectVariables(parts);
  }
  dispose(): void {
    for (const p of this.parts) p.dispose?.();
  }
  /** log|det| of the composition: the sum of the parts' (eq. 2 of Dinh et al. 2015, applied in turn) */
  private total(logDets: tf.Tensor[], n: number): tf.Tensor1D {
    return (logDets.length ? sumAll(logDets) : tf.zeros([n])) as tf.Tensor1D;
  }
  forward(x: tf.Tensor, ctx: FlowContext = {}): ForwardResult {
    return tf.tidy(() => {
      let h = x;
      const logDets: tf.Tensor[] = [];
      for (const p of this.parts) {
        const r = p.forward(h, ctx);
        h = r.y;
        logDets.push(r.logDet);
      }
      return { y: h, logDet: this.total(logDets, x.shape[0]!) };
    });
  }
  inverse(y: tf.Tensor, ctx: FlowContext = {}): InverseResult {
    return tf.tidy(() => {
      let h = y;
      const logDets: tf.Tensor[] = [];
      for (let i = this.parts.length - 1; i >= 0; i--) {
        const r = this.parts[i]!.inverse(h, ctx);
        h = r.x;
        logDets.push(r.logDet);
      }
      return { x: h, logDet: this.total(logDets, y.shape[0]!) };
    });
  }
}

/** Reverse the order of the last axis (MAF between autoregressive layers): a permutation, log-det 0. */
export class Reverse implements Transform {
  readonly variables = new Map<string, tf.Variable>();
  forward(x: tf.Tensor): ForwardResult {
    return tf.tidy(() => ({ y: tf.reverse(x, -1), logDet: tf.zeros([x.shape[0]!]) as tf.Tensor1D }));
  }
  inverse(y: tf.Tensor): InverseResult {
    return tf.tidy(() => ({ x: tf.reverse(y, -1), logDet: tf.zeros([y.shape[0]!]) as tf.Tensor1D }));
  }
}

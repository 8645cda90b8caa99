// Masked autoregressive flow (Papamakarios et al. 2017, MAF sec. 3.1, eq. 2-4): with (mu_d, alpha_d) computed
// by a MADE from x_{1:d-1},
//   density direction (one pass):     u_d = (x_d - mu_d) exp(-alpha_d),   log|det du/dx| = -sum_d alpha_d
//   sampling direction (D passes):    x_d = u_d exp(alpha_d) + mu_d, d = 1..D in order.
// alpha is soft-clamped, alpha = c tanh(a / c) with c = 5, so one layer scales by at most e^5 (stability;
// the paper's alpha is unconstrained). Layers alternate the variable order with Reverse (MAF sec. 3.1).
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { conditionClasses } from '../../core/labels.js';
import { parseModelOptions } from '../../core/registry.js';
import { Rng } from '../../core/rng.js';
import { dims, type DataSpec } from '../../data/spec.js';
import { ActNorm } from './actnorm.js';
import { FlowModel } from './flow.js';
import { MADE } from './made.js';
import {
  Compose,
  Reverse,
  type FlowContext,
  type ForwardResult,
  type InverseResult,
  type Transform,
} from './transform.js';

const ALPHA_CLAMP = 5;

export class MAFLayer implements Transform {
  readonly variables: Map<string, tf.Variable>;
  private readonly made: MADE;

  constructor(
    readonly D: number,
    hidden: number[],
    numClasses: number,
    rng: Rng,
    prefix: string,
  ) {
    this.made = new MADE(D, hidden, 2, numClasses, rng, prefix);
    this.variables = this.made.variables;
  }

  dispose(): void {
    this.made.dispose();
  }

  private params(x: tf.Tensor2D, cond?: tf.Tensor2D): { mu: tf.Tensor2D; alpha: tf.Tensor2D } {
    return tf.tidy(() => {
      const [mu, a] = this.made.apply(x, cond) as [tf.Tensor2D, tf.Tensor2D];
      return { mu, alpha: tf.mul(tf.tanh(tf.div(a, ALPHA_CLAMP)), ALPHA_CLAMP) };
    });
  }

  forward(x: tf.Tensor, ctx: FlowContext = {}): ForwardResult {
    return tf.tidy(() => {
      const { mu, alpha } = this.params(x as tf.Tensor2D, ctx.cond);
      return {
        y: tf.mul(tf.sub(x, mu), tf.exp(tf.neg(alpha))),
        logDet: tf.neg(tf.sum(alpha, 1)) as tf.Tensor1D,
      };
    });
  }

  /** D sequential MADE passes: after pass d, x_1..x_d are final (MAF sec. 3.1). */
  inverse(u: tf.Tensor, ctx: FlowContext = {}): InverseResult {
    return tf.tidy(() => {
      let x = tf.zerosLike(u) as tf.Tensor2D;
      let alpha: tf.Tensor2D | null = null;
      for (let d = 0; d < this.D; d++) {
        const p = this.params(x, ctx.cond);
        const next = tf.add(tf.mul(u, tf.exp(p.alpha)), p.mu) as tf.Tensor2D;
        tf.dispose(alpha ? [x, alpha] : x);
        x = next;
        alpha = p.alpha;
        tf.dispose(p.mu);
      }
      return { x, logDet: tf.sum(alpha!, 1) as tf.Tensor1D };
    });
  }
}

export const MAF_SCHEMA = z.object({
  layers: z.int().min(1).default(5).describe('MADE layers (MAF sec. 4 uses 5 or 10)'),
  hidden: z.int().min(1).default(128).describe("units of each of the MADE's hidden layers"),
  blocks: z.int().min(1).default(2).describe('hidden layers per MADE'),
  conditional: z.boolean().default(false).describe('class-conditional flow p(x | y)'),
});

/**
 * MAF model (vectors): layers x [ActNorm, MADE autoregressive layer, Reverse]. Density in one pass per layer,
 * sampling in D passes per layer (taxonomy sampling 'iterative').
 */
export function createMAF(kind: string, raw: object, spec: DataSpec, seed: number): FlowModel {
  const cfg = parseModelOptions(kind, MAF_SCHEMA, raw);
  const D = dims(spec);
  const numClasses = conditionClasses(spec, cfg.conditional);
  const rng = new Rng(seed);
  const parts: Transform[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    parts.push(new ActNorm([D], `l${l}.actnorm`));
    parts.push(
      new MAFLayer(D, new Array<number>(cfg.blocks).fill(cfg.hidden), numClasses, rng, `l${l}.made`),
    );
    parts.push(new Reverse());
  }
  return new FlowModel(kind, spec, cfg, new Compose(parts), {
    conditional: cfg.conditional,
    sampling: 'iterative',
  });
}

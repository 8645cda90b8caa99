// MADE (Germain et al. 2015, "MADE: Masked Autoencoder for Distribution Estimation"): an MLP whose weight
// masks (sec. 4, eqs. 12-13) make output d a function of the inputs before d in an ordering only. Degrees:
// m_0(d) = rank of input d in the ordering (1..D); hidden m_l(k) ~ U{min m_{l-1}, ..., D-1}; a hidden weight
// k' <- k is kept iff m_l(k') >= m_{l-1}(k), an output weight d <- k iff m_0(d) > m_L(k). Optional direct
// input -> output connections with the strict mask.
// Order-agnostic / connectivity-agnostic training (sec. 5): `numMasks` degree sets (with random orderings when
// ordering = 'random'); each step trains one, drawn at random. The density is the ensemble
//   p(x) = (1/K) sum_k p_k(x)  -- a mixture of K exact autoregressive densities, so still normalized.
// Images are flattened to D scalar positions (raster order for ordering = 'natural').
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../core/rng.js';
import type { DataSpec } from '../../data/spec.js';
import { dims } from '../../data/spec.js';
import { UserError } from '../../core/model.js';
import { z } from 'zod';
import { parseModelOptions } from '../../core/registry.js';
import {
  Autoregressive,
  COMMON_OPTIONS,
  resolveCommon,
  type SampleHooks,
  type SamplerSession,
} from './base.js';
import { MaskedLinear, Params, degreeMask, randomVar } from './masked.js';

export const MADE_SCHEMA = z.object({
  ...COMMON_OPTIONS,
  hidden: z.array(z.int().min(1)).min(1).default([512]).describe('hidden layer sizes'),
  numMasks: z.int().min(1).default(1).describe('masks (orderings) cycled in training; > 1: order-agnostic'),
  ordering: z.enum(['natural', 'random']).default('natural').describe('input ordering of the first mask'),
  direct: z.boolean().default(false).describe('direct input-to-output connections (masked)'),
  maskSeed: z
    .union([z.literal('auto'), z.int().min(0)])
    .default('auto')
    .describe(
      "seed of the orderings and hidden degrees ('auto': the model seed; stored so checkpoints rebuild them)",
    ),
});

interface MaskSet {
  /** ordering: order[s] = the input drawn at step s */
  order: number[];
  /** masks of the hidden layers, the output layer and the direct connection: [in, out] 0/1 */
  hidden: tf.Tensor2D[];
  out: tf.Tensor2D;
  direct: tf.Tensor2D | null;
}

export class MADE extends Autoregressive {
  readonly config: Record<string, unknown>;
  private readonly layers: MaskedLinear[];
  private readonly outLayer: MaskedLinear;
  private readonly directLayer: MaskedLinear | null;
  private readonly U: tf.Variable | null;
  private readonly Uout: tf.Variable | null;
  private readonly masks: MaskSet[];

  constructor(kind: string, raw: object, spec: DataSpec, seed: number) {
    const c = parseModelOptions(kind, MADE_SCHEMA, raw);
    const common = resolveCommon(c, spec);
    const D = dims(spec);
    super(kind, spec, common, { T: D, C: 1 });
    const hidden = [...c.hidden];
    const { numMasks, ordering, direct } = c;
    const maskSeed = c.maskSeed === 'auto' ? seed : c.maskSeed;
    this.config = { ...common, hidden, numMasks, ordering, direct, maskSeed };
    const rng = new Rng(seed);
    const p = new Params(this.vars);
    const P = this.head.P;
    const sizes = [D, ...hidden];
    this.layers = hidden.map((h, l) => new MaskedLinear(p, `h${l}`, sizes[l]!, h, rng));
    this.outLayer = new MaskedLinear(p, 'out', hidden[hidden.length - 1]!, D * P, rng);
    this.directLayer = direct ? new MaskedLinear(p, 'direct', D, D * P, rng, { std: 0.01 }) : null;
    // the label enters the first hidden layer and (for the first position, which sees no hidden unit) the outputs
    this.U = common.conditional ? p.add('U', randomVar([this.numClasses, hidden[0]!], 1, rng, 0.1)) : null;
    this.Uout = common.conditional ? p.add('Uout', randomVar([this.numClasses, D * P], 1, rng, 0.01)) : null;
    const mrng = new Rng(maskSeed);
    this.masks = Array.from({ length: numMasks }, () =>
      this.makeMasks(D, hidden, P, ordering === 'random' ? mrng.permutation(D) : null, mrng),
    );
  }

  /** degrees -> masks (MADE eqs. 12-13); perm null = the natural order (mask 0 of 'natural' models) */
  private makeMasks(D: number, hidden: number[], P: number, perm: Int32Array | null, rng: Rng): MaskSet {
    const order = perm ? Array.from(perm) : Array.from({ length: D }, (_, i) => i);
    const m0 = new Int32Array(D);
    order.forEach((d, s) => (m0[d] = s + 1));
    const degs: Int32Array[] = [m0];
    for (const h of hidden) {
      const prev = degs[degs.length - 1]!;
      const lo = Math.min(
        D - 1,
        prev.reduce((a, b) => Math.min(a, b), D),
      );
      const m = new Int32Array(h);
      // spread degrees over lo..D-1 (evenly, shuffled), so every degree is represented when h >= D - lo
      for (let k = 0; k < h; k++) m[k] = D - 1 <= lo ? lo : lo + (k % (D - lo));
      const sh = rng.permutation(h);
      degs.push(Int32Array.from(sh, (i) => m[i]!));
    }
    const outDeg = new Int32Array(D * P);
    for (let d = 0; d < D; d++) outDeg.fill(m0[d]!, d * P, (d + 1) * P);
    const mk = (a: Int32Array, b: Int32Array, strict: boolean) =>
      tf.tensor2d(degreeMask(a, b, strict), [a.length, b.length]);
    return {
      order,
      hidden: hidden.map((_, l) => mk(degs[l]!, degs[l + 1]!, false)),
      out: mk(degs[degs.length - 1]!, outDeg, true),
      direct: this.directLayer ? mk(m0, outDeg, true) : null,
    };
  }

  /** head parameters with mask set k: [n, D, 1, P] */
  paramsWith(x: tf.Tensor, yOh: tf.Tensor2D | null, k: number): tf.Tensor4D {
    const ms = this.masks[k];
    if (!ms) throw new UserError(`mask ${k} does not exist (numMasks ${this.masks.length})`);
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const xf = tf.reshape(x, [n, this.T]) as tf.Tensor2D;
      let h: tf.Tensor2D = xf;
      this.layers.forEach((layer, l) => {
        let a = layer.apply(h, ms.hidden[l]!);
        if (l === 0 && yOh) a = tf.add(a, tf.matMul(yOh, this.U!));
        h = tf.relu(a);
      });
      let out = this.outLayer.apply(h, ms.out);
      if (this.directLayer) out = tf.add(out, this.directLayer.apply(xf, ms.direct));
      if (yOh) out = tf.add(out, tf.matMul(yOh, this.Uout!));
      return tf.reshape(out, [n, this.T, 1, this.head.P]) as tf.Tensor4D;
    });
  }

  params(x: tf.Tensor, yOh: tf.Tensor2D | null): tf.Tensor4D {
    return this.paramsWith(x, yOh, 0);
  }

  /** log p_k(x) for mask set k, [n] */
  logProbMask(x: tf.Tensor, yOh: tf.Tensor2D | null, k: number): tf.Tensor1D {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const lp = this.head.logProb(this.paramsWith(x, yOh, k), tf.reshape(x, [n, this.T, 1]));
      return tf.sum(lp, [1, 2]) as tf.Tensor1D;
    });
  }

  /** the ensemble log (1/K) sum_k p_k(x) */
  override logProb(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor1D {
    this.checkShape(x);
    return tf.tidy(() => {
      const yOh = this.oneHot(y, x.shape[0]!);
      const K = this.masks.length;
      if (K === 1) return this.logProbMask(x, yOh, 0);
      const all = tf.stack(this.masks.map((_, k) => this.logProbMask(x, yOh, k)));
      return tf.sub(tf.logSumExp(all, 0), Math.log(K)) as tf.Tensor1D;
    });
  }

  /** order-agnostic training: one mask set per step, drawn with the step's seed */
  protected override trainLogProb(x: tf.Tensor, yOh: tf.Tensor2D | null, seed: number): tf.Tensor1D {
    return this.logProbMask(x, yOh, seed % this.masks.length);
  }

  override order(): number[] {
    return this.masks[0]!.order;
  }

  /** the ordering of every mask set */
  orders(): number[][] {
    return this.masks.map((m) => m.order);
  }

  /**
   * Sampler for mask set k: the masked weights are formed once; the first layer's pre-activation is linear in
   * x, so it is kept and updated by one row of W_1 when the previous position is drawn; the upper layers run
   * in full; the output layer computes only position t's P units.
   */
  private session(n: number, yOh: tf.Tensor2D | null, k: number): SamplerSession {
    const ms = this.masks[k]!;
    const { P } = this.head;
    const keep = <T extends tf.Tensor>(t: T): T => tf.keep(t); // state outlives the callers' tidy scopes
    const W = this.layers.map((l, i) => keep(tf.mul(l.w, ms.hidden[i]!) as tf.Tensor2D));
    const Wout = keep(tf.mul(this.outLayer.w, ms.out) as tf.Tensor2D);
    const Wdir = this.directLayer ? keep(tf.mul(this.directLayer.w, ms.direct!) as tf.Tensor2D) : null;
    let a1 = keep(
      tf.tidy(() => {
        const b = tf.tile(tf.reshape(this.layers[0]!.b, [1, -1]), [n, 1]);
        return (yOh ? tf.add(b, tf.matMul(yOh, this.U!)) : b) as tf.Tensor2D;
      }),
    );
    let prev = -1;
    return {
      next: (x, t) => {
        if (prev >= 0) {
          const upd = tf.tidy(() => {
            const xPrev = tf.slice(tf.reshape(x, [n, this.T]), [0, prev], [n, 1]);
            return tf.add(a1, tf.mul(xPrev, tf.slice(W[0]!, [prev, 0], [1, -1]))) as tf.Tensor2D;
          });
          a1.dispose();
          a1 = keep(upd);
        }
        prev = t;
        return tf.tidy(() => {
          let h = tf.relu(a1) as tf.Tensor2D;
          for (let l = 1; l < this.layers.length; l++)
            h = tf.relu(tf.add(tf.matMul(h, W[l]!), this.layers[l]!.b)) as tf.Tensor2D;
          const cols = (w: tf.Tensor2D) => tf.slice(w, [0, t * P], [-1, P]);
          let out = tf.add(tf.matMul(h, cols(Wout)), tf.slice(this.outLayer.b, [t * P], [P]));
          if (Wdir) {
            const xf = tf.reshape(x, [n, this.T]) as tf.Tensor2D;
            out = tf.add(out, tf.add(tf.matMul(xf, cols(Wdir)), tf.slice(this.directLayer!.b, [t * P], [P])));
          }
          if (yOh) out = tf.add(out, tf.slice(tf.matMul(yOh, this.Uout!), [0, t * P], [-1, P]));
          return tf.reshape(out, [n, 1, P]);
        });
      },
      dispose: () => tf.dispose([...W, Wout, ...(Wdir ? [Wdir] : []), a1]),
    };
  }

  /** mask set 0's sampler (the ordering of order()) */
  override beginSampling(n: number, yOh: tf.Tensor2D | null): SamplerSession {
    return this.session(n, yOh, 0);
  }

  /** a mixture: each sample picks a mask set uniformly, then follows that set's ordering (hooks: K = 1 only) */
  protected override sampleWith(
    n: number,
    yOh: tf.Tensor2D | null,
    rng: Rng,
    temperature: number,
    hooks: SampleHooks = {},
  ): tf.Tensor {
    const K = this.masks.length;
    if (K === 1) return this.sampleLoop(n, this.order(), this.session(n, yOh, 0), rng, temperature, hooks);
    const pick = Array.from({ length: n }, () => Math.floor(rng.next() * K));
    const parts: tf.Tensor[] = [];
    const rows: number[] = [];
    try {
      for (let k = 0; k < K; k++) {
        const idx = pick.flatMap((m, i) => (m === k ? [i] : []));
        if (idx.length === 0) continue;
        const yk = yOh ? tf.gather(yOh, tf.tensor1d(idx, 'int32')) : null;
        parts.push(
          this.sampleLoop(
            idx.length,
            this.masks[k]!.order,
            this.session(idx.length, yk, k),
            rng,
            temperature,
          ),
        );
        yk?.dispose();
        rows.push(...idx);
      }
      return tf.tidy(() => {
        const all = tf.concat(parts, 0);
        const inv = new Int32Array(n);
        rows.forEach((r, j) => (inv[r] = j));
        return tf.gather(all, tf.tensor1d(inv, 'int32'));
      });
    } finally {
      tf.dispose(parts);
    }
  }

  protected override maskedOut(): number {
    const ms = this.masks[0]!;
    const zeros = (m: tf.Tensor2D | null) => (m ? m.size - tf.tidy(() => tf.sum(m).dataSync()[0]!) : 0);
    return ms.hidden.reduce((s, m) => s + zeros(m), 0) + zeros(ms.out) + zeros(ms.direct);
  }

  override dispose(): void {
    for (const ms of this.masks) tf.dispose([...ms.hidden, ms.out, ...(ms.direct ? [ms.direct] : [])]);
    super.dispose();
  }
}

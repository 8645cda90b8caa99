// A small causal Transformer over pixels (decoder-only; Vaswani et al. 2017 with masked self-attention,
// applied to pixel sequences as in Parmar et al. 2018 "Image Transformer" and Chen et al. 2020 "iGPT").
//   tokens: e_0 = s (a learned start vector, + a class embedding when conditional), e_t = E x_{t-1} + P_t
//   block (pre-LayerNorm): e <- e + Attn(LN(e)), e <- e + MLP(LN(e)),  MLP = W2 gelu-free ReLU(W1 .)
//   Attn: softmax(Q K^T / sqrt(d_h) + M) V per head, M_{ts} = -1e9 for s > t (exp underflows to exactly 0)
//   output t: head parameters of x_t from LN(e_t)
// Input t is the previous pixel, so output t sees pixels < t only. Sampling caches every layer's keys and
// values: step t computes one new token's queries/keys/values instead of re-running the whole prefix.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../core/rng.js';
import { UserError } from '../../core/model.js';
import type { DataSpec } from '../../data/spec.js';
import { dims } from '../../data/spec.js';
import { z } from 'zod';
import { parseModelOptions } from '../../core/registry.js';
import {
  Autoregressive,
  COMMON_OPTIONS,
  INPUT_OPTION,
  oneHotInput,
  resolveCommon,
  type SamplerSession,
  storedInputs,
} from './base.js';
import { MaskedLinear, Params, randomVar, zerosVar } from './masked.js';

export const TRANSFORMER_SCHEMA = z
  .object({
    ...COMMON_OPTIONS,
    dModel: z.int().min(1).default(64).describe('model width d (divisible by heads)'),
    heads: z.int().min(1).default(4).describe('attention heads'),
    layers: z.int().min(1).default(2).describe('transformer blocks'),
    mlpRatio: z.int().min(1).default(4).describe('hidden width of the MLP as a multiple of d'),
    ...INPUT_OPTION,
  })
  .refine((c) => c.dModel % c.heads === 0, {
    message: "must be divisible by 'heads'",
    path: ['dModel'],
  });

class LayerNorm {
  readonly g: tf.Variable;
  readonly b: tf.Variable;
  constructor(p: Params, name: string, d: number) {
    this.g = p.add(`${name}.g`, tf.variable(tf.ones([d])));
    this.b = p.add(`${name}.b`, zerosVar([d]));
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), this.g), this.b);
    });
  }
}

interface Block {
  ln1: LayerNorm;
  qkv: MaskedLinear;
  proj: MaskedLinear;
  ln2: LayerNorm;
  fc1: MaskedLinear;
  fc2: MaskedLinear;
}

/** [n, L, d] x Linear -> [n, L, out] */
function dense(x: tf.Tensor, layer: MaskedLinear): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, L, d] = x.shape as [number, number, number];
    return tf.reshape(layer.apply(tf.reshape(x, [n * L, d]) as tf.Tensor2D, null), [n, L, layer.outDim]);
  });
}

export class PixelTransformer extends Autoregressive {
  readonly config: Record<string, unknown>;
  private readonly d: number;
  private readonly nh: number;
  private readonly embed: MaskedLinear;
  private readonly pos: tf.Variable;
  private readonly start: tf.Variable;
  private readonly cls: tf.Variable | null;
  private readonly blocks: Block[];
  private readonly lnOut: LayerNorm;
  private readonly out: MaskedLinear;
  private readonly oneHotIn: boolean;

  constructor(kind: string, raw: object, spec: DataSpec, seed: number) {
    const c = parseModelOptions(kind, TRANSFORMER_SCHEMA, raw);
    const common = resolveCommon(c, spec);
    const image = spec.kind === 'image' && spec.shape.length === 3;
    const C = image ? spec.shape[2]! : 1;
    const T = image ? spec.shape[0]! * spec.shape[1]! : dims(spec);
    super(kind, spec, common, { T, C });
    const { dModel: d, heads: nh, layers: nl, mlpRatio: mr } = c;
    this.config = {
      ...common,
      dModel: d,
      heads: nh,
      layers: nl,
      mlpRatio: mr,
      ...storedInputs(c.inputs),
    };
    this.oneHotIn = c.inputs === 'onehot';
    this.d = d;
    this.nh = nh;
    const rng = new Rng(seed);
    const p = new Params(this.vars);
    const std = 0.02;
    const cin = this.oneHotIn ? C * this.head.levels : C;
    this.embed = new MaskedLinear(p, 'embed', cin, d, rng, { std: 0.5 });
    this.pos = p.add('pos', randomVar([T, d], 1, rng, std));
    this.start = p.add('start', randomVar([d], 1, rng, std));
    this.cls = common.conditional ? p.add('cls', randomVar([this.numClasses, d], 1, rng, std)) : null;
    this.blocks = Array.from({ length: nl }, (_, i) => ({
      ln1: new LayerNorm(p, `block${i}.ln1`, d),
      qkv: new MaskedLinear(p, `block${i}.qkv`, d, 3 * d, rng, { std: Math.sqrt(1 / d) }),
      proj: new MaskedLinear(p, `block${i}.proj`, d, d, rng, { std: std }),
      ln2: new LayerNorm(p, `block${i}.ln2`, d),
      fc1: new MaskedLinear(p, `block${i}.fc1`, d, mr * d, rng),
      fc2: new MaskedLinear(p, `block${i}.fc2`, mr * d, d, rng, { std: std }),
    }));
    this.lnOut = new LayerNorm(p, 'lnOut', d);
    this.out = new MaskedLinear(p, 'out', d, C * this.head.P, rng, { std: std });
  }

  /** what the embedding reads of values [n, L, C]: 2x - 1, or one-hot levels (inputs 'onehot') */
  private embedInput(v: tf.Tensor): tf.Tensor {
    return this.oneHotIn ? oneHotInput(v, this.head.levels) : tf.tidy(() => tf.sub(tf.mul(v, 2), 1));
  }

  /** the start token s (+ class embedding): [n, 1, d] */
  private startToken(n: number, yOh: tf.Tensor2D | null): tf.Tensor3D {
    return tf.tidy(() => {
      const s = tf.tile(tf.reshape(this.start, [1, 1, this.d]), [n, 1, 1]);
      return (yOh ? tf.add(s, tf.expandDims(tf.matMul(yOh, this.cls!), 1)) : s) as tf.Tensor3D;
    });
  }

  /** [n, L, d] -> [n, heads, L, dh] */
  private split(x: tf.Tensor): tf.Tensor4D {
    const [n, L] = x.shape as [number, number];
    return tf.transpose(tf.reshape(x, [n, L, this.nh, this.d / this.nh]), [0, 2, 1, 3]);
  }

  /** attention of queries q [n, h, Lq, dh] over keys/values [n, h, Lk, dh], optional additive mask */
  private attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor | null): tf.Tensor3D {
    return tf.tidy(() => {
      const [n, , Lq] = q.shape;
      let s = tf.div(tf.matMul(q, k, false, true), Math.sqrt(this.d / this.nh));
      if (bias) s = tf.add(s, bias);
      const o = tf.matMul(tf.softmax(s, -1), v);
      return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [n, Lq, this.d]) as tf.Tensor3D;
    });
  }

  private mlp(e: tf.Tensor, b: Block): tf.Tensor {
    return tf.tidy(() => tf.add(e, dense(tf.relu(dense(b.ln2.apply(e), b.fc1)), b.fc2)));
  }

  private outParams(e: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, L] = e.shape as [number, number];
      return tf.reshape(dense(this.lnOut.apply(e), this.out), [n, L, this.C, this.head.P]) as tf.Tensor4D;
    });
  }

  params(x: tf.Tensor, yOh: tf.Tensor2D | null): tf.Tensor4D {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const { T, C } = this;
      // shift right: token t carries pixel t-1 (token 0: the start token)
      const prev = tf.slice(tf.reshape(x, [n, T, C]), [0, 0, 0], [n, T - 1, C]);
      const shifted = tf.add(
        dense(this.embedInput(prev), this.embed),
        tf.slice(this.pos, [1, 0], [T - 1, -1]),
      );
      const s0 = tf.add(this.startToken(n, yOh), tf.slice(this.pos, [0, 0], [1, -1]));
      let e: tf.Tensor = T > 1 ? tf.concat([s0, shifted], 1) : s0;
      const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // 1 on and below the diagonal
      const bias = tf.mul(tf.sub(1, causal), -1e9);
      for (const b of this.blocks) {
        const [q, k, v] = tf.split(dense(b.ln1.apply(e), b.qkv), 3, -1);
        const a = this.attend(this.split(q!), this.split(k!), this.split(v!), bias);
        e = this.mlp(tf.add(e, dense(a, b.proj)), b);
      }
      return this.outParams(e);
    });
  }

  /** key/value cache: step t embeds token t once and attends over the cached keys and values of tokens <= t */
  override beginSampling(n: number, yOh: tf.Tensor2D | null): SamplerSession {
    const cache: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
    const s0 = tf.keep(this.startToken(n, yOh)); // kept: sessions outlive the caller's tidy scopes
    const { C } = this;
    return {
      next: (x, t) => {
        const { e, kv } = tf.tidy(() => {
          let e: tf.Tensor =
            t === 0
              ? s0
              : dense(
                  this.embedInput(tf.slice(tf.reshape(x, [n, this.T, C]), [0, t - 1, 0], [n, 1, C])),
                  this.embed,
                );
          e = tf.add(e, tf.slice(this.pos, [t, 0], [1, -1]));
          const kv: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
          this.blocks.forEach((b, i) => {
            const [q, k, v] = tf.split(dense(b.ln1.apply(e), b.qkv), 3, -1).map((z) => this.split(z));
            const K = cache[i] ? tf.concat([cache[i]!.k, k!], 2) : k!;
            const V = cache[i] ? tf.concat([cache[i]!.v, v!], 2) : v!;
            kv.push({ k: K as tf.Tensor4D, v: V as tf.Tensor4D });
            const a = this.attend(q!, K as tf.Tensor4D, V as tf.Tensor4D, null);
            e = this.mlp(tf.add(e, dense(a, b.proj)), b);
          });
          return { e: this.outParams(e), kv };
        });
        kv.forEach((z, i) => {
          if (cache[i]) tf.dispose([cache[i]!.k, cache[i]!.v]);
          cache[i] = { k: tf.keep(z.k), v: tf.keep(z.v) };
        });
        const p = tf.squeeze(e, [1]);
        e.dispose();
        return p;
      },
      dispose: () => {
        for (const z of cache) tf.dispose([z.k, z.v]);
        s0.dispose();
      },
    };
  }
}

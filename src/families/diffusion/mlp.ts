// The denoiser for vectors (2-D toys, CSV tables): a residual MLP conditioned on the time (and label)
// embedding e: h_0 = W_in x; h_{l+1} = h_l + W_2 silu(W_1 silu(h_l) + U e); out = W_out silu(h_L).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { Conditioning, Dense, silu, type Denoiser, type Vars } from './layers.js';

export class MlpDenoiser implements Denoiser {
  readonly variables: Vars = new Map();
  private readonly cond: Conditioning;
  private readonly inp: Dense;
  private readonly blocks: { d1: Dense; e: Dense; d2: Dense }[] = [];
  private readonly out: Dense;

  constructor(
    readonly D: number,
    hidden: number,
    numBlocks: number,
    numClasses: number,
    rng: Rng,
  ) {
    const v = this.variables;
    this.cond = new Conditioning(hidden, hidden, numClasses, rng, v);
    this.inp = new Dense(D, hidden, rng, 'mlp.in', v);
    for (let l = 0; l < numBlocks; l++) {
      this.blocks.push({
        d1: new Dense(hidden, hidden, rng, `mlp.${l}.d1`, v),
        e: new Dense(hidden, hidden, rng, `mlp.${l}.e`, v),
        d2: new Dense(hidden, hidden, rng, `mlp.${l}.d2`, v),
      });
    }
    this.out = new Dense(hidden, D, rng, 'mlp.out', v);
  }

  apply(x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D | null): tf.Tensor {
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const e = silu(this.cond.apply(t, y));
      let h = this.inp.apply(tf.reshape(x, [n, this.D]));
      for (const b of this.blocks) {
        h = tf.add(h, b.d2.apply(silu(tf.add(b.d1.apply(silu(h)), b.e.apply(e)))));
      }
      return tf.reshape(this.out.apply(silu(h)), x.shape);
    });
  }
}

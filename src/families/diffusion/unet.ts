// The denoiser for images: a small U-Net (Ronneberger et al. 2015) as in Ho et al. 2020 (appendix B, after
// PixelCNN++ / Wide ResNet): residual blocks with GroupNorm and SiLU, the time (and label) embedding added
// inside every block, self-attention at the lowest resolution, skip connections across each resolution.
//   ResBlock(x, e) = skip(x) + conv(silu(gn(conv(silu(gn(x))) + W e)))     (second conv zero-initialized)
//   Attention(x)   = x + proj(softmax(q k^T / sqrt(c)) v),  q, k, v = 1x1 projections of gn(x)
// Downsampling: 3x3 conv with stride 2; upsampling: nearest-neighbour x2 then a 3x3 conv.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';
import { Conditioning, Conv, Dense, GroupNorm, type Denoiser, type Vars } from './layers.js';

class ResBlock {
  private readonly gn1: GroupNorm;
  private readonly conv1: Conv;
  private readonly emb: Dense;
  private readonly gn2: GroupNorm;
  private readonly conv2: Conv;
  private readonly skip: Conv | null;
  constructor(cin: number, cout: number, embDim: number, rng: Rng, name: string, vars: Vars) {
    this.gn1 = new GroupNorm(cin, `${name}.gn1`, vars);
    this.conv1 = new Conv(cin, cout, rng, `${name}.conv1`, vars);
    this.emb = new Dense(embDim, cout, rng, `${name}.emb`, vars);
    this.gn2 = new GroupNorm(cout, `${name}.gn2`, vars);
    this.conv2 = new Conv(cout, cout, rng, `${name}.conv2`, vars, 3, 1, true);
    this.skip = cin === cout ? null : new Conv(cin, cout, rng, `${name}.skip`, vars, 1);
  }
  apply(x: tf.Tensor, e: tf.Tensor2D): tf.Tensor {
    return tf.tidy(() => {
      let h = this.conv1.apply(this.gn1.apply(x, true));
      const eb = this.emb.apply(e);
      h = tf.add(h, tf.reshape(eb, [eb.shape[0]!, 1, 1, eb.shape[1]!]));
      h = this.conv2.apply(this.gn2.apply(h, true));
      return tf.add(this.skip ? this.skip.apply(x) : x, h);
    });
  }
}

class AttentionBlock {
  private readonly gn: GroupNorm;
  private readonly qkv: Dense;
  private readonly proj: Dense;
  constructor(
    readonly c: number,
    rng: Rng,
    name: string,
    vars: Vars,
  ) {
    this.gn = new GroupNorm(c, `${name}.gn`, vars);
    this.qkv = new Dense(c, 3 * c, rng, `${name}.qkv`, vars);
    this.proj = new Dense(c, c, rng, `${name}.proj`, vars, true);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [n, h, w, c] = x.shape as [number, number, number, number];
      const qkv = tf.reshape(this.qkv.apply(this.gn.apply(x)), [n, h * w, 3 * c]);
      const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
      const att = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(c)));
      const out = tf.reshape(tf.matMul(att, v), [n, h, w, c]);
      return tf.add(x, this.proj.apply(out));
    });
  }
}

export class UNet implements Denoiser {
  readonly variables: Vars = new Map();
  private readonly cond: Conditioning;
  private readonly inConv: Conv;
  private readonly down: { res: ResBlock; down: Conv | null }[] = [];
  private readonly mid1: ResBlock;
  private readonly attn: AttentionBlock | null;
  private readonly mid2: ResBlock;
  private readonly up: { res: ResBlock; up: Conv | null }[] = [];
  private readonly outNorm: GroupNorm;
  private readonly outConv: Conv;

  /** channels[l]: width at resolution level l (H / 2^l); H and W must be divisible by 2^(levels-1). */
  constructor(
    readonly shape: number[],
    readonly channels: number[],
    attention: boolean,
    numClasses: number,
    rng: Rng,
  ) {
    const v = this.variables;
    const cIn = shape[2]!;
    const c0 = channels[0]!;
    const embDim = 4 * c0;
    const L = channels.length;
    this.cond = new Conditioning(c0, embDim, numClasses, rng, v);
    this.inConv = new Conv(cIn, c0, rng, 'unet.in', v);
    let c = c0;
    for (let l = 0; l < L; l++) {
      const cl = channels[l]!;
      const res = new ResBlock(c, cl, embDim, rng, `unet.down.${l}.res`, v);
      c = cl;
      const down = l + 1 < L ? new Conv(c, c, rng, `unet.down.${l}.down`, v, 3, 2) : null;
      this.down.push({ res, down });
    }
    this.mid1 = new ResBlock(c, c, embDim, rng, 'unet.mid.res1', v);
    this.attn = attention ? new AttentionBlock(c, rng, 'unet.mid.attn', v) : null;
    this.mid2 = new ResBlock(c, c, embDim, rng, 'unet.mid.res2', v);
    for (let l = L - 1; l >= 0; l--) {
      const cl = channels[l]!;
      const res = new ResBlock(c + cl, cl, embDim, rng, `unet.up.${l}.res`, v);
      c = cl;
      const up = l > 0 ? new Conv(c, c, rng, `unet.up.${l}.up`, v) : null;
      this.up.push({ res, up });
    }
    this.outNorm = new GroupNorm(c, 'unet.out.gn', v);
    this.outConv = new Conv(c, cIn, rng, 'unet.out.conv', v, 3, 1, true);
  }

  apply(x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D | null): tf.Tensor {
    return tf.tidy(() => {
      const e = this.cond.apply(t, y);
      let h = this.inConv.apply(x);
      const skips: tf.Tensor[] = [];
      for (const d of this.down) {
        h = d.res.apply(h, e);
        skips.push(h);
        if (d.down) h = d.down.apply(h);
      }
      h = this.mid1.apply(h, e);
      if (this.attn) h = this.attn.apply(h);
      h = this.mid2.apply(h, e);
      for (const u of this.up) {
        h = u.res.apply(tf.concat([h, skips.pop()!], 3), e);
        if (u.up) {
          const [, hh, ww] = h.shape as number[];
          h = u.up.apply(tf.image.resizeNearestNeighbor(h as tf.Tensor4D, [2 * hh!, 2 * ww!]));
        }
      }
      return this.outConv.apply(this.outNorm.apply(h, true));
    });
  }
}

// Building blocks that keep a network autoregressive: every weight that would let output i see an input at
// or after position i is multiplied by an exact 0 (a mask), so gradients d out_i / d x_j vanish for j >= i.
//   Masked linear layers (MADE, Germain et al. 2015, sec. 4, eqs. 12-13): unit degrees m(k); a hidden weight
//     k' <- k is kept iff m_l(k') >= m_{l-1}(k); an output weight d <- k iff m_0(d) > m_L(k).
//   Masked convolutions (PixelCNN, van den Oord et al. 2016a, sec. 3.4): a k x k kernel keeps the rows above
//     the centre and the pixels left of it in the centre row; mask 'A' (first layer) drops the centre, mask 'B'
//     (later layers, whose centre features already see only the past) keeps it.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.js';

/** A trainable tensor of `shape` with N(0, 2 / fanIn) entries (He et al. 2015), or N(0, std^2). */
export function randomVar(shape: number[], fanIn: number, rng: Rng, std?: number): tf.Variable {
  const s = std ?? Math.sqrt(2 / Math.max(1, fanIn));
  return tf.variable(tf.tidy(() => tf.randomNormal(shape, 0, s, 'float32', rng.nextSeed())));
}

export function zerosVar(shape: number[]): tf.Variable {
  return tf.variable(tf.zeros(shape));
}

/** Registers variables under `prefix.` names into a shared map, returning them. */
export class Params {
  constructor(readonly map: Map<string, tf.Variable>) {}
  add(name: string, v: tf.Variable): tf.Variable {
    if (this.map.has(name)) throw new Error(`duplicate variable ${name}`);
    this.map.set(name, v);
    return v;
  }
}

/** 0/1 mask [inDim, outDim]: keep[j, k] = strict ? degOut[k] > degIn[j] : degOut[k] >= degIn[j] (MADE eq. 12-13). */
export function degreeMask(degIn: Int32Array, degOut: Int32Array, strict: boolean): Float32Array {
  const m = new Float32Array(degIn.length * degOut.length);
  for (let j = 0; j < degIn.length; j++) {
    for (let k = 0; k < degOut.length; k++) {
      const keep = strict ? degOut[k]! > degIn[j]! : degOut[k]! >= degIn[j]!;
      m[j * degOut.length + k] = keep ? 1 : 0;
    }
  }
  return m;
}

/** Fully connected layer y = x (W * M) + b with a fixed 0/1 mask M (null: unmasked). */
export class MaskedLinear {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(
    params: Params,
    name: string,
    readonly inDim: number,
    readonly outDim: number,
    rng: Rng,
    opts: { bias?: boolean; std?: number } = {},
  ) {
    this.w = params.add(`${name}.w`, randomVar([inDim, outDim], inDim, rng, opts.std));
    this.b = params.add(`${name}.b`, zerosVar([outDim]));
  }
  apply(x: tf.Tensor2D, mask: tf.Tensor2D | null): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(x, mask ? tf.mul(this.w, mask) : this.w), this.b));
  }
}

/**
 * Convolution mask [kh, kw, cin, cout] for a k x k kernel centred on the output pixel: rows above the centre,
 * and the centre row left of the centre; the centre itself only for type 'B'. Channels of one pixel are
 * treated as one group (each output pixel sees whole earlier pixels).
 */
export function convMask(k: number, type: 'A' | 'B', cin: number, cout: number): tf.Tensor4D {
  const c = Math.floor(k / 2);
  const m = new Float32Array(k * k * cin * cout);
  for (let r = 0; r < k; r++) {
    for (let s = 0; s < k; s++) {
      const keep = r < c || (r === c && (s < c || (s === c && type === 'B')));
      if (keep) m.fill(1, (r * k + s) * cin * cout, (r * k + s + 1) * cin * cout);
    }
  }
  return tf.tensor4d(m, [k, k, cin, cout]);
}

/** A stride-1 convolution with its own padding rule and an optional fixed mask on the kernel. */
export class Conv2d {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(
    params: Params,
    name: string,
    readonly kh: number,
    readonly kw: number,
    cin: number,
    readonly cout: number,
    rng: Rng,
    readonly mask: tf.Tensor4D | null = null,
  ) {
    const fanIn = mask ? Math.max(1, tf.tidy(() => tf.sum(mask).dataSync()[0]!) / cout) : kh * kw * cin;
    this.w = params.add(`${name}.w`, randomVar([kh, kw, cin, cout], fanIn, rng));
    this.b = params.add(`${name}.b`, zerosVar([cout]));
  }
  /** pad = [top, bottom, left, right] zero rows/columns added before a 'valid' convolution */
  apply(x: tf.Tensor4D, pad: [number, number, number, number]): tf.Tensor4D {
    return tf.tidy(() => {
      const [t, bo, l, r] = pad;
      const xp =
        t || bo || l || r
          ? tf.pad(x, [
              [0, 0],
              [t, bo],
              [l, r],
              [0, 0],
            ])
          : x;
      const w = this.mask ? tf.mul(this.w, this.mask) : this.w;
      return tf.add(tf.conv2d(xp, w as tf.Tensor4D, 1, 'valid'), this.b);
    });
  }
  /** 'same' padding for an odd square kernel */
  same(x: tf.Tensor4D): tf.Tensor4D {
    const p = Math.floor(this.kh / 2);
    return this.apply(x, [p, p, p, p]);
  }
  /** weights the mask leaves free */
  freeWeights(): number {
    const m = this.mask;
    return m ? tf.tidy(() => tf.sum(m).dataSync()[0]!) : this.w.size;
  }
  dispose(): void {
    this.mask?.dispose();
  }
}

/** 1x1 convolution (a per-pixel linear map) on NHWC features. */
export function conv1x1(x: tf.Tensor4D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, wd, c] = x.shape;
    const y = tf.add(tf.matMul(tf.reshape(x, [n * h * wd, c]), w), b);
    return tf.reshape(y, [n, h, wd, w.shape[1]]);
  });
}

/** A per-pixel linear map with its variables. */
export class Linear1x1 {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(params: Params, name: string, cin: number, cout: number, rng: Rng, std?: number) {
    this.w = params.add(`${name}.w`, randomVar([cin, cout], cin, rng, std));
    this.b = params.add(`${name}.b`, zerosVar([cout]));
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return conv1x1(x, this.w as tf.Tensor2D, this.b as tf.Tensor1D);
  }
}

/** Class-conditional bias (Conditional PixelCNN, van den Oord et al. 2016b, eq. 4): V^T h for one-hot h. */
export class ClassBias {
  readonly w: tf.Variable;
  constructor(params: Params, name: string, numClasses: number, cout: number, rng: Rng) {
    this.w = params.add(`${name}.w`, randomVar([numClasses, cout], 1, rng, 0.1));
  }
  /** [n, C] one-hot -> [n, 1, 1, cout] to broadcast over pixels */
  apply(yOh: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => tf.reshape(tf.matMul(yOh, this.w), [yOh.shape[0], 1, 1, this.w.shape[1]!]));
  }
}

/**
 * Location-dependent conditioning (van den Oord et al. 2016b, eq. 5): a learned spatial map s = m(y) of
 * `channels` features per pixel for each class; each layer adds V * s with its own 1x1 V. s depends on y only,
 * never on x, so it keeps every mask intact, and it lets a class say where its strokes go.
 */
export class ClassMap {
  readonly w: tf.Variable;
  constructor(
    params: Params,
    name: string,
    numClasses: number,
    readonly shape: [number, number],
    readonly channels: number,
    rng: Rng,
  ) {
    this.w = params.add(`${name}.w`, randomVar([numClasses, shape[0] * shape[1] * channels], 1, rng, 0.1));
  }
  /** [n, K] one-hot -> s [n, rows, W, channels] for image rows row0 .. row0 + rows - 1 */
  apply(yOh: tf.Tensor2D, row0 = 0, rows = this.shape[0]): tf.Tensor4D {
    return tf.tidy(() => {
      const [H, W] = this.shape;
      const s = tf.reshape(tf.matMul(yOh, this.w), [yOh.shape[0], H, W, this.channels]) as tf.Tensor4D;
      return row0 === 0 && rows === H ? s : tf.slice(s, [0, row0, 0, 0], [-1, rows, -1, -1]);
    });
  }
}

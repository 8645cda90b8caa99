// Shared pieces of the torch backend's kernel table: the kernel type, dtype and layout helpers, and the
// builders of elementwise, reduction and matmul kernels over the ATen handles of aten.ts.
import { upcastType, util } from '@tensorflow/tfjs-core';
import type { DataType, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { TorchBackend, scalarType } from './backend.js';
import type { Arg, NTensor } from './native.js';
import { op } from './aten.js';

/** A kernel's answer that hands the call to the cpu fallback (fallback.ts). */
export const CPU = Symbol('cpu-fallback');
export type Inputs = Record<string, TensorInfo>;
export type Attrs = NamedAttrMap & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Kernel = (b: TorchBackend, x: Inputs, a: Attrs) => TensorInfo | TensorInfo[] | typeof CPU;
export type T = NTensor;
type AtenOp = (...args: Arg[]) => T;

export const isInt = (d: DataType) => d === 'int32' || d === 'bool';
export const cast = (t: T, d: DataType) => op.toCopy(t, scalarType(d));
export const nchw = (t: T) => op.permute(t, [0, 3, 1, 2]);
export const nhwc = (t: T) => op.permute(t, [0, 2, 3, 1]);
/**
 * NHWC -> NCHW view for a convolution: channels_last, copied to be so when the NHWC tensor is a strided view
 * (a channel slice or split, as in a coupling layer), where oneDNN would otherwise take a slower path
 * (1x1 weight gradient of a 64-channel half of a 128-channel tensor: ~1.1-1.7 ms vs 0.65-0.8 ms dense).
 * A tensor that already is channels_last is returned as it is (no copy).
 */
const MEMORY_FORMAT_CHANNELS_LAST = 2; // c10::MemoryFormat::ChannelsLast
export const nchwDense = (t: T) => op.contiguous(nchw(t), MEMORY_FORMAT_CHANNELS_LAST);
export const axes = (axis: number | number[], shape: number[]) => util.parseAxisParam(axis, shape);

/**
 * Codes of the addon's unboxed fast path (native/torch_addon.cc `fast`): float32 calls of these operators skip
 * the generic entry point's argument stack and boxed dispatch.
 */
export const FAST = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  neg: 10,
  exp: 11,
  sigmoid: 12,
  log: 13,
  sqrt: 14,
  tanh: 15,
  relu: 16,
  square: 17,
  silu: 18,
} as const;

/** Elementwise unary op; `float` casts int/bool inputs to float32 first (tfjs semantics of exp, log, ...). */
/** A kernel whose float32 case is one call of the addon's unboxed path: the registration calls it directly. */
export type DirectKernel = Kernel & { direct?: { code: number; arity: 1 | 2 } };
const direct = (k: Kernel, code: number | undefined, arity: 1 | 2): DirectKernel =>
  code === undefined ? k : Object.assign(k, { direct: { code, arity } });

export function unary(f: AtenOp, opts: { float?: boolean; fast?: number } = {}): Kernel {
  const fast = opts.fast;
  return direct(
    (b, { x }) => {
      if (fast !== undefined && x.dtype === 'float32') return b.out(b.fast(fast, b.t(x)), 'float32');
      let t = b.t(x);
      if (opts.float && x.dtype !== 'float32') t = cast(t, 'float32');
      return b.out(f(t));
    },
    fast,
    1,
  );
}
/** Elementwise unary op with extra scalar arguments taken from attrs. */
export function unaryA(f: AtenOp, args: (a: Attrs) => Arg[]): Kernel {
  return (b, { x }, a) => b.out(f(b.t(x), ...args(a)), x.dtype);
}
/**
 * Broadcasting binary op; result dtype 'up' = tfjs upcastType(a, b), or a fixed dtype. `fast`: the addon's
 * unboxed code for two float32 inputs.
 */
export function binary(f: AtenOp, result: 'up' | DataType = 'up', fast?: number): Kernel {
  return direct(
    (b, { a, b: y }) => {
      if (fast !== undefined && a.dtype === 'float32' && y.dtype === 'float32')
        return b.out(b.fast(fast, b.t(a), b.t(y)), 'float32');
      const d = result === 'up' ? upcastType(a.dtype, y.dtype) : result;
      let ta = b.t(a);
      let tb = b.t(y);
      if (result === 'up' && a.dtype !== y.dtype) {
        if (a.dtype !== d) ta = cast(ta, d);
        if (y.dtype !== d) tb = cast(tb, d);
      }
      return b.out(f(ta, tb), d);
    },
    fast,
    2,
  );
}
/** Reduction over tfjs `axis` attr (empty axis list = identity, like tfjs). */
export function reduce(
  f: (t: T, dims: number[], keep: boolean, x: TensorInfo) => T,
  axisAttr = 'axis',
): Kernel {
  return (b, { x }, a) => {
    const dims = axes(a[axisAttr], x.shape);
    if (dims.length === 0) return b.out(op.toCopy(b.t(x)), x.dtype);
    return b.out(f(b.t(x), dims, a.keepDims as boolean, x));
  };
}
/** Apply one reduction dim at a time (for ATen ops that take a single dim). */
export function perDim(f: AtenOp, int = false): (t: T, dims: number[], keep: boolean, x: TensorInfo) => T {
  return (t, dims, keep, x) => {
    for (const d of [...dims].sort((p, q) => q - p))
      t = int && isInt(x.dtype) ? f(t, d, keep, 3) : f(t, d, keep);
    return t;
  };
}

/** The fused activation of _FusedMatMul / FusedConv2D / FusedDepthwiseConv2D. */
export function activation(t: T, act: string | undefined, a: Attrs, b: TorchBackend, prelu?: TensorInfo): T {
  switch (act ?? 'linear') {
    case 'linear':
      return t;
    case 'relu':
      return op.relu(t);
    case 'relu6':
      return op.clamp(t, 0, 6);
    case 'elu':
      return op.elu(t);
    case 'sigmoid':
      return op.sigmoid(t);
    case 'leakyrelu':
      return op.leakyRelu(t, a.leakyreluAlpha ?? 0.2);
    case 'prelu':
      return op.where(op.ltS(t, 0), op.mul(t, b.t(prelu as TensorInfo)), t);
    default:
      throw new Error(`torch backend: unknown fused activation '${act}'`);
  }
}

/** NaNs of a float tensor replaced by `fill` (tfjs arg-reductions skip NaNs; ATen's take them as extreme). */
export function noNaN(b: TorchBackend, x: TensorInfo, fill: number): T {
  const t = b.t(x);
  return x.dtype === 'float32' ? op.maskedFill(t, op.isnan(t), fill) : t;
}
/** The input itself as the output (one more reference to its data). */
export function same(b: TorchBackend, x: TensorInfo): TensorInfo {
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
/**
 * tfjs always sends rank-3 operands; with batch 1 on both sides a plain 2-D mm (BLAS) is used. `input` gives
 * an operand's native tensor (the precision policy's bf16 copy, kernels-conv.ts).
 */
export function matmul(
  b: TorchBackend,
  a: TensorInfo,
  y: TensorInfo,
  at: Attrs,
  input: (i: TensorInfo) => T = (i) => b.t(i),
): T {
  const single = a.shape.length === 3 && y.shape.length === 3 && a.shape[0] === 1 && y.shape[0] === 1;
  let ta = single ? op.select(input(a), 0, 0) : input(a);
  let tb = single ? op.select(input(y), 0, 0) : input(y);
  if (at.transposeA) ta = op.transpose(ta, -1, -2);
  if (at.transposeB) tb = op.transpose(tb, -1, -2);
  return single ? op.unsqueeze(op.mm(ta, tb), 0) : op.matmul(ta, tb);
}
/** Cumulative sum (fill 0) / product (fill 1) with tfjs's exclusive and reverse flags. */
export function cumulative(b: TorchBackend, x: TensorInfo, a: Attrs, fill: number): TensorInfo {
  const axis = axes(a.axis, x.shape)[0];
  let t = b.t(x);
  if (a.reverse) t = op.flip(t, [axis]);
  if (a.exclusive) {
    const n = x.shape[axis];
    const pads = new Array(2 * (x.shape.length - axis)).fill(0);
    pads[pads.length - 2] = 1; // one element before the axis
    t = op.slice(op.padC(t, pads, fill), axis, 0, n, 1);
  }
  const dt = isInt(x.dtype) ? 3 : null;
  t = fill === 0 ? op.cumsum(t, axis, dt) : op.cumprod(t, axis, dt);
  if (a.reverse) t = op.flip(t, [axis]);
  return b.out(t, isInt(x.dtype) ? 'int32' : x.dtype);
}

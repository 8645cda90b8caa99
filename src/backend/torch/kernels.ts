// The kernel table of the 'torch' backend: each tfjs kernel name -> ATen calls.
//
// Conventions. tfjs is NHWC/HWIO, ATen NCHW/OIHW: convolutions permute views (an NHWC tensor seen as
// NCHW is a channels_last tensor, which oneDNN consumes without a copy; the NCHW result of a
// channels_last convolution permuted back is again a contiguous NHWC tensor). Outputs get the tfjs
// dtype (b.out casts when ATen picked another, e.g. int64 from argmax). A kernel may return CPU to
// hand an unusual attribute combination to the cpu fallback (fallback.ts).
import { backend_util, slice_util, upcastType, util } from '@tensorflow/tfjs-core';
import type { DataType, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { TorchBackend, scalarType } from './backend.js';
import type { Arg, NTensor } from './native.js';
import { FUSED } from '../../ops/fused.js';

export const CPU = Symbol('cpu-fallback');
type Inputs = Record<string, TensorInfo>;
type Attrs = NamedAttrMap & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Kernel = (b: TorchBackend, x: Inputs, a: Attrs) => TensorInfo | TensorInfo[] | typeof CPU;
type T = NTensor;

// ------------------------------------------------------------------ ATen operators (handles resolved lazily)
let backendForOps: TorchBackend;
function aten(name: string, overload = ''): (...args: Arg[]) => T {
  let h = -1;
  return (...args: Arg[]) => {
    if (h < 0) h = backendForOps.N.op('aten::' + name, overload);
    return backendForOps.call(h, args) as T;
  };
}
function atenList(name: string, overload = ''): (...args: Arg[]) => T[] {
  const f = aten(name, overload);
  return f as unknown as (...args: Arg[]) => T[];
}
export function bindOps(b: TorchBackend): void {
  backendForOps = b;
}

const op = {
  add: aten('add', 'Tensor'),
  sub: aten('sub', 'Tensor'),
  mul: aten('mul', 'Tensor'),
  mulS: aten('mul', 'Scalar'),
  addS: aten('add', 'Scalar'),
  div: aten('div', 'Tensor'),
  divMode: aten('div', 'Tensor_mode'),
  pow: aten('pow', 'Tensor_Tensor'),
  square: aten('square'),
  where: aten('where', 'self'),
  whereS: aten('where', 'Scalar'),
  gtS: aten('gt', 'Scalar'),
  ltS: aten('lt', 'Scalar'),
  ceil_: aten('ceil_'),
  threshold_: aten('threshold_'),
  eq: aten('eq', 'Tensor'),
  isnan: aten('isnan'),
  toCopy: aten('_to_copy'),
  reshape: aten('reshape'),
  permute: aten('permute'),
  transpose: aten('transpose', 'int'),
  slice: aten('slice', 'Tensor'),
  flip: aten('flip'),
  padC: aten('constant_pad_nd'),
  cat: aten('cat'),
  matmul: aten('matmul'),
  mm: aten('mm'),
  select: aten('select', 'int'),
  thresholdBackward: aten('threshold_backward'),
  conv: aten('convolution'),
  convBack: atenList('convolution_backward'),
  emptyMF: aten('empty', 'memory_format'),
  full: aten('full'),
  arange: aten('arange', 'start_step'),
  clamp: aten('clamp'),
  leakyRelu: aten('leaky_relu'),
  elu: aten('elu'),
  relu: aten('relu'),
  sigmoid: aten('sigmoid'),
  tanh: aten('tanh'),
  sum: aten('sum', 'dim_IntList'),
  cumsum: aten('cumsum'),
  cumprod: aten('cumprod'),
  rsqrt: aten('rsqrt'),
  unsqueeze: aten('unsqueeze'),
  contiguous: aten('contiguous'),
  softplus: aten('softplus'),
  sub_: aten('sub_', 'Tensor'),
  mul_: aten('mul_', 'Tensor'),
  neg_: aten('neg_'),
};

// ------------------------------------------------------------------ small helpers
const isInt = (d: DataType) => d === 'int32' || d === 'bool';
const cast = (t: T, d: DataType) => op.toCopy(t, scalarType(d));
const nchw = (t: T) => op.permute(t, [0, 3, 1, 2]);
const nhwc = (t: T) => op.permute(t, [0, 2, 3, 1]);
/**
 * NHWC -> NCHW view for a convolution: channels_last, copied to be so when the NHWC tensor is a strided view
 * (a channel slice or split, as in a coupling layer), where oneDNN would otherwise take a slower path
 * (1x1 weight gradient of a 64-channel half of a 128-channel tensor: ~1.1-1.7 ms vs 0.65-0.8 ms dense).
 * A tensor that already is channels_last is returned as it is (no copy).
 */
const MEMORY_FORMAT_CHANNELS_LAST = 2; // c10::MemoryFormat::ChannelsLast
const nchwDense = (t: T) => op.contiguous(nchw(t), MEMORY_FORMAT_CHANNELS_LAST);
const axes = (axis: number | number[], shape: number[]) => util.parseAxisParam(axis, shape);

/** Elementwise unary op; `float` casts int/bool inputs to float32 first (tfjs semantics of exp, log, ...). */
function unary(name: string, opts: { float?: boolean; overload?: string } = {}): Kernel {
  const f = aten(name, opts.overload ?? '');
  return (b, { x }) => {
    let t = b.t(x);
    if (opts.float && x.dtype !== 'float32') t = cast(t, 'float32');
    return b.out(f(t));
  };
}
/** Elementwise unary op with extra scalar arguments taken from attrs. */
function unaryA(name: string, overload: string, args: (a: Attrs) => Arg[]): Kernel {
  const f = aten(name, overload);
  return (b, { x }, a) => b.out(f(b.t(x), ...args(a)), x.dtype);
}
/** Broadcasting binary op; result dtype 'up' = tfjs upcastType(a, b), or a fixed dtype. */
function binary(name: string, overload: string, result: 'up' | DataType = 'up'): Kernel {
  const f = aten(name, overload);
  return (b, { a, b: y }) => {
    const d = result === 'up' ? upcastType(a.dtype, y.dtype) : result;
    let ta = b.t(a);
    let tb = b.t(y);
    if (result === 'up' && a.dtype !== y.dtype) {
      if (a.dtype !== d) ta = cast(ta, d);
      if (y.dtype !== d) tb = cast(tb, d);
    }
    return b.out(f(ta, tb), d);
  };
}
/** Reduction over tfjs `axis` attr (empty axis list = identity, like tfjs). */
function reduce(f: (t: T, dims: number[], keep: boolean, x: TensorInfo) => T, axisAttr = 'axis'): Kernel {
  return (b, { x }, a) => {
    const dims = axes(a[axisAttr], x.shape);
    if (dims.length === 0) return b.out(op.toCopy(b.t(x)), x.dtype);
    return b.out(f(b.t(x), dims, a.keepDims as boolean, x));
  };
}
/** Apply one reduction dim at a time (for ATen ops that take a single dim). */
function perDim(
  name: string,
  overload: string,
  int = false,
): (t: T, dims: number[], keep: boolean, x: TensorInfo) => T {
  const f = aten(name, overload);
  return (t, dims, keep, x) => {
    for (const d of [...dims].sort((p, q) => q - p))
      t = int && isInt(x.dtype) ? f(t, d, keep, 3) : f(t, d, keep);
    return t;
  };
}

function activation(t: T, act: string | undefined, a: Attrs, b: TorchBackend, prelu?: TensorInfo): T {
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

// --------------------------------------------------------------- convolution & pooling
type ConvInfo = backend_util.Conv2DInfo;
const symmetric = (c: ConvInfo) => c.padInfo.top === c.padInfo.bottom && c.padInfo.left === c.padInfo.right;
/** NCHW input padded for `c`: returns [input, padding argument for ATen]. */
function padNCHW(t: T, c: ConvInfo, value: number, maxHalf = false): [T, number[], boolean] {
  const p = c.padInfo;
  const ok = symmetric(c) && (!maxHalf || (2 * p.top <= c.filterHeight && 2 * p.left <= c.filterWidth));
  if (ok) return [t, [p.top, p.left], false];
  return [op.padC(t, [p.left, p.right, p.top, p.bottom], value), [0, 0], true];
}
function unpadNCHW(t: T, c: ConvInfo, padded: boolean): T {
  if (!padded) return t;
  const p = c.padInfo;
  t = op.slice(t, 2, p.top, p.top + c.inHeight, 1);
  return op.slice(t, 3, p.left, p.left + c.inWidth, 1);
}
const convInfo = (x: number[], f: number[], a: Attrs, depthwise = false) =>
  backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    f as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    depthwise,
    backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC'),
  );
/** tfjs filter [fh, fw, in/groups, out] (depthwise: [fh, fw, C, M]) -> ATen OIHW view. */
function oihw(w: T, c: ConvInfo, depthwise: boolean): T {
  if (depthwise) w = op.reshape(w, [c.filterHeight, c.filterWidth, 1, c.outChannels]);
  return op.permute(w, [3, 2, 0, 1]);
}
function conv2d(b: TorchBackend, x: TensorInfo, filter: TensorInfo, a: Attrs, depthwise: boolean): T {
  const c = convInfo(x.shape, filter.shape, a, depthwise);
  const last = c.dataFormat === 'channelsLast';
  const [xi, pad] = padNCHW(last ? nchwDense(b.t(x)) : b.t(x), c, 0);
  const w = oihw(b.t(filter), c, depthwise);
  const groups = depthwise ? c.inChannels : 1;
  const y = op.conv(
    xi,
    w,
    null,
    [c.strideHeight, c.strideWidth],
    pad,
    [c.dilationHeight, c.dilationWidth],
    false,
    [0, 0],
    groups,
  );
  return last ? nhwc(y) : y;
}
function convBackpropInput(
  b: TorchBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  a: Attrs,
  depthwise: boolean,
): TensorInfo {
  const c = convInfo(a.inputShape, filter.shape, a, depthwise);
  const last = c.dataFormat === 'channelsLast';
  const p = c.padInfo;
  const sym = symmetric(c);
  const h = sym ? c.inHeight : c.inHeight + p.top + p.bottom;
  const w = sym ? c.inWidth : c.inWidth + p.left + p.right;
  const input = op.emptyMF([c.batchSize, c.inChannels, h, w], 6, null, null, null, last ? 2 : 0);
  const [gx] = op.convBack(
    last ? nchwDense(b.t(dy)) : b.t(dy),
    input,
    oihw(b.t(filter), c, depthwise),
    null,
    [c.strideHeight, c.strideWidth],
    sym ? [p.top, p.left] : [0, 0],
    [c.dilationHeight, c.dilationWidth],
    false,
    [0, 0],
    depthwise ? c.inChannels : 1,
    [true, false, false],
  );
  const g = unpadNCHW(gx, c, !sym);
  return b.out(last ? nhwc(g) : g, 'float32');
}
function convBackpropFilter(
  b: TorchBackend,
  x: TensorInfo,
  dy: TensorInfo,
  a: Attrs,
  depthwise: boolean,
): TensorInfo {
  const fs = a.filterShape as number[];
  const c = convInfo(x.shape, fs, a, depthwise);
  const last = c.dataFormat === 'channelsLast';
  const [xi, pad] = padNCHW(last ? nchwDense(b.t(x)) : b.t(x), c, 0);
  const inPerGroup = depthwise ? 1 : c.inChannels;
  const weight = op.emptyMF([c.outChannels, inPerGroup, c.filterHeight, c.filterWidth], 6);
  const [, gw] = op.convBack(
    last ? nchwDense(b.t(dy)) : b.t(dy),
    xi,
    weight,
    null,
    [c.strideHeight, c.strideWidth],
    pad,
    [c.dilationHeight, c.dilationWidth],
    false,
    [0, 0],
    depthwise ? c.inChannels : 1,
    [false, true, false],
  );
  const hwio = op.permute(gw, [2, 3, 1, 0]);
  return b.out(depthwise ? op.reshape(hwio, fs) : hwio, 'float32');
}

/** Pools with a dimRoundingMode can produce windows ATen cannot express: those use the cpu fallback. */
const poolInfo = (x: number[], a: Attrs) =>
  backend_util.computePool2DInfo(
    x as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
const maxPool = aten('max_pool2d');
const maxPoolIdx = atenList('max_pool2d_with_indices');
const maxPoolBack = aten('max_pool2d_with_indices_backward');
const avgPool = aten('avg_pool2d');
const avgPoolBack = aten('avg_pool2d_backward');
/** avg pooling maps to ATen only when its padding is symmetric and at most half the window. */
/** A window may lie entirely in the padding (tfjs and ATen disagree there). */
const paddingOnlyWindows = (c: ConvInfo) => {
  const p = c.padInfo;
  return Math.max(p.top, p.bottom) >= c.filterHeight || Math.max(p.left, p.right) >= c.filterWidth;
};
const avgNative = (c: ConvInfo) =>
  symmetric(c) && 2 * c.padInfo.top <= c.filterHeight && 2 * c.padInfo.left <= c.filterWidth;

// ------------------------------------------------------------------ the table
const softmax = aten('_softmax');
const logSoftmax = aten('_log_softmax');
const stack = aten('stack');
const unbind = atenList('unbind', 'int');
const splitSizes = atenList('split_with_sizes');
const repeat = aten('repeat');
const indexSelect = aten('index_select');
const index = aten('index', 'Tensor');
const indexPut = aten('index_put');
const zeros = aten('zeros');
const expand = aten('expand');
const argmax = aten('argmax');
const argmin = aten('argmin');
const nonzero = aten('nonzero');
const einsum = aten('einsum');
const amax = aten('amax');
const maskedFill = aten('masked_fill', 'Scalar');
const amin = aten('amin');
const mean = aten('mean', 'dim');
const zerosLike = aten('zeros_like');
const onesLike = aten('ones_like');
const addS = aten('add', 'Scalar');
const maxR = reduce((t, d, k) => amax(t, d, k), 'reductionIndices');
const minR = reduce((t, d, k) => amin(t, d, k));

export const kernels: Record<string, Kernel> = {
  // ---- elementwise unary
  Abs: unary('abs'),
  Acos: unary('acos', { float: true }),
  Acosh: unary('acosh', { float: true }),
  Asin: unary('asin', { float: true }),
  Asinh: unary('asinh', { float: true }),
  Atan: unary('atan', { float: true }),
  Atanh: unary('atanh', { float: true }),
  Ceil: unary('ceil'),
  Cos: unary('cos', { float: true }),
  Cosh: unary('cosh', { float: true }),
  Elu: unary('elu', { float: true }),
  Erf: unary('erf', { float: true }),
  Exp: unary('exp', { float: true }),
  Expm1: unary('expm1', { float: true }),
  Floor: unary('floor'),
  IsFinite: unary('isfinite'),
  IsInf: unary('isinf'),
  IsNan: unary('isnan'),
  Log: unary('log', { float: true }),
  Log1p: unary('log1p', { float: true }),
  LogicalNot: unary('logical_not'),
  Neg: unary('neg'),
  Reciprocal: unary('reciprocal', { float: true }),
  Relu: unary('relu'),
  Round: unary('round'),
  Rsqrt: unary('rsqrt', { float: true }),
  Selu: unary('selu', { float: true }),
  Sigmoid: unary('sigmoid', { float: true }),
  Sign: unary('sign'),
  Sin: unary('sin', { float: true }),
  Sinh: unary('sinh', { float: true }),
  Softplus: unary('softplus', { float: true }),
  Sqrt: unary('sqrt', { float: true }),
  Square: unary('square'),
  Tan: unary('tan', { float: true }),
  Tanh: unary('tanh', { float: true }),
  Relu6: unaryA('clamp', '', () => [0, 6]),
  LeakyRelu: (b, { x }, a) => b.out(op.leakyRelu(b.t(x), a.alpha), 'float32'),
  ClipByValue: unaryA('clamp', '', (a) => [a.clipValueMin, a.clipValueMax]),
  // Step(x) = x > 0 ? 1 : alpha, NaN stays NaN.
  Step: (b, { x }, a) => {
    const t = b.t(x);
    if (x.dtype === 'float32') {
      // ceil(clamp(x, 0, 1)) is 1 for x > 0, 0 (or -0) for x <= 0, NaN for NaN; threshold_ maps values
      // <= 0 to alpha. Three vectorized passes (comparisons, masked_fill and isnan are not vectorized
      // in ATen 1.13: ~10x slower each).
      const s = op.clamp(t, 0, 1);
      op.ceil_(s);
      op.threshold_(s, 0, a.alpha ?? 0);
      return b.out(s, 'float32');
    }
    let s = cast(op.gtS(t, 0), 'float32');
    if (a.alpha) s = op.addS(op.mulS(s, 1 - a.alpha), a.alpha);
    return b.out(s, x.dtype);
  },
  // dy * (x > 0) in one pass (PyTorch's relu backward); used by the Relu gradient on this backend.
  TorchReluGrad: (b, { dy, x }) => b.out(op.thresholdBackward(b.t(dy), b.t(x), 0), 'float32'),
  Cast: (b, { x }, a) => {
    if (a.dtype === x.dtype) return same(b, x);
    return a.dtype === 'string' || a.dtype === 'complex64' ? CPU : b.out(cast(b.t(x), a.dtype), a.dtype);
  },
  Identity: (b, { x }) => same(b, x),

  // ---- elementwise binary (numpy broadcasting in ATen = tfjs)
  Add: binary('add', 'Tensor'),
  Sub: (b, i) => (i.a.dtype === 'bool' && i.b.dtype === 'bool' ? CPU : binary('sub', 'Tensor')(b, i, {})),
  Multiply: binary('mul', 'Tensor'),
  RealDiv: (b, { a, b: y }) => {
    const f = op.div(b.t(a), b.t(y));
    return b.out(f, upcastType(a.dtype, y.dtype) === 'float32' ? 'float32' : 'int32');
  },
  FloorDiv: (b, { a, b: y }) => b.out(op.divMode(b.t(a), b.t(y), 'floor'), upcastType(a.dtype, y.dtype)),
  Mod: binary('remainder', 'Tensor'),
  Maximum: binary('maximum', ''),
  Minimum: binary('minimum', ''),
  Pow: binary('pow', 'Tensor_Tensor'),
  Atan2: binary('atan2', '', 'float32'),
  SquaredDifference: (b, { a, b: y }) =>
    b.out(op.square(op.sub(b.t(a), b.t(y))), upcastType(a.dtype, y.dtype)),
  Equal: binary('eq', 'Tensor', 'bool'),
  NotEqual: binary('ne', 'Tensor', 'bool'),
  Greater: binary('gt', 'Tensor', 'bool'),
  GreaterEqual: binary('ge', 'Tensor', 'bool'),
  Less: binary('lt', 'Tensor', 'bool'),
  LessEqual: binary('le', 'Tensor', 'bool'),
  LogicalAnd: binary('logical_and', '', 'bool'),
  LogicalOr: binary('logical_or', '', 'bool'),
  LogicalXor: binary('logical_xor', '', 'bool'),
  Prelu: (b, { x, alpha }) => {
    const t = b.t(x);
    return b.out(op.where(op.ltS(t, 0), op.mul(t, b.t(alpha)), t), 'float32');
  },
  Select: (b, { condition, t, e }) => {
    let c = b.t(condition);
    if (condition.shape.length === 1 && t.shape.length > 1)
      c = op.reshape(c, [condition.shape[0], ...t.shape.slice(1).map(() => 1)]);
    return b.out(op.where(c, b.t(t), b.t(e)), upcastType(t.dtype, e.dtype));
  },

  // ---- reductions
  Sum: reduce((t, d, k, x) => (isInt(x.dtype) ? op.sum(t, d, k, 3) : op.sum(t, d, k))),
  Mean: reduce((t, d, k, x) => mean(isInt(x.dtype) ? cast(t, 'float32') : t, d, k)),
  Max: maxR,
  Min: minR,
  Prod: reduce(perDim('prod', 'dim_int', true)),
  All: reduce(perDim('all', 'dim')),
  Any: reduce(perDim('any', 'dim')),
  // tfjs arg-reductions skip NaNs; ATen's treat NaN as the extreme.
  ArgMax: (b, { x }, a) => b.out(argmax(noNaN(b, x, -Infinity), axes(a.axis, x.shape)[0], false), 'int32'),
  ArgMin: (b, { x }, a) => b.out(argmin(noNaN(b, x, Infinity), axes(a.axis, x.shape)[0], false), 'int32'),
  Softmax: (b, { logits }, a) =>
    b.out(softmax(b.t(logits), a.dim === -1 ? logits.shape.length - 1 : a.dim, false)),
  LogSoftmax: (b, { logits }, a) => b.out(logSoftmax(b.t(logits), a.axis ?? -1, false)),
  Cumsum: (b, { x }, a) => cumulative(b, x, a, 0),
  Cumprod: (b, { x }, a) => cumulative(b, x, a, 1),

  // ---- linear algebra & convolution
  BatchMatMul: (b, { a, b: y }, at) =>
    a.shape.length < 2 || y.shape.length < 2 ? CPU : b.out(matmul(b, a, y, at), upcastType(a.dtype, y.dtype)),
  _FusedMatMul: (b, { a, b: y, bias, preluActivationWeights }, at) => {
    let t = matmul(b, a, y, at);
    if (bias) t = op.add(t, b.t(bias));
    return b.out(activation(t, at.activation, at, b, preluActivationWeights), 'float32');
  },
  Einsum: (b, inputs, a) => {
    const list = Object.values(inputs);
    const { allDims, idDims } = backend_util.decodeEinsumEquation(a.equation, list.length); // tfjs's checks
    backend_util.checkEinsumDimSizes(allDims.length, idDims, list as never);
    return b.out(
      einsum(
        a.equation,
        list.map((i) => b.t(i)),
      ),
    );
  },
  Conv2D: (b, { x, filter }, a) => b.out(conv2d(b, x, filter, a, false), 'float32'),
  FusedConv2D: (b, { x, filter, bias, preluActivationWeights }, a) => {
    if (a.dataFormat === 'NCHW' && (bias || preluActivationWeights)) return CPU; // 1-D bias broadcasts on C
    let t = conv2d(b, x, filter, a, false);
    if (bias) t = op.add(t, b.t(bias));
    return b.out(activation(t, a.activation, a, b, preluActivationWeights), 'float32');
  },
  DepthwiseConv2dNative: (b, { x, filter }, a) => b.out(conv2d(b, x, filter, a, true), 'float32'),
  FusedDepthwiseConv2D: (b, { x, filter, bias, preluActivationWeights }, a) => {
    let t = conv2d(b, x, filter, a, true);
    if (bias) t = op.add(t, b.t(bias));
    return b.out(activation(t, a.activation, a, b, preluActivationWeights), 'float32');
  },
  Conv2DBackpropInput: (b, { dy, filter }, a) => convBackpropInput(b, dy, filter, a, false),
  Conv2DBackpropFilter: (b, { x, dy }, a) => convBackpropFilter(b, x, dy, a, false),
  DepthwiseConv2dNativeBackpropInput: (b, { dy, filter }, a) => convBackpropInput(b, dy, filter, a, true),
  DepthwiseConv2dNativeBackpropFilter: (b, { x, dy }, a) => convBackpropFilter(b, x, dy, a, true),
  MaxPool: (b, { x }, a) => {
    if (a.dimRoundingMode != null) return CPU;
    const c = poolInfo(x.shape, a);
    if (paddingOnlyWindows(c)) return CPU;
    const [xi, pad] = padNCHW(nchw(b.t(x)), c, -Infinity, true);
    return b.out(
      nhwc(maxPool(xi, [c.filterHeight, c.filterWidth], [c.strideHeight, c.strideWidth], pad)),
      x.dtype,
    );
  },
  MaxPoolGrad: (b, { dy, input }, a) => {
    if (a.dimRoundingMode != null) return CPU;
    const c = poolInfo(input.shape, a);
    if (paddingOnlyWindows(c)) return CPU;
    const [xi, pad, padded] = padNCHW(nchw(b.t(input)), c, -Infinity, true);
    const k = [c.filterHeight, c.filterWidth];
    const s = [c.strideHeight, c.strideWidth];
    const [, idx] = maxPoolIdx(xi, k, s, pad);
    const g = maxPoolBack(nchw(b.t(dy)), xi, k, s, pad, [1, 1], false, idx);
    return b.out(nhwc(unpadNCHW(g, c, padded)), 'float32');
  },
  AvgPool: (b, { x }, a) => {
    if (a.dimRoundingMode != null) return CPU;
    const c = poolInfo(x.shape, a);
    if (!avgNative(c)) return CPU;
    const y = avgPool(
      nchw(b.t(x)),
      [c.filterHeight, c.filterWidth],
      [c.strideHeight, c.strideWidth],
      [c.padInfo.top, c.padInfo.left],
      false,
      false,
    );
    return b.out(nhwc(y), 'float32');
  },
  AvgPoolGrad: (b, { dy, input }, a) => {
    if (a.dimRoundingMode != null) return CPU;
    const c = poolInfo(input.shape, a);
    if (!avgNative(c)) return CPU;
    const k = [c.filterHeight, c.filterWidth];
    const g = avgPoolBack(
      nchw(b.t(dy)),
      nchw(b.t(input)),
      k,
      [c.strideHeight, c.strideWidth],
      [c.padInfo.top, c.padInfo.left],
      false,
      false,
      null,
    );
    return b.out(nhwc(g), 'float32');
  },
  FusedBatchNorm: (b, { x, mean, variance, offset, scale }, a) => {
    let t = op.mul(op.sub(b.t(x), b.t(mean)), op.rsqrt(addS(b.t(variance), a.varianceEpsilon)));
    if (scale) t = op.mul(t, b.t(scale));
    if (offset) t = op.add(t, b.t(offset));
    return b.out(t, 'float32');
  },

  // ---- shapes, gathering, creation
  Reshape: (b, { x }, a) =>
    b.out(op.reshape(b.t(x), util.inferFromImplicitShape(a.shape, util.sizeFromShape(x.shape))), x.dtype),
  Transpose: (b, { x }, a) => b.out(op.permute(b.t(x), a.perm), x.dtype),
  Concat: (b, inputs, a) => {
    const all = Object.values(inputs);
    const list = all.filter((i) => util.sizeFromShape(i.shape) > 0);
    if (list.length !== all.length) return CPU; // empty inputs: tfjs's shape checks and result
    const d = all.map((i) => i.dtype).reduce((p, q) => upcastType(p, q));
    const axis = axes(a.axis, all[0].shape)[0];
    return b.out(
      op.cat(
        list.map((i) => (i.dtype === d ? b.t(i) : cast(b.t(i), d))),
        axis,
      ),
      d,
    );
  },
  Slice: (b, { x }, a) => {
    const [begin, size] = slice_util.parseSliceParams(x as never, a.begin, a.size);
    if (begin.some((v, d) => v < 0 || v + size[d] > x.shape[d])) return CPU; // tfjs's bounds error
    let t = b.t(x);
    for (let d = 0; d < begin.length; d++)
      if (begin[d] !== 0 || size[d] !== x.shape[d]) t = op.slice(t, d, begin[d], begin[d] + size[d], 1);
    return b.out(t === b.t(x) ? op.toCopy(t) : t, x.dtype);
  },
  StridedSlice: (b, { x }, a) => {
    const s = slice_util.sliceInfo(
      x.shape,
      a.begin,
      a.end,
      a.strides,
      a.beginMask,
      a.endMask,
      a.ellipsisMask,
      a.newAxisMask,
      a.shrinkAxisMask,
    );
    let t = b.t(x);
    for (let d = 0; d < x.shape.length; d++) {
      const n = s.finalShapeSparse[d];
      const st = s.strides[d];
      if (n === 0) t = op.slice(t, d, 0, 0, 1);
      else if (st > 0) t = op.slice(t, d, s.begin[d], s.begin[d] + (n - 1) * st + 1, st);
      else {
        const start = x.shape[d] - 1 - s.begin[d];
        t = op.slice(op.flip(t, [d]), d, start, start + (n - 1) * -st + 1, -st);
      }
    }
    return b.out(op.reshape(t, s.finalShape), x.dtype);
  },
  Pack: (b, inputs, a) => {
    const list = Object.values(inputs);
    if (list.some((i) => i.dtype !== list[0].dtype)) return CPU; // tfjs's dtype error
    return b.out(
      stack(
        list.map((i) => b.t(i)),
        a.axis < 0 ? a.axis + list[0].shape.length + 1 : a.axis,
      ),
      list[0].dtype,
    );
  },
  Unpack: (b, { value }, a) => unbind(b.t(value), a.axis).map((t) => b.out(t, value.dtype)),
  SplitV: (b, { x }, a) => {
    const axis = axes(a.axis, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x as never, a.numOrSizeSplits, axis);
    return splitSizes(b.t(x), sizes, axis).map((t) => b.out(t, x.dtype));
  },
  Tile: (b, { x }, a) => b.out(repeat(b.t(x), a.reps), x.dtype),
  PadV2: (b, { x }, a) => {
    const pads = (a.paddings as [number, number][]).slice().reverse().flat();
    return b.out(op.padC(b.t(x), pads, a.constantValue), x.dtype);
  },
  Reverse: (b, { x }, a) => b.out(op.flip(b.t(x), axes(a.dims, x.shape)), x.dtype),
  GatherV2: (b, { x, indices }, a) => {
    if (a.batchDims) return CPU;
    const axis = axes(a.axis, x.shape)[0];
    const flat = op.reshape(b.t(indices), [-1]);
    const g = indexSelect(b.t(x), axis, flat);
    const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    return b.out(op.reshape(g, shape), x.dtype);
  },
  GatherNd: (b, { params, indices }) => {
    const k = indices.shape[indices.shape.length - 1];
    const idx = unbind(cast(b.t(indices), 'int32'), indices.shape.length - 1).map((t) => op.toCopy(t, 4));
    const g = index(b.t(params), idx);
    return b.out(op.reshape(g, [...indices.shape.slice(0, -1), ...params.shape.slice(k)]), params.dtype);
  },
  ScatterNd: (b, { indices, updates }, a) => {
    const rank = indices.shape[indices.shape.length - 1];
    const idx = unbind(b.t(indices), indices.shape.length - 1).map((t) => op.toCopy(t, 4));
    const z = zeros(a.shape, scalarType(updates.dtype));
    const u = op.reshape(b.t(updates), [...indices.shape.slice(0, -1), ...a.shape.slice(rank)]);
    return b.out(indexPut(z, idx, u, true), updates.dtype);
  },
  OneHot: (b, { indices }, a) => {
    const hot = op.eq(op.unsqueeze(b.t(indices), -1), op.arange(0, a.depth, 1, 3));
    return b.out(op.whereS(hot, a.onValue, a.offValue), a.dtype);
  },
  Fill: (b, _i, a) =>
    typeof a.value === 'string' ? CPU : b.out(op.full(a.shape, a.value, scalarType(a.dtype)), a.dtype),
  ZerosLike: (b, { x }) =>
    x.dtype === 'complex64' || x.dtype === 'string' ? CPU : b.out(zerosLike(b.t(x)), x.dtype),
  OnesLike: (b, { x }) =>
    x.dtype === 'complex64' || x.dtype === 'string' ? CPU : b.out(onesLike(b.t(x)), x.dtype),
  Range: (b, _i, a) => {
    if (a.start === a.stop || Math.sign(a.stop - a.start) !== Math.sign(a.step)) return CPU;
    return b.out(op.arange(a.start, a.stop, a.step, scalarType(a.dtype)), a.dtype);
  },
  BroadcastTo: (b, { x }, a) => {
    const shape = a.shape as number[];
    const t =
      x.shape.length < shape.length
        ? op.reshape(b.t(x), [...shape.slice(0, shape.length - x.shape.length).map(() => 1), ...x.shape])
        : b.t(x);
    return b.out(op.toCopy(expand(t, shape)), x.dtype);
  },
  Where: (b, { condition }) => b.out(nonzero(b.t(condition)), 'int32'),
  ExpandDims: (b, { input }, a) => {
    const r = input.shape.length;
    if (a.dim < -(r + 1) || a.dim > r) return CPU; // tfjs's range error
    return b.out(op.unsqueeze(b.t(input), a.dim < 0 ? a.dim + r + 1 : a.dim), input.dtype);
  },
  AddN: (b, inputs) => {
    const list = Object.values(inputs);
    let t = b.t(list[0]);
    for (const i of list.slice(1)) t = op.add(t, b.t(i));
    return b.out(list.length === 1 ? op.toCopy(t) : t, list[0].dtype);
  },
  EluGrad: (b, { dy, y }) => b.out(eluBackward(b.t(dy), 1, 1, 1, true, b.t(y)), 'float32'),
  // the gradient of gather: rows of x added into numSegments rows (ATen errors on bad ids -> cpu fallback)
  UnsortedSegmentSum: (b, { x, segmentIds }, a) => {
    const k = segmentIds.shape.length;
    const rest = x.shape.slice(k);
    const rows = op.reshape(b.t(x), [-1, ...rest]);
    const z = zeros([a.numSegments, ...rest], scalarType(x.dtype));
    return b.out(indexAdd(z, 0, op.reshape(b.t(segmentIds), [-1]), rows), x.dtype);
  },
  // nearest / bilinear resizing in the two modes ATen shares with tfjs; tfjs's legacy modes use the cpu
  ResizeNearestNeighbor: (b, { images }, a) => {
    if (a.alignCorners || a.halfPixelCenters) return CPU;
    return b.out(nhwc(upNearest(nchw(b.t(images)), a.size, null, null)), images.dtype);
  },
  ResizeNearestNeighborGrad: (b, { images, dy }, a) => {
    if (a.alignCorners || a.halfPixelCenters) return CPU;
    const [n, h, w, c] = images.shape;
    return b.out(
      nhwc(upNearestBack(nchw(b.t(dy)), dy.shape.slice(1, 3), [n, c, h, w], null, null)),
      'float32',
    );
  },
  ResizeBilinear: (b, { images }, a) => {
    if (!a.alignCorners && !a.halfPixelCenters) return CPU;
    const x = images.dtype === 'float32' ? b.t(images) : cast(b.t(images), 'float32');
    return b.out(nhwc(upBilinear(nchw(x), a.size, a.alignCorners, null, null)), 'float32');
  },
  ResizeBilinearGrad: (b, { images, dy }, a) => {
    if (!a.alignCorners && !a.halfPixelCenters) return CPU;
    const [n, h, w, c] = images.shape;
    return b.out(
      nhwc(upBilinearBack(nchw(b.t(dy)), dy.shape.slice(1, 3), [n, c, h, w], a.alignCorners, null, null)),
      'float32',
    );
  },
};
const eluBackward = aten('elu_backward');
const indexAdd = aten('index_add');
const upNearest = aten('upsample_nearest2d');
const upNearestBack = aten('upsample_nearest2d_backward');
const upBilinear = aten('upsample_bilinear2d');
const upBilinearBack = aten('upsample_bilinear2d_backward');
// Both names exist in tfjs-core; the MatMul op dispatches BatchMatMul.
function noNaN(b: TorchBackend, x: TensorInfo, fill: number): T {
  const t = b.t(x);
  return x.dtype === 'float32' ? maskedFill(t, op.isnan(t), fill) : t;
}
function same(b: TorchBackend, x: TensorInfo): TensorInfo {
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
/** tfjs always sends rank-3 operands; with batch 1 on both sides a plain 2-D mm (BLAS) is used. */
function matmul(b: TorchBackend, a: TensorInfo, y: TensorInfo, at: Attrs): T {
  const single = a.shape.length === 3 && y.shape.length === 3 && a.shape[0] === 1 && y.shape[0] === 1;
  let ta = single ? op.select(b.t(a), 0, 0) : b.t(a);
  let tb = single ? op.select(b.t(y), 0, 0) : b.t(y);
  if (at.transposeA) ta = op.transpose(ta, -1, -2);
  if (at.transposeB) tb = op.transpose(tb, -1, -2);
  return single ? op.unsqueeze(op.mm(ta, tb), 0) : op.matmul(ta, tb);
}
/** Cumulative sum (fill 0) / product (fill 1) with tfjs's exclusive and reverse flags. */
function cumulative(b: TorchBackend, x: TensorInfo, a: Attrs, fill: number): TensorInfo {
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

/**
 * Kernels of the fused operations in src/ops/fused.ts (not tfjs kernels: tfjs falls back to their
 * composite form on backends without them).
 */
export const fusedKernels: Record<string, Kernel> = {
  // softplus(l) - l x: 3 passes (ATen's binary_cross_entropy_with_logits takes 6 here)
  [FUSED.sigmoidCE]: (b, { logits, x }) => {
    const l = b.t(logits);
    return b.out(op.sub_(op.softplus(l, 1, 20), op.mul(l, b.t(x))), 'float32');
  },
  // [dy (sigmoid(l) - x), -dy l]: 3 + 2 passes, the temporaries updated in place
  [FUSED.sigmoidCEGrad]: (b, { dy, logits, x }) => {
    const g = b.t(dy);
    const l = b.t(logits);
    const dl = op.mul_(op.sub_(op.sigmoid(l), b.t(x)), g);
    const dx = op.neg_(op.mul(l, g));
    return [b.out(dl, 'float32'), b.out(dx, 'float32')];
  },
};

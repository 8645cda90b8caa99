// Kernels of the torch backend for linear algebra, convolution, pooling, batch norm and image resizing.
// tfjs is NHWC/HWIO, ATen NCHW/OIHW: convolutions permute views (an NHWC tensor seen as NCHW is a
// channels_last tensor, which oneDNN consumes without a copy; the NCHW result of a channels_last
// convolution permuted back is again a contiguous NHWC tensor).
import {
  _FusedMatMul,
  AvgPool,
  AvgPoolGrad,
  backend_util,
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  Einsum,
  FusedBatchNorm,
  FusedConv2D,
  FusedDepthwiseConv2D,
  MaxPool,
  MaxPoolGrad,
  ResizeBilinear,
  ResizeBilinearGrad,
  ResizeNearestNeighbor,
  ResizeNearestNeighborGrad,
  upcastType,
} from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { TorchBackend } from './backend.js';
import { op } from './aten.js';
import { bf16Cache, bf16MatmulMinMacs, precision } from './precision.js';
import {
  CPU,
  activation,
  cast,
  matmul,
  nchw,
  nchwDense,
  nhwc,
  type Attrs,
  type Kernel,
  type T,
} from './kernel-util.js';

// ---- the precision policy (precision.ts): under 'bf16' a matmul / convolution kernel casts its float32 inputs
// to bfloat16 and its results back to float32 right away (bias, activation and everything after stay fp32)
const BF16 = 15; // c10::ScalarType::BFloat16
const FLOAT = 6; // c10::ScalarType::Float
/** whether this kernel call runs in bf16 */
const low = () => precision() === 'bf16';
const toBf16 = (t: T): T => op.toCopy(t, BF16);
/**
 * a kernel input for a bf16 call: float32 copied to bf16 (once per tensor: the copy is kept on its dataId,
 * precision.ts bf16Cache), other dtypes as they are
 */
const lowIn = (b: TorchBackend, i: TensorInfo): T =>
  i.dtype !== 'float32' ? b.t(i) : bf16Cache() ? b.derived(i, toBf16) : toBf16(b.t(i));
const f32 = (t: T): T => op.toCopy(t, FLOAT);
/**
 * Matmuls up to bf16MatmulMinMacs() multiply-adds (2^21) stay fp32 under 'bf16': there a bf16 mm is slower than
 * the fp32 one (ATen 1.13's oneDNN bf16 matmul costs ~35-60 us per call whatever its size; 1 thread, us per call,
 * fp32 vs cast + bf16 mm + cast back: 3136x8x8 34 vs 110, 64x64x64 6 vs 49, 16x784x64 41 vs 104, 128x512x32
 * 119 vs 123, 128x784x512 3189 vs 1682; docs/bf16.md). Below 16^3 ATen's own bf16 gemm would run (not oneDNN),
 * summing in bf16 (a 420-MAC bmm was off by ~1% of its result): those are well under the bound.
 */
function matmulMacs(a: TensorInfo, y: TensorInfo, at: Attrs): number {
  const batch = Math.max(
    a.shape.slice(0, -2).reduce((p, q) => p * q, 1),
    y.shape.slice(0, -2).reduce((p, q) => p * q, 1),
  );
  const [m, k] = at.transposeA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
  const n = at.transposeB ? y.shape.at(-2)! : y.shape.at(-1)!;
  return batch * m * k * n;
}
/** a matmul in the policy: bf16 inputs and a float32 result under 'bf16' (above bf16MatmulMinMacs() multiply-adds) */
const policyMatmul = (b: TorchBackend, a: TensorInfo, y: TensorInfo, at: Attrs): T =>
  low() && a.dtype === 'float32' && y.dtype === 'float32' && matmulMacs(a, y, at) > bf16MatmulMinMacs()
    ? f32(matmul(b, a, y, at, (i) => lowIn(b, i)))
    : matmul(b, a, y, at);

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
const convShape = (x: number[], f: number[], a: Attrs, depthwise = false) =>
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
/** The convolution's geometry; tells the backend its size (multiply-adds), which picks the thread team. */
function convInfo(b: TorchBackend, x: number[], f: number[], a: Attrs, depthwise = false): ConvInfo {
  const c = convShape(x, f, a, depthwise);
  const perOut = c.filterHeight * c.filterWidth * (depthwise ? 1 : c.inChannels);
  b.workHint(c.batchSize * c.outHeight * c.outWidth * c.outChannels * perOut);
  return c;
}
/** tfjs filter [fh, fw, in/groups, out] (depthwise: [fh, fw, C, M]) -> ATen OIHW view. */
function oihw(w: T, c: ConvInfo, depthwise: boolean): T {
  if (depthwise) w = op.reshape(w, [c.filterHeight, c.filterWidth, 1, c.outChannels]);
  return op.permute(w, [3, 2, 0, 1]);
}
export function conv2d(
  b: TorchBackend,
  x: TensorInfo,
  filter: TensorInfo,
  a: Attrs,
  depthwise: boolean,
  bias: TensorInfo | null = null,
): T {
  const c = convInfo(b, x.shape, filter.shape, a, depthwise);
  const last = c.dataFormat === 'channelsLast';
  // depthwise convolutions stay fp32 (the policy covers Conv2D, FusedConv2D and the fused conv + bias)
  const lp = !depthwise && low();
  const t = (i: TensorInfo) => (lp ? lowIn(b, i) : b.t(i));
  const [xi, pad] = padNCHW(last ? nchwDense(t(x)) : t(x), c, 0);
  const w = oihw(t(filter), c, depthwise);
  const groups = depthwise ? c.inChannels : 1;
  let y = op.conv(
    xi,
    w,
    bias === null ? null : t(bias),
    [c.strideHeight, c.strideWidth],
    pad,
    [c.dilationHeight, c.dilationWidth],
    false,
    [0, 0],
    groups,
  );
  if (lp) y = f32(y);
  return last ? nhwc(y) : y;
}
function convBackpropInput(
  b: TorchBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  a: Attrs,
  depthwise: boolean,
): TensorInfo {
  const c = convInfo(b, a.inputShape, filter.shape, a, depthwise);
  const last = c.dataFormat === 'channelsLast';
  const p = c.padInfo;
  const sym = symmetric(c);
  const h = sym ? c.inHeight : c.inHeight + p.top + p.bottom;
  const w = sym ? c.inWidth : c.inWidth + p.left + p.right;
  const lp = !depthwise && low();
  const t = (i: TensorInfo) => (lp ? lowIn(b, i) : b.t(i));
  const dtype = lp ? BF16 : FLOAT;
  const input = op.emptyMF([c.batchSize, c.inChannels, h, w], dtype, null, null, null, last ? 2 : 0);
  const [gx] = op.convBack(
    last ? nchwDense(t(dy)) : t(dy),
    input,
    oihw(t(filter), c, depthwise),
    null,
    [c.strideHeight, c.strideWidth],
    sym ? [p.top, p.left] : [0, 0],
    [c.dilationHeight, c.dilationWidth],
    false,
    [0, 0],
    depthwise ? c.inChannels : 1,
    [true, false, false],
  );
  const g = unpadNCHW(lp ? f32(gx!) : gx!, c, !sym);
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
  const c = convInfo(b, x.shape, fs, a, depthwise);
  const last = c.dataFormat === 'channelsLast';
  const lp = !depthwise && low();
  const t = (i: TensorInfo) => (lp ? lowIn(b, i) : b.t(i));
  const [xi, pad] = padNCHW(last ? nchwDense(t(x)) : t(x), c, 0);
  const inPerGroup = depthwise ? 1 : c.inChannels;
  const weight = op.emptyMF([c.outChannels, inPerGroup, c.filterHeight, c.filterWidth], lp ? BF16 : FLOAT);
  const [, gw] = op.convBack(
    last ? nchwDense(t(dy)) : t(dy),
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
  const hwio = op.permute(lp ? f32(gw!) : gw!, [2, 3, 1, 0]);
  return b.out(depthwise ? op.reshape(hwio, fs) : hwio, 'float32');
}

/**
 * All three gradients of a (non-depthwise) convolution with bias in one ATen call (convolution_backward with
 * output mask [1, 1, 1]): [dx, dfilter (tfjs HWIO), dbias].
 */
export function conv2dGrads(
  b: TorchBackend,
  x: TensorInfo,
  filter: TensorInfo,
  dy: TensorInfo,
  a: Attrs,
): TensorInfo[] {
  const c = convInfo(b, x.shape, filter.shape, a, false);
  const last = c.dataFormat === 'channelsLast';
  const lp = low();
  const t = (i: TensorInfo) => (lp ? lowIn(b, i) : b.t(i));
  const [xi, pad, padded] = padNCHW(last ? nchwDense(t(x)) : t(x), c, 0);
  let [gx, gw, gb] = op.convBack(
    last ? nchwDense(t(dy)) : t(dy),
    xi,
    oihw(t(filter), c, false),
    [c.outChannels],
    [c.strideHeight, c.strideWidth],
    pad,
    [c.dilationHeight, c.dilationWidth],
    false,
    [0, 0],
    1,
    [true, true, true],
  ) as [T, T, T];
  if (lp) [gx, gw, gb] = [f32(gx), f32(gw), f32(gb)];
  const g = unpadNCHW(gx, c, padded);
  return [
    b.out(last ? nhwc(g) : g, 'float32'),
    b.out(op.permute(gw, [2, 3, 1, 0]), 'float32'),
    b.out(gb, 'float32'),
  ];
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
/** avg pooling maps to ATen only when its padding is symmetric and at most half the window. */
/** A window may lie entirely in the padding (tfjs and ATen disagree there). */
const paddingOnlyWindows = (c: ConvInfo) => {
  const p = c.padInfo;
  return Math.max(p.top, p.bottom) >= c.filterHeight || Math.max(p.left, p.right) >= c.filterWidth;
};
const avgNative = (c: ConvInfo) =>
  symmetric(c) && 2 * c.padInfo.top <= c.filterHeight && 2 * c.padInfo.left <= c.filterWidth;

export const convKernels: Record<string, Kernel> = {
  [BatchMatMul]: (b, { a, b: y }, at) =>
    a.shape.length < 2 || y.shape.length < 2
      ? CPU
      : b.out(policyMatmul(b, a, y, at), upcastType(a.dtype, y.dtype)),
  [_FusedMatMul]: (b, { a, b: y, bias, preluActivationWeights }, at) => {
    let t = policyMatmul(b, a, y, at);
    if (bias) t = op.add(t, b.t(bias));
    return b.out(activation(t, at.activation, at, b, preluActivationWeights), 'float32');
  },
  [Einsum]: (b, inputs, a) => {
    const list = Object.values(inputs);
    const { allDims, idDims } = backend_util.decodeEinsumEquation(a.equation, list.length); // tfjs's checks
    backend_util.checkEinsumDimSizes(allDims.length, idDims, list as never);
    return b.out(
      op.einsum(
        a.equation,
        list.map((i) => b.t(i)),
      ),
    );
  },
  [Conv2D]: (b, { x, filter }, a) => b.out(conv2d(b, x, filter, a, false), 'float32'),
  [FusedConv2D]: (b, { x, filter, bias, preluActivationWeights }, a) => {
    if (a.dataFormat === 'NCHW' && (bias || preluActivationWeights)) return CPU; // 1-D bias broadcasts on C
    // a 1-D bias of the output channels goes into the convolution itself (no separate pass)
    const inConv = bias !== undefined && bias.shape.length === 1 && bias.shape[0] === filter.shape[3];
    let t = conv2d(b, x, filter, a, false, inConv ? bias : null);
    if (bias && !inConv) t = op.add(t, b.t(bias));
    return b.out(activation(t, a.activation, a, b, preluActivationWeights), 'float32');
  },
  [DepthwiseConv2dNative]: (b, { x, filter }, a) => b.out(conv2d(b, x, filter, a, true), 'float32'),
  [FusedDepthwiseConv2D]: (b, { x, filter, bias, preluActivationWeights }, a) => {
    let t = conv2d(b, x, filter, a, true);
    if (bias) t = op.add(t, b.t(bias));
    return b.out(activation(t, a.activation, a, b, preluActivationWeights), 'float32');
  },
  [Conv2DBackpropInput]: (b, { dy, filter }, a) => convBackpropInput(b, dy, filter, a, false),
  [Conv2DBackpropFilter]: (b, { x, dy }, a) => convBackpropFilter(b, x, dy, a, false),
  [DepthwiseConv2dNativeBackpropInput]: (b, { dy, filter }, a) => convBackpropInput(b, dy, filter, a, true),
  [DepthwiseConv2dNativeBackpropFilter]: (b, { x, dy }, a) => convBackpropFilter(b, x, dy, a, true),
  [MaxPool]: (b, { x }, a) => {
    if (a.dimRoundingMode != null) return CPU;
    const c = poolInfo(x.shape, a);
    if (paddingOnlyWindows(c)) return CPU;
    const [xi, pad] = padNCHW(nchw(b.t(x)), c, -Infinity, true);
    return b.out(
      nhwc(op.maxPool(xi, [c.filterHeight, c.filterWidth], [c.strideHeight, c.strideWidth], pad)),
      x.dtype,
    );
  },
  [MaxPoolGrad]: (b, { dy, input }, a) => {
    if (a.dimRoundingMode != null) return CPU;
    const c = poolInfo(input.shape, a);
    if (paddingOnlyWindows(c)) return CPU;
    const [xi, pad, padded] = padNCHW(nchw(b.t(input)), c, -Infinity, true);
    const k = [c.filterHeight, c.filterWidth];
    const s = [c.strideHeight, c.strideWidth];
    const [, idx] = op.maxPoolIdx(xi, k, s, pad);
    const g = op.maxPoolBack(nchw(b.t(dy)), xi, k, s, pad, [1, 1], false, idx);
    return b.out(nhwc(unpadNCHW(g, c, padded)), 'float32');
  },
  [AvgPool]: (b, { x }, a) => {
    if (a.dimRoundingMode != null) return CPU;
    const c = poolInfo(x.shape, a);
    if (!avgNative(c)) return CPU;
    const y = op.avgPool(
      nchw(b.t(x)),
      [c.filterHeight, c.filterWidth],
      [c.strideHeight, c.strideWidth],
      [c.padInfo.top, c.padInfo.left],
      false,
      false,
    );
    return b.out(nhwc(y), 'float32');
  },
  [AvgPoolGrad]: (b, { dy, input }, a) => {
    if (a.dimRoundingMode != null) return CPU;
    const c = poolInfo(input.shape, a);
    if (!avgNative(c)) return CPU;
    const k = [c.filterHeight, c.filterWidth];
    const g = op.avgPoolBack(
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
  [FusedBatchNorm]: (b, { x, mean, variance, offset, scale }, a) => {
    let t = op.mul(op.sub(b.t(x), b.t(mean)), op.rsqrt(op.addS(b.t(variance), a.varianceEpsilon)));
    if (scale) t = op.mul(t, b.t(scale));
    if (offset) t = op.add(t, b.t(offset));
    return b.out(t, 'float32');
  },

  // nearest / bilinear resizing in the two modes ATen shares with tfjs; tfjs's legacy modes use the cpu
  [ResizeNearestNeighbor]: (b, { images }, a) => {
    if (a.alignCorners || a.halfPixelCenters) return CPU;
    return b.out(nhwc(op.upNearest(nchw(b.t(images)), a.size, null, null)), images.dtype);
  },
  [ResizeNearestNeighborGrad]: (b, { images, dy }, a) => {
    if (a.alignCorners || a.halfPixelCenters) return CPU;
    const [n, h, w, c] = images.shape;
    return b.out(
      nhwc(op.upNearestBack(nchw(b.t(dy)), dy.shape.slice(1, 3), [n, c, h, w], null, null)),
      'float32',
    );
  },
  [ResizeBilinear]: (b, { images }, a) => {
    if (!a.alignCorners && !a.halfPixelCenters) return CPU;
    const x = images.dtype === 'float32' ? b.t(images) : cast(b.t(images), 'float32');
    return b.out(nhwc(op.upBilinear(nchw(x), a.size, a.alignCorners, null, null)), 'float32');
  },
  [ResizeBilinearGrad]: (b, { images, dy }, a) => {
    if (!a.alignCorners && !a.halfPixelCenters) return CPU;
    const [n, h, w, c] = images.shape;
    return b.out(
      nhwc(op.upBilinearBack(nchw(b.t(dy)), dy.shape.slice(1, 3), [n, c, h, w], a.alignCorners, null, null)),
      'float32',
    );
  },
};

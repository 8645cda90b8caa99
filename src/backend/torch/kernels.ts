// The kernel table of the 'torch' backend: each tfjs kernel (keyed by tfjs-core's kernel-name constants)
// -> ATen calls through the handles of aten.ts. This file: elementwise ops and reductions, and the table
// assembled from kernels-conv.ts (linear algebra, convolution, pooling, resizing) and kernels-shape.ts
// (shapes, gathering, creation). Outputs get the tfjs dtype (b.out casts when ATen picked another, e.g.
// int64 from argmax). A kernel may return CPU to hand an unusual attribute combination to the cpu fallback
// (fallback.ts).
import {
  Abs,
  Acos,
  Acosh,
  Add,
  All,
  Any,
  ArgMax,
  ArgMin,
  Asin,
  Asinh,
  Atan,
  Atan2,
  Atanh,
  Cast,
  Ceil,
  ClipByValue,
  Cos,
  Cosh,
  Cumprod,
  Cumsum,
  Elu,
  EluGrad,
  Equal,
  Erf,
  Exp,
  Expm1,
  Floor,
  FloorDiv,
  Greater,
  GreaterEqual,
  Identity,
  IsFinite,
  IsInf,
  IsNan,
  LeakyRelu,
  Less,
  LessEqual,
  Log,
  Log1p,
  LogicalAnd,
  LogicalNot,
  LogicalOr,
  LogicalXor,
  LogSoftmax,
  Max,
  Maximum,
  Mean,
  Min,
  Minimum,
  Mod,
  Multiply,
  Neg,
  NotEqual,
  Pow,
  Prelu,
  Prod,
  RealDiv,
  Reciprocal,
  Relu,
  Relu6,
  Round,
  Rsqrt,
  Select,
  Selu,
  Sigmoid,
  Sign,
  Sin,
  Sinh,
  Softmax,
  Softplus,
  Sqrt,
  Square,
  SquaredDifference,
  Step,
  Sub,
  Sum,
  Tan,
  Tanh,
  upcastType,
} from '@tensorflow/tfjs-core';
import { FUSED } from '../../ops/fused.js';
import { op } from './aten.js';
import {
  CPU,
  FAST,
  axes,
  binary,
  cast,
  cumulative,
  isInt,
  noNaN,
  perDim,
  reduce,
  same,
  unary,
  unaryA,
  type Kernel,
} from './kernel-util.js';
import { convKernels } from './kernels-conv.js';
import { shapeKernels } from './kernels-shape.js';
import { fusedFlowNormKernels } from './kernels-fused.js';

export { bindOps } from './aten.js';
export { CPU, type Kernel } from './kernel-util.js';

/** This backend's own kernel (not in tfjs-core): the Relu gradient dy * (x > 0) in one pass (index.ts). */
export const TorchReluGrad = 'TorchReluGrad';

const subTensor = binary(op.sub, 'up', FAST.sub);

const elementwise: Record<string, Kernel> = {
  // ---- elementwise unary
  [Abs]: unary(op.abs),
  [Acos]: unary(op.acos, { float: true }),
  [Acosh]: unary(op.acosh, { float: true }),
  [Asin]: unary(op.asin, { float: true }),
  [Asinh]: unary(op.asinh, { float: true }),
  [Atan]: unary(op.atan, { float: true }),
  [Atanh]: unary(op.atanh, { float: true }),
  [Ceil]: unary(op.ceil),
  [Cos]: unary(op.cos, { float: true }),
  [Cosh]: unary(op.cosh, { float: true }),
  [Elu]: unary(op.elu, { float: true }),
  [Erf]: unary(op.erf, { float: true }),
  [Exp]: unary(op.exp, { float: true, fast: FAST.exp }),
  [Expm1]: unary(op.expm1, { float: true }),
  [Floor]: unary(op.floor),
  [IsFinite]: unary(op.isfinite),
  [IsInf]: unary(op.isinf),
  [IsNan]: unary(op.isnan),
  [Log]: unary(op.log, { float: true, fast: FAST.log }),
  [Log1p]: unary(op.log1p, { float: true }),
  [LogicalNot]: unary(op.logicalNot),
  [Neg]: unary(op.neg, { fast: FAST.neg }),
  [Reciprocal]: unary(op.reciprocal, { float: true }),
  [Relu]: unary(op.relu, { fast: FAST.relu }),
  [Round]: unary(op.round),
  [Rsqrt]: unary(op.rsqrt, { float: true }),
  [Selu]: unary(op.selu, { float: true }),
  [Sigmoid]: unary(op.sigmoid, { float: true, fast: FAST.sigmoid }),
  [Sign]: unary(op.sign),
  [Sin]: unary(op.sin, { float: true }),
  [Sinh]: unary(op.sinh, { float: true }),
  [Softplus]: unary(op.softplus, { float: true }),
  [Sqrt]: unary(op.sqrt, { float: true, fast: FAST.sqrt }),
  [Square]: unary(op.square, { fast: FAST.square }),
  [Tan]: unary(op.tan, { float: true }),
  [Tanh]: unary(op.tanh, { float: true, fast: FAST.tanh }),
  [Relu6]: unaryA(op.clamp, () => [0, 6]),
  [LeakyRelu]: (b, { x }, a) => b.out(op.leakyRelu(b.t(x), a.alpha), 'float32'),
  [ClipByValue]: unaryA(op.clamp, (a) => [a.clipValueMin, a.clipValueMax]),
  // Step(x) = x > 0 ? 1 : alpha, NaN stays NaN.
  [Step]: (b, { x }, a) => {
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
  [TorchReluGrad]: (b, { dy, x }) => b.out(op.thresholdBackward(b.t(dy), b.t(x), 0), 'float32'),
  [Cast]: (b, { x }, a) => {
    if (a.dtype === x.dtype) return same(b, x);
    return a.dtype === 'string' || a.dtype === 'complex64' ? CPU : b.out(cast(b.t(x), a.dtype), a.dtype);
  },
  [Identity]: (b, { x }) => same(b, x),

  // ---- elementwise binary (numpy broadcasting in ATen = tfjs)
  [Add]: binary(op.add, 'up', FAST.add),
  [Sub]: (b, i) => (i.a.dtype === 'bool' && i.b.dtype === 'bool' ? CPU : subTensor(b, i, {})),
  [Multiply]: binary(op.mul, 'up', FAST.mul),
  [RealDiv]: (b, { a, b: y }) => {
    if (a.dtype === 'float32' && y.dtype === 'float32')
      return b.out(b.fast(FAST.div, b.t(a), b.t(y)), 'float32');
    const f = op.div(b.t(a), b.t(y));
    return b.out(f, upcastType(a.dtype, y.dtype) === 'float32' ? 'float32' : 'int32');
  },
  [FloorDiv]: (b, { a, b: y }) => b.out(op.divMode(b.t(a), b.t(y), 'floor'), upcastType(a.dtype, y.dtype)),
  [Mod]: binary(op.remainder),
  [Maximum]: binary(op.maximum),
  [Minimum]: binary(op.minimum),
  [Pow]: binary(op.pow),
  [Atan2]: binary(op.atan2, 'float32'),
  [SquaredDifference]: (b, { a, b: y }) =>
    b.out(op.square(op.sub(b.t(a), b.t(y))), upcastType(a.dtype, y.dtype)),
  [Equal]: binary(op.eq, 'bool'),
  [NotEqual]: binary(op.ne, 'bool'),
  [Greater]: binary(op.gt, 'bool'),
  [GreaterEqual]: binary(op.ge, 'bool'),
  [Less]: binary(op.lt, 'bool'),
  [LessEqual]: binary(op.le, 'bool'),
  [LogicalAnd]: binary(op.logicalAnd, 'bool'),
  [LogicalOr]: binary(op.logicalOr, 'bool'),
  [LogicalXor]: binary(op.logicalXor, 'bool'),
  [Prelu]: (b, { x, alpha }) => {
    const t = b.t(x);
    return b.out(op.where(op.ltS(t, 0), op.mul(t, b.t(alpha)), t), 'float32');
  },
  [Select]: (b, { condition, t, e }) => {
    let c = b.t(condition);
    if (condition.shape.length === 1 && t.shape.length > 1)
      c = op.reshape(c, [condition.shape[0], ...t.shape.slice(1).map(() => 1)]);
    return b.out(op.where(c, b.t(t), b.t(e)), upcastType(t.dtype, e.dtype));
  },

  // ---- reductions
  [Sum]: reduce((t, d, k, x) => (isInt(x.dtype) ? op.sum(t, d, k, 3) : op.sum(t, d, k))),
  [Mean]: reduce((t, d, k, x) => op.mean(isInt(x.dtype) ? cast(t, 'float32') : t, d, k)),
  [Max]: reduce((t, d, k) => op.amax(t, d, k), 'reductionIndices'),
  [Min]: reduce((t, d, k) => op.amin(t, d, k)),
  [Prod]: reduce(perDim(op.prod, true)),
  [All]: reduce(perDim(op.all)),
  [Any]: reduce(perDim(op.any)),
  // tfjs arg-reductions skip NaNs; ATen's treat NaN as the extreme.
  [ArgMax]: (b, { x }, a) =>
    b.out(op.argmax(noNaN(b, x, -Infinity), axes(a.axis, x.shape)[0], false), 'int32'),
  [ArgMin]: (b, { x }, a) =>
    b.out(op.argmin(noNaN(b, x, Infinity), axes(a.axis, x.shape)[0], false), 'int32'),
  [Softmax]: (b, { logits }, a) =>
    b.out(op.softmax(b.t(logits), a.dim === -1 ? logits.shape.length - 1 : a.dim, false)),
  [LogSoftmax]: (b, { logits }, a) => b.out(op.logSoftmax(b.t(logits), a.axis ?? -1, false)),
  [Cumsum]: (b, { x }, a) => cumulative(b, x, a, 0),
  [Cumprod]: (b, { x }, a) => cumulative(b, x, a, 1),

  [EluGrad]: (b, { dy, y }) => b.out(op.eluBackward(b.t(dy), 1, 1, 1, true, b.t(y)), 'float32'),
};

export const kernels: Record<string, Kernel> = { ...elementwise, ...convKernels, ...shapeKernels };

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
  ...fusedFlowNormKernels,
};

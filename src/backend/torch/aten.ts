// The ATen operators the torch backend's kernels call: one table of handles, each resolved through the
// c10 dispatcher (aten::name.overload) on first use and then called through the addon's boxed entry point.
import type { TorchBackend } from './backend.js';
import type { Arg, NTensor } from './native.js';

type T = NTensor;

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
/** The backend whose addon resolves and runs the handles (set when the backend is created). */
export function bindOps(b: TorchBackend): void {
  backendForOps = b;
}

export const op = {
  // ---- elementwise unary
  abs: aten('abs'),
  acos: aten('acos'),
  acosh: aten('acosh'),
  asin: aten('asin'),
  asinh: aten('asinh'),
  atan: aten('atan'),
  atanh: aten('atanh'),
  ceil: aten('ceil'),
  cos: aten('cos'),
  cosh: aten('cosh'),
  elu: aten('elu'),
  erf: aten('erf'),
  exp: aten('exp'),
  expm1: aten('expm1'),
  floor: aten('floor'),
  isfinite: aten('isfinite'),
  isinf: aten('isinf'),
  isnan: aten('isnan'),
  log: aten('log'),
  log1p: aten('log1p'),
  logicalNot: aten('logical_not'),
  neg: aten('neg'),
  reciprocal: aten('reciprocal'),
  relu: aten('relu'),
  round: aten('round'),
  rsqrt: aten('rsqrt'),
  selu: aten('selu'),
  sigmoid: aten('sigmoid'),
  sign: aten('sign'),
  sin: aten('sin'),
  sinh: aten('sinh'),
  softplus: aten('softplus'),
  sqrt: aten('sqrt'),
  square: aten('square'),
  tan: aten('tan'),
  tanh: aten('tanh'),
  clamp: aten('clamp'),
  leakyRelu: aten('leaky_relu'),
  toCopy: aten('_to_copy'),
  contiguous: aten('contiguous'),
  // in place
  ceil_: aten('ceil_'),
  threshold_: aten('threshold_'),
  sub_: aten('sub_', 'Tensor'),
  mul_: aten('mul_', 'Tensor'),
  neg_: aten('neg_'),
  // ---- elementwise binary
  add: aten('add', 'Tensor'),
  addS: aten('add', 'Scalar'),
  sub: aten('sub', 'Tensor'),
  mul: aten('mul', 'Tensor'),
  mulS: aten('mul', 'Scalar'),
  div: aten('div', 'Tensor'),
  divMode: aten('div', 'Tensor_mode'),
  remainder: aten('remainder', 'Tensor'),
  maximum: aten('maximum'),
  minimum: aten('minimum'),
  pow: aten('pow', 'Tensor_Tensor'),
  atan2: aten('atan2'),
  eq: aten('eq', 'Tensor'),
  ne: aten('ne', 'Tensor'),
  gt: aten('gt', 'Tensor'),
  gtS: aten('gt', 'Scalar'),
  ge: aten('ge', 'Tensor'),
  lt: aten('lt', 'Tensor'),
  ltS: aten('lt', 'Scalar'),
  le: aten('le', 'Tensor'),
  logicalAnd: aten('logical_and'),
  logicalOr: aten('logical_or'),
  logicalXor: aten('logical_xor'),
  where: aten('where', 'self'),
  whereS: aten('where', 'Scalar'),
  maskedFill: aten('masked_fill', 'Scalar'),
  // ---- reductions and scans
  sum: aten('sum', 'dim_IntList'),
  mean: aten('mean', 'dim'),
  amax: aten('amax'),
  amin: aten('amin'),
  prod: aten('prod', 'dim_int'),
  all: aten('all', 'dim'),
  any: aten('any', 'dim'),
  argmax: aten('argmax'),
  argmin: aten('argmin'),
  softmax: aten('_softmax'),
  logSoftmax: aten('_log_softmax'),
  cumsum: aten('cumsum'),
  cumprod: aten('cumprod'),
  // ---- linear algebra, convolution, pooling, resizing
  matmul: aten('matmul'),
  mm: aten('mm'),
  t: aten('t'),
  tril: aten('tril'),
  triu: aten('triu'),
  diagEmbed: aten('diag_embed'),
  diagonal: aten('diagonal'),
  einsum: aten('einsum'),
  conv: aten('convolution'),
  convBack: atenList('convolution_backward'),
  maxPool: aten('max_pool2d'),
  maxPoolIdx: atenList('max_pool2d_with_indices'),
  maxPoolBack: aten('max_pool2d_with_indices_backward'),
  avgPool: aten('avg_pool2d'),
  avgPoolBack: aten('avg_pool2d_backward'),
  upNearest: aten('upsample_nearest2d'),
  upNearestBack: aten('upsample_nearest2d_backward'),
  upBilinear: aten('upsample_bilinear2d'),
  upBilinearBack: aten('upsample_bilinear2d_backward'),
  // ---- fused ops (src/ops, kernels-fused.ts)
  silu: aten('silu'),
  siluBackward: aten('silu_backward'),
  groupNorm: atenList('native_group_norm'),
  groupNormBackward: atenList('native_group_norm_backward'),
  add_: aten('add_', 'Tensor'),
  addcmul: aten('addcmul'),
  addcmul_: aten('addcmul_'),
  // ---- gradients
  thresholdBackward: aten('threshold_backward'),
  eluBackward: aten('elu_backward'),
  // ---- shapes, gathering, creation
  reshape: aten('reshape'),
  alias: aten('alias'),
  permute: aten('permute'),
  transpose: aten('transpose', 'int'),
  unsqueeze: aten('unsqueeze'),
  expand: aten('expand'),
  slice: aten('slice', 'Tensor'),
  select: aten('select', 'int'),
  flip: aten('flip'),
  padC: aten('constant_pad_nd'),
  cat: aten('cat'),
  stack: aten('stack'),
  unbind: atenList('unbind', 'int'),
  splitSizes: atenList('split_with_sizes'),
  repeat: aten('repeat'),
  indexSelect: aten('index_select'),
  index: aten('index', 'Tensor'),
  indexPut: aten('index_put'),
  indexAdd: aten('index_add'),
  nonzero: aten('nonzero'),
  emptyMF: aten('empty', 'memory_format'),
  zeros: aten('zeros'),
  zerosLike: aten('zeros_like'),
  onesLike: aten('ones_like'),
  full: aten('full'),
  arange: aten('arange', 'start_step'),
};

// Kernels of the torch backend that move, gather, scatter and create values (shapes, indexing, fills).
import {
  AddN,
  backend_util,
  BroadcastTo,
  Concat,
  ExpandDims,
  Fill,
  GatherNd,
  GatherV2,
  OneHot,
  OnesLike,
  Pack,
  PadV2,
  Range,
  Reshape,
  Reverse,
  ScatterNd,
  Slice,
  slice_util,
  SplitV,
  StridedSlice,
  Tile,
  Transpose,
  Unpack,
  UnsortedSegmentSum,
  upcastType,
  util,
  ZerosLike,
} from '@tensorflow/tfjs-core';
import { scalarType } from './backend.js';
import { op } from './aten.js';
import { CPU, axes, cast, same, type Kernel } from './kernel-util.js';

/**
 * Not a tfjs-core kernel name: tf.whereAsync computes on the CPU in JS and dispatches no kernel in
 * tfjs 4.22, so nothing calls this one; kept so the native kernel list stays as it was.
 */
const Where = 'Where';

export const shapeKernels: Record<string, Kernel> = {
  [Reshape]: (b, { x }, a) => {
    const shape = util.inferFromImplicitShape(a.shape as number[], util.sizeFromShape(x.shape));
    // to its own shape (every gradient of a broadcasting op ends with one): the input's data, no native call
    if (util.arraysEqual(shape, x.shape)) return same(b, x);
    return b.out(op.reshape(b.t(x), shape), x.dtype);
  },
  [Transpose]: (b, { x }, a) => b.out(op.permute(b.t(x), a.perm), x.dtype),
  [Concat]: (b, inputs, a) => {
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
  [Slice]: (b, { x }, a) => {
    const [begin, size] = slice_util.parseSliceParams(x as never, a.begin, a.size);
    if (begin.some((v, d) => v < 0 || v + size[d] > x.shape[d])) return CPU; // tfjs's bounds error
    let t = b.t(x);
    for (let d = 0; d < begin.length; d++)
      if (begin[d] !== 0 || size[d] !== x.shape[d]) t = op.slice(t, d, begin[d], begin[d] + size[d], 1);
    return b.out(t === b.t(x) ? op.toCopy(t) : t, x.dtype);
  },
  [StridedSlice]: (b, { x }, a) => {
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
  [Pack]: (b, inputs, a) => {
    const list = Object.values(inputs);
    if (list.some((i) => i.dtype !== list[0].dtype)) return CPU; // tfjs's dtype error
    return b.out(
      op.stack(
        list.map((i) => b.t(i)),
        a.axis < 0 ? a.axis + list[0].shape.length + 1 : a.axis,
      ),
      list[0].dtype,
    );
  },
  [Unpack]: (b, { value }, a) => op.unbind(b.t(value), a.axis).map((t) => b.out(t, value.dtype)),
  [SplitV]: (b, { x }, a) => {
    const axis = axes(a.axis, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x as never, a.numOrSizeSplits, axis);
    return op.splitSizes(b.t(x), sizes, axis).map((t) => b.out(t, x.dtype));
  },
  [Tile]: (b, { x }, a) => b.out(op.repeat(b.t(x), a.reps), x.dtype),
  [PadV2]: (b, { x }, a) => {
    const pads = (a.paddings as [number, number][]).slice().reverse().flat();
    return b.out(op.padC(b.t(x), pads, a.constantValue), x.dtype);
  },
  [Reverse]: (b, { x }, a) => b.out(op.flip(b.t(x), axes(a.dims, x.shape)), x.dtype),
  [GatherV2]: (b, { x, indices }, a) => {
    if (a.batchDims) return CPU;
    const axis = axes(a.axis, x.shape)[0];
    const flat = op.reshape(b.t(indices), [-1]);
    const g = op.indexSelect(b.t(x), axis, flat);
    const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    return b.out(op.reshape(g, shape), x.dtype);
  },
  [GatherNd]: (b, { params, indices }) => {
    const k = indices.shape[indices.shape.length - 1];
    const idx = op.unbind(cast(b.t(indices), 'int32'), indices.shape.length - 1).map((t) => op.toCopy(t, 4));
    const g = op.index(b.t(params), idx);
    return b.out(op.reshape(g, [...indices.shape.slice(0, -1), ...params.shape.slice(k)]), params.dtype);
  },
  [ScatterNd]: (b, { indices, updates }, a) => {
    const rank = indices.shape[indices.shape.length - 1];
    const idx = op.unbind(b.t(indices), indices.shape.length - 1).map((t) => op.toCopy(t, 4));
    const z = op.zeros(a.shape, scalarType(updates.dtype));
    const u = op.reshape(b.t(updates), [...indices.shape.slice(0, -1), ...a.shape.slice(rank)]);
    return b.out(op.indexPut(z, idx, u, true), updates.dtype);
  },
  [OneHot]: (b, { indices }, a) => {
    const hot = op.eq(op.unsqueeze(b.t(indices), -1), op.arange(0, a.depth, 1, 3));
    return b.out(op.whereS(hot, a.onValue, a.offValue), a.dtype);
  },
  [Fill]: (b, _i, a) =>
    typeof a.value === 'string' ? CPU : b.out(op.full(a.shape, a.value, scalarType(a.dtype)), a.dtype),
  [ZerosLike]: (b, { x }) =>
    x.dtype === 'complex64' || x.dtype === 'string' ? CPU : b.out(op.zerosLike(b.t(x)), x.dtype),
  [OnesLike]: (b, { x }) =>
    x.dtype === 'complex64' || x.dtype === 'string' ? CPU : b.out(op.onesLike(b.t(x)), x.dtype),
  [Range]: (b, _i, a) => {
    if (a.start === a.stop || Math.sign(a.stop - a.start) !== Math.sign(a.step)) return CPU;
    return b.out(op.arange(a.start, a.stop, a.step, scalarType(a.dtype)), a.dtype);
  },
  [BroadcastTo]: (b, { x }, a) => {
    const shape = a.shape as number[];
    const t =
      x.shape.length < shape.length
        ? op.reshape(b.t(x), [...shape.slice(0, shape.length - x.shape.length).map(() => 1), ...x.shape])
        : b.t(x);
    return b.out(op.toCopy(op.expand(t, shape)), x.dtype);
  },
  [Where]: (b, { condition }) => b.out(op.nonzero(b.t(condition)), 'int32'),
  [ExpandDims]: (b, { input }, a) => {
    const r = input.shape.length;
    if (a.dim < -(r + 1) || a.dim > r) return CPU; // tfjs's range error
    return b.out(op.unsqueeze(b.t(input), a.dim < 0 ? a.dim + r + 1 : a.dim), input.dtype);
  },
  [AddN]: (b, inputs) => {
    const list = Object.values(inputs);
    let t = b.t(list[0]);
    for (const i of list.slice(1)) t = op.add(t, b.t(i));
    return b.out(list.length === 1 ? op.toCopy(t) : t, list[0].dtype);
  },
  // the gradient of gather: rows of x added into numSegments rows (ATen errors on bad ids -> cpu fallback)
  [UnsortedSegmentSum]: (b, { x, segmentIds }, a) => {
    const k = segmentIds.shape.length;
    const rest = x.shape.slice(k);
    const rows = op.reshape(b.t(x), [-1, ...rest]);
    const z = op.zeros([a.numSegments, ...rest], scalarType(x.dtype));
    return b.out(op.indexAdd(z, 0, op.reshape(b.t(segmentIds), [-1]), rows), x.dtype);
  },
};

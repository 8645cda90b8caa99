// TorchBackend: a tfjs KernelBackend whose tensors live in libtorch (one at::Tensor per dataId).
import { KernelBackend, util } from '@tensorflow/tfjs-core';
import type { BackendValues, DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { Addon, Arg, NTensor } from './native.js';

interface TData {
  t: NTensor | null; // numeric tensors (float32, int32, bool)
  values: BackendValues | null; // other dtypes (string) stay in JS; their kernels run on the cpu fallback
  shape: number[];
  dtype: DataType;
  refCount: number;
  /** a native copy derived from t (the precision policy's bf16 copy): disposed with t or when t is written */
  derived?: NTensor;
}

const TORCH_CODE: Partial<Record<DataType, number>> = { float32: 6, int32: 3, bool: 11 }; // c10::ScalarType
/** the tfjs dtype a c10::ScalarType maps to: bool, floating (Half 5, Float 6, Double 7, BFloat16 15), else int32 */
const TFJS_DTYPE = (code: number): DataType =>
  code === 11 ? 'bool' : code === 5 || code === 6 || code === 7 || code === 15 ? 'float32' : 'int32';

/** The c10::ScalarType code of a tfjs dtype (throws for string/complex64). */
export function scalarType(dtype: DataType): number {
  const c = TORCH_CODE[dtype];
  if (c === undefined) throw new Error(`torch backend: dtype '${dtype}' is not supported natively`);
  return c;
}

type Owned = Record<symbol, TData | undefined>;

export class TorchBackend extends KernelBackend {
  /**
   * A dataId's entry is stored on the dataId object itself under this backend's own key (the engine treats
   * dataIds as opaque objects): no WeakMap lookup per kernel input / output / dispose (tfjs's DataStorage).
   */
  private readonly ENTRY = Symbol('torch-entry');
  private dataIds = 0;
  /**
   * Native tensors created while kernels run (one stack for all nested scoped() calls; a scope owns the
   * entries from its start index). Those not registered as outputs (`kept`) are disposed when it ends.
   */
  private readonly live: NTensor[] = [];
  private readonly kept: NTensor[] = [];
  private depth = 0;
  private toCopy: number;

  /** filled by N.meta(t): [scalar type code, rank, dims...] */
  private readonly metaBuf = new Int32Array(34);

  constructor(readonly N: Addon) {
    super();
    this.toCopy = N.op('aten::_to_copy', '');
    N.setMetaBuffer(this.metaBuf);
  }

  // ------------------------------------------------------------------ storage
  private entry(values: BackendValues | null, shape: number[], dtype: DataType, refCount: number): TData {
    if (TORCH_CODE[dtype] === undefined) return { t: null, values, shape, dtype, refCount };
    let v = values as Float32Array | Int32Array | Uint8Array | null;
    if (v == null)
      v = util.getTypedArrayFromDType(dtype as 'float32', util.sizeFromShape(shape)) as Float32Array;
    else if (!ArrayBuffer.isView(v)) v = util.toTypedArray(v as never, dtype) as Float32Array;
    return { t: this.N.fromArray(v, shape, dtype), values: null, shape, dtype, refCount };
  }
  private get(dataId: DataId): TData | undefined {
    return (dataId as Owned)[this.ENTRY];
  }
  private set(dataId: DataId, d: TData): void {
    const o = dataId as Owned;
    const old = o[this.ENTRY];
    if (old === undefined) this.dataIds++;
    else if (old.derived !== undefined) this.N.dispose(old.derived);
    o[this.ENTRY] = d;
  }
  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId: Owned = { [this.ENTRY]: undefined };
    this.set(dataId, this.entry(values, shape, dtype, 1));
    return dataId;
  }
  override move(
    dataId: DataId,
    values: BackendValues,
    shape: number[],
    dtype: DataType,
    refCount: number,
  ): void {
    this.set(dataId, this.entry(values, shape, dtype, refCount));
  }
  override refCount(dataId: DataId): number {
    return this.get(dataId)?.refCount ?? 0;
  }
  override incRef(dataId: DataId): void {
    this.get(dataId)!.refCount++;
  }
  override numDataIds(): number {
    return this.dataIds;
  }
  override async read(dataId: DataId): Promise<BackendValues> {
    return this.readSync(dataId);
  }
  override readSync(dataId: DataId): BackendValues {
    const d = this.get(dataId);
    if (d === undefined) throw new Error('torch backend: reading a disposed tensor');
    if (d.t === null) return d.values as BackendValues;
    return this.N.toArray(d.t);
  }
  override disposeData(dataId: DataId, force = false): boolean {
    const d = this.get(dataId);
    if (d !== undefined) {
      d.refCount--;
      if (!force && d.refCount > 0) return false;
      if (d.t !== null) this.N.dispose(d.t);
      if (d.derived !== undefined) this.N.dispose(d.derived);
      (dataId as Owned)[this.ENTRY] = undefined;
      this.dataIds--;
    }
    return true;
  }
  override memory(): { unreliable: boolean; reasons: string[]; nativeTensors: number; nativeBytes: number } {
    const { tensors, bytes } = this.N.stats();
    return {
      unreliable: true,
      reasons: ['tensor bytes live in libtorch (nativeBytes counts a storage once per view on it)'],
      nativeTensors: tensors,
      nativeBytes: bytes,
    };
  }
  override async time(f: () => void): Promise<{ kernelMs: number }> {
    const start = performance.now();
    f();
    return { kernelMs: performance.now() - start };
  }
  override timerAvailable(): boolean {
    return true;
  }
  override floatPrecision(): 32 {
    return 32;
  }
  override epsilon(): number {
    return 1e-7;
  }
  override dispose(): void {
    // tensors are released by the engine through disposeData
  }

  // ------------------------------------------------------------------ kernel helpers
  /** The native tensor behind a TensorInfo. */
  t(info: TensorInfo): NTensor {
    const d = (info.dataId as Owned)[this.ENTRY];
    if (d === undefined) throw new Error('torch backend: use of a disposed tensor');
    if (d.t === null) throw new Error(`torch backend: dtype '${d.dtype}' has no native storage`);
    return d.t;
  }
  /**
   * A native tensor derived from info's (the precision policy's bf16 copy, kernels-conv.ts), made by `make` on
   * first use and kept on the dataId: disposed with it, or dropped by written(). One per dataId.
   */
  derived(info: TensorInfo, make: (t: NTensor) => NTensor): NTensor {
    const d = (info.dataId as Owned)[this.ENTRY];
    if (d === undefined || d.t === null) return make(this.t(info));
    if (d.derived !== undefined) return d.derived;
    const r = make(d.t);
    if (this.depth > 0) this.kept.push(r); // not a temporary of the running kernel
    return (d.derived = r);
  }
  /** The dataId's memory was written in place (fused Adam): what was derived from it is stale. */
  written(dataId: DataId): void {
    const d = this.get(dataId);
    if (d?.derived !== undefined) {
      this.N.dispose(d.derived);
      d.derived = undefined;
    }
  }
  /**
   * Thread policy. Matmuls and convolutions run on all `threads`; every other operator on one thread.
   * A training step is mostly many small elementwise kernels, and waking the OpenMP team for each cost
   * more than it saved (W1 MLP VAE step, 2 cores: 13-20 ms with all threads everywhere, 10.8 ms with this
   * policy; the conv step also got faster). Only the OpenMP team size of the next regions is changed.
   */
  threads = 1;
  private team = -1;
  /** parallelOps[handle] = 1 for the operators that always run on all threads */
  private parallelOps = new Uint8Array(0);
  /** the tensor whose dtype and shape the meta buffer holds (call() and fast() write their result's) */
  private metaId = -1;
  /**
   * Kernels whose largest input has at least this many elements run every operator on all threads: a
   * memory-bound pass over a 64x28x28x64 activation (3.2M floats) took 1.2-2.4 ms on one thread, and the W2
   * conv step spent 22 ms of its 188 in such passes. Below it, waking the team costs more than it saves.
   */
  static readonly PARALLEL_MIN = 1 << 18;
  private big = false;
  /**
   * Convolutions of fewer multiply-adds than this run on one thread. With idle OpenMP workers asleep
   * (OMP_WAIT_POLICY=PASSIVE, the default here) every parallel region pays their wake-up: Glow's
   * convolutions (13-14 M multiply-adds each) took 31 ms per step on 2 threads against 25 ms on one, a
   * 64->64 3x3 one on 16x14x14 (116 M) 6.3 ms against 8.7 ms (docs/backend.md).
   */
  static PARALLEL_MIN_MACS = parallelMinMacs(
    typeof process !== 'undefined' ? process.env?.GENMODELS_CONV_PARALLEL_MIN_MACS : undefined,
  );
  private small = false;
  /** Let the next calls (until the next kernel) use all threads when `size` elements are touched. */
  sizeHint(size: number): void {
    this.big = size >= TorchBackend.PARALLEL_MIN;
    this.small = false;
  }
  /** The running kernel's work in multiply-adds: below PARALLEL_MIN_MACS its matmul / conv calls use one thread. */
  workHint(macs: number): void {
    this.small = macs < TorchBackend.PARALLEL_MIN_MACS;
  }
  setThreads(n: number): number {
    this.threads = this.N.setNumThreads(n);
    this.team = this.threads;
    const hs = ['mm', 'matmul', 'bmm', 'addmm', 'convolution', 'convolution_backward'].map((name) =>
      this.N.op('aten::' + name, ''),
    );
    this.parallelOps = new Uint8Array(Math.max(...hs) + 1);
    for (const h of hs) this.parallelOps[h] = 1;
    return this.threads;
  }
  /** Call an ATen operator by handle; tensors it returns are scoped to the running kernel. */
  call(handle: number, args: Arg[]): unknown {
    const team = this.big || (this.parallelOps[handle] === 1 && !this.small) ? this.threads : 1;
    if (team !== this.team) {
      this.N.setOmpThreads(team);
      this.team = team;
    }
    const r = this.N.call(handle, ...args);
    if (typeof r === 'number') {
      this.metaId = r;
      if (this.depth > 0) this.live.push(r as NTensor);
    } else if (this.depth > 0 && r !== null) track(r, this.live);
    return r;
  }
  /** The addon's unboxed fast path (codes in native/torch_addon.cc `fast`); scoped like call(). */
  fast(code: number, a: NTensor, b?: NTensor): NTensor {
    const team = this.big ? this.threads : 1;
    if (team !== this.team) {
      this.N.setOmpThreads(team);
      this.team = team;
    }
    const r = this.N.fast(code, a, b);
    this.metaId = r;
    if (this.depth > 0) this.live.push(r);
    return r;
  }
  /** Register a native tensor as a kernel output of the given tfjs dtype (casting if libtorch chose another). */
  out(t: NTensor, dtype?: DataType): TensorInfo {
    const m = this.metaBuf;
    if (t !== this.metaId || m[0]! < 0) {
      this.N.meta(t);
      this.metaId = t;
    }
    const want = dtype ?? TFJS_DTYPE(m[0]!);
    if (TORCH_CODE[want] !== m[0]) {
      t = this.call(this.toCopy, [t, scalarType(want)]) as NTensor;
      if (t !== this.metaId) this.N.meta(t);
      this.metaId = t;
    }
    const rank = m[1]!;
    const shape: number[] = new Array(rank);
    for (let i = 0; i < rank; i++) shape[i] = m[2 + i]!;
    const dataId: Owned = { [this.ENTRY]: { t, values: null, shape, dtype: want, refCount: 1 } };
    this.dataIds++;
    if (this.depth > 0) this.kept.push(t);
    return { dataId, shape, dtype: want };
  }
  /** Write a JS array as a new tensor (used by the cpu fallback). */
  writeInfo(values: BackendValues, shape: number[], dtype: DataType): TensorInfo {
    return { dataId: this.write(values, shape, dtype), shape, dtype };
  }
  /** Run a kernel body; native temporaries it created are disposed unless they became outputs. */
  scoped<R>(fn: () => R): R {
    const start = this.live.length;
    const keptStart = this.kept.length;
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
      const live = this.live;
      const kept = this.kept;
      // outputs of this scope (and of scopes nested in it) are kept[keptStart..]: usually one or two
      for (let i = start; i < live.length; i++) {
        const t = live[i]!;
        if (kept.indexOf(t, keptStart) < 0) this.N.dispose(t);
      }
      live.length = start;
      if (this.depth === 0) kept.length = 0; // an enclosing scope still needs them to protect its outputs
    }
  }
}

function track(r: unknown, scope: NTensor[]): void {
  if (typeof r === 'number') scope.push(r as NTensor);
  else if (Array.isArray(r)) for (const e of r) track(e, scope);
}

/** GENMODELS_CONV_PARALLEL_MIN_MACS, a count of multiply-adds >= 0 (default 2^24; anything else: the default) */
function parallelMinMacs(v: string | undefined): number {
  if (v === undefined || v === '') return 1 << 24;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return n;
  console.warn(`genmodels: GENMODELS_CONV_PARALLEL_MIN_MACS='${v}' is not a count >= 0; using ${1 << 24}`);
  return 1 << 24;
}

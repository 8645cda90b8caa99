// Loader and typings for the libtorch N-API addon (native/torch_addon.cc).
import { createRequire } from 'node:module';
import { locateAddon } from './locate.js';

/** The id of one at::Tensor in the addon's slot table (released by `dispose(id)`). */
export type NTensor = number & { readonly __nativeTensor: true };

/** A value the generic entry point accepts: tensors, numbers, booleans, strings, lists of those, null. */
export type Arg = NTensor | number | boolean | string | null | undefined | readonly Arg[];

export interface Addon {
  op(name: string, overload: string): number;
  call(handle: number, ...args: Arg[]): unknown;
  /** Unboxed fast path of a few elementwise operators (codes: native/torch_addon.cc `fast`). */
  fast(code: number, a: NTensor, b?: NTensor): NTensor;
  schema(handle: number): string;
  fromArray(data: Float32Array | Int32Array | Uint8Array, shape: readonly number[], dtype: string): NTensor;
  toArray(t: NTensor): Float32Array | Int32Array | Uint8Array;
  /** True when no other tensor or view shares this tensor's memory. */
  unique(t: NTensor): boolean;
  /** Release a tensor (an id already released is ignored). */
  dispose(t: NTensor): void;
  /** The Int32Array that meta() fills: [c10::ScalarType code, rank, dims...]. */
  setMetaBuffer(buf: Int32Array): void;
  /** Write t's dtype code, rank and dims into the meta buffer; returns the rank. */
  meta(t: NTensor): number;
  /** Live tensors in the slot table and their bytes. */
  stats(): { tensors: number; bytes: number };
  setNumThreads(n: number): number;
  getNumThreads(): number;
  /** OpenMP team size for the next parallel regions only (cheap); false without an OpenMP runtime */
  setOmpThreads(n: number): boolean;
  /** Route CPU tensor memory through the addon's caching allocator (keeps up to capBytes of freed blocks). */
  useCachingAllocator(capBytes?: number): boolean;
  /** Release the cached blocks; returns the bytes freed. */
  emptyCache(): number;
  readonly libtorchVersion: string;
}

/** Where the built addon is (see locate.ts): $GENMODELS_TORCH_ADDON, native/build, or @genmodels/torch. */
export function findAddon(): string | undefined {
  return locateAddon().path;
}

let cached: { addon: Addon; path: string } | null | undefined;

/** Load the addon once; null (with the reason in `loadError`) when it is not built or cannot load. */
export function loadAddon(): { addon: Addon; path: string } | null {
  if (cached !== undefined) return cached;
  const where = locateAddon();
  const p = where.path;
  if (!p) {
    loadError = where.reason ?? 'addon not found';
    return (cached = null);
  }
  try {
    // libgomp reads this once, when the addon pulls it in. Passive waiting makes idle OpenMP workers
    // sleep instead of spinning: on a busy machine (tests, other processes) spinning workers made a
    // 2-thread W1 step 30x slower; measured cost when idle is within noise. OMP_WAIT_POLICY overrides.
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
    const require = createRequire(import.meta.url);
    cached = { addon: require(p) as Addon, path: p };
  } catch (e) {
    loadError = `addon failed to load: ${(e as Error).message.split('\n')[0]}`;
    cached = null;
  }
  return cached;
}
export let loadError = '';

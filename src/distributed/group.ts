// The process group of a data-parallel run: libtorch's c10d (TCPStore rendezvous, Gloo collectives) through
// the torch addon (native/dist.cc). Tensors of the 'torch' backend go to c10d as they are (by native id);
// those of another backend are copied through the addon. Gradients are reduced in buckets of at most
// BUCKET_BYTES (as DistributedDataParallel's 25 MB buckets): one c10d call per bucket, not per tensor.
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/model.js';
import { loadAddon, loadError, type Addon, type NTensor } from '../backend/torch/native.js';
import type { TorchBackend } from '../backend/torch/backend.js';

/** the addon's c10d entry points (native/dist.cc) */
interface DistAddon extends Addon {
  readonly distAvailable: boolean;
  readonly distUnavailableReason: string | null;
  distInit(host: string, port: number, rank: number, size: number, timeoutMs: number): void;
  distAllreduce(ids: NTensor[], op: 'sum' | 'avg' | 'max', scale?: number): NTensor[];
  distBroadcast(ids: NTensor[], root?: number): NTensor[];
  distAllreduceNumbers(v: Float64Array, op?: 'sum' | 'max'): Float64Array;
  distBarrier(): void;
  distDestroy(): void;
}

export const BUCKET_BYTES = 25 << 20;

/** A collective or the rendezvous failed: a worker died, hung past the timeout, or cannot be reached. */
export class DistributedError extends UserError {
  override name = 'DistributedError';
}

/** Why this build cannot run distributed training (one line), or null when it can. */
export function distributedUnavailable(): string | null {
  const loaded = loadAddon();
  if (!loaded) return `distributed training needs the torch addon (${loadError ?? 'not loaded'})`;
  const a = loaded.addon as Partial<DistAddon>;
  if (typeof a.distInit !== 'function')
    return 'this torch addon was built without distributed support (rebuild: npm run build:native)';
  if (!a.distAvailable) return a.distUnavailableReason ?? 'this libtorch build has no c10d/Gloo';
  return null;
}

export interface GroupOptions {
  /** the rendezvous host (rank 0 serves the TCPStore there) and port */
  host: string;
  port: number;
  rank: number;
  size: number;
  /** a collective (or the rendezvous) that does not complete in this time fails; default 60 s */
  timeoutMs?: number;
}

export type ReduceOp = 'sum' | 'avg' | 'max';

export class ProcessGroup {
  readonly rank: number;
  readonly size: number;
  /** seconds spent in collectives (the JS thread waits for c10d), and their count */
  commSeconds = 0;
  calls = 0;
  private readonly N: DistAddon;
  private open = true;

  private constructor(N: DistAddon, rank: number, size: number) {
    this.N = N;
    this.rank = rank;
    this.size = size;
  }

  /** Join the group: blocks until every rank has joined (or the timeout passes). */
  static init(o: GroupOptions): ProcessGroup {
    const why = distributedUnavailable();
    if (why) throw new UserError(why);
    const N = loadAddon()!.addon as DistAddon;
    try {
      N.distInit(o.host, o.port, o.rank, o.size, o.timeoutMs ?? 60_000);
    } catch (e) {
      throw new DistributedError((e as Error).message);
    }
    return new ProcessGroup(N, o.rank, o.size);
  }

  /** The reduction over ranks of scale * each tensor (new tensors; the inputs are not changed). */
  allreduce(ts: tf.Tensor[], op: ReduceOp = 'sum', scale = 1): tf.Tensor[] {
    return this.bucketed(ts, (ids) => this.N.distAllreduce(ids, op, scale));
  }

  /** rank `root`'s values of each tensor (new tensors). */
  broadcast(ts: tf.Tensor[], root = 0): tf.Tensor[] {
    return this.bucketed(ts, (ids) => this.N.distBroadcast(ids, root));
  }

  /** numbers reduced over ranks in float64 (one small collective) */
  allreduceNumbers(v: number[], op: 'sum' | 'max' = 'sum'): number[] {
    return Array.from(this.timed(() => this.N.distAllreduceNumbers(Float64Array.from(v), op)));
  }

  barrier(): void {
    this.timed(() => this.N.distBarrier());
  }

  /** leave the group (idempotent) */
  destroy(): void {
    if (!this.open) return;
    this.open = false;
    this.N.distDestroy();
  }

  private timed<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } catch (e) {
      throw new DistributedError(
        `${(e as Error).message} (a worker died, hung past the timeout or cannot be reached)`,
      );
    } finally {
      this.commSeconds += (performance.now() - t0) / 1000;
      this.calls++;
    }
  }

  /** one native call per bucket of same-dtype tensors of at most BUCKET_BYTES */
  private bucketed(ts: tf.Tensor[], call: (ids: NTensor[]) => NTensor[]): tf.Tensor[] {
    const out: tf.Tensor[] = new Array(ts.length);
    let bucket: number[] = [];
    let bytes = 0;
    const flush = () => {
      if (!bucket.length) return;
      const res = this.reduceBucket(
        bucket.map((i) => ts[i]!),
        call,
      );
      bucket.forEach((i, j) => (out[i] = res[j]!));
      bucket = [];
      bytes = 0;
    };
    ts.forEach((t, i) => {
      const b = t.size * 4;
      if (bucket.length && (bytes + b > BUCKET_BYTES || ts[bucket[0]!]!.dtype !== t.dtype)) flush();
      bucket.push(i);
      bytes += b;
    });
    flush();
    return out;
  }

  private reduceBucket(ts: tf.Tensor[], call: (ids: NTensor[]) => NTensor[]): tf.Tensor[] {
    const torch = tf.getBackend() === 'torch' ? (tf.backend() as unknown as TorchBackend) : null;
    if (torch) {
      const ids = this.timed(() => call(ts.map((t) => torch.t(t as unknown as tf.TensorInfo))));
      return ids.map((id, i) => tf.engine().makeTensorFromTensorInfo(torch.out(id, ts[i]!.dtype), torch));
    }
    // another backend: through the addon's own tensors
    const ins = ts.map((t) => this.N.fromArray(t.dataSync() as Float32Array, t.shape, t.dtype));
    try {
      const ids = this.timed(() => call(ins));
      return ids.map((id, i) => {
        const v = this.N.toArray(id);
        this.N.dispose(id);
        return tf.tensor(v, ts[i]!.shape, ts[i]!.dtype);
      });
    } finally {
      ins.forEach((id) => this.N.dispose(id));
    }
  }
}

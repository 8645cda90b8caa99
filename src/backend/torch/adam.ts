// In-place Adam/AdamW update on the 'torch' backend: the fast path of the library's Adam
// (src/train/optim.ts, registered through setFastAdam by registerTorch).
//
// The generic path spends ~12 allocating tfjs kernels per variable. Here the same update (Kingma & Ba
// 2015, Algorithm 1, with decoupled weight decay, Loshchilov & Hutter 2019), in the form PyTorch uses,
//   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
//   theta <- theta (1 - lr wd) - (lr / c1) m / (sqrt(v) / sqrt(c2) + eps),   c1 = 1 - b1^t, c2 = 1 - b2^t
// runs as 7-8 ATen calls (all but sqrt in place), the passes of torch.optim.AdamW. The moments must be
// private (backend refCount 1 and no other tensor or view on their memory) or nothing happens and the
// generic path runs; a parameter whose memory is shared is replaced (assign) instead of overwritten, so
// in-place updates are never observable through another tensor.
import { engine } from '@tensorflow/tfjs-core';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import type { TorchBackend } from './backend.js';
import type { NTensor } from './native.js';
import type { AdamStep } from '../../train/optim.js';

/**
 * Update parameter p and moments m, v with gradient g in place. True when done; false (nothing changed)
 * when the current backend is not 'torch' or a tensor cannot be updated in place — the caller's generic
 * tfjs code must run then.
 */
export function fusedAdamUpdate(p: Variable, m: Variable, v: Variable, g: Tensor, h: AdamStep): boolean {
  if (engine().backendName !== 'torch') return false;
  const b = engine().backend as unknown as TorchBackend;
  if (p.dtype !== 'float32' || m.dtype !== 'float32' || v.dtype !== 'float32' || g.dtype !== 'float32')
    return false;
  if (!sameShape(p.shape, m.shape) || !sameShape(p.shape, v.shape) || !sameShape(p.shape, g.shape))
    return false;
  if (g.dataId === m.dataId || g.dataId === v.dataId) return false; // g must not change under the update
  const mt = owned(b, m);
  const vt = owned(b, v);
  if (mt === null || vt === null) return false;
  const pt = owned(b, p); // null: shared, replaced below instead of overwritten
  const o = handles(b);
  const { lr, b1, b2, eps, c1, c2, wd } = h;
  // m/(sqrt(v)/s + eps) = s·m/(sqrt(v) + s·eps) with s = sqrt(c2): one pass less than PyTorch's form
  const s = Math.sqrt(c2);
  b.sizeHint(p.size);
  const replacement = b.scoped(() => {
    const gt = b.t(g);
    b.call(o.mulS_, [mt, b1]); // (lerp_ would be one pass, but ATen 1.13's is scalar code: 6x slower)
    b.call(o.add_, [mt, gt, 1 - b1]);
    b.call(o.mulS_, [vt, b2]);
    b.call(o.addcmul_, [vt, gt, gt, 1 - b2]);
    const denom = b.call(o.sqrt, [vt]) as NTensor;
    b.call(o.addS_, [denom, s * eps]);
    if (pt !== null) {
      if (wd > 0) b.call(o.mulS_, [pt, 1 - lr * wd]);
      b.call(o.addcdiv_, [pt, mt, denom, (-lr * s) / c1]);
      return null;
    }
    const decayed = wd > 0 ? (b.call(o.mulS, [b.t(p), 1 - lr * wd]) as NTensor) : b.t(p);
    return b.out(b.call(o.addcdiv, [decayed, mt, denom, (-lr * s) / c1]) as NTensor, 'float32');
  });
  // m, v (and p when updated in place) were written: a bf16 copy derived from them (precision.ts) is stale
  b.written(m.dataId);
  b.written(v.dataId);
  if (replacement === null) b.written(p.dataId);
  if (replacement !== null) {
    const value = engine().makeTensorFromTensorInfo(replacement);
    p.assign(value);
    value.dispose();
  }
  return true;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The native tensor of t when nothing else shares its memory (tfjs dataId or libtorch storage), else null. */
function owned(b: TorchBackend, t: Tensor): NTensor | null {
  const n = b.t(t); // first: moves the data to this backend if it lives elsewhere
  // the backend's refCount counts every tfjs tensor on this dataId (clones and variables share dataIds)
  if (b.refCount(t.dataId) !== 1) return null;
  return b.N.unique(n) ? n : null;
}

type Op = 'add_' | 'mulS_' | 'mulS' | 'addcmul_' | 'sqrt' | 'addS_' | 'addcdiv_' | 'addcdiv';
const SCHEMAS: Record<Op, [string, string]> = {
  mulS_: ['aten::mul_', 'Scalar'],
  mulS: ['aten::mul', 'Scalar'],
  add_: ['aten::add_', 'Tensor'],
  addcmul_: ['aten::addcmul_', ''],
  sqrt: ['aten::sqrt', ''],
  addS_: ['aten::add_', 'Scalar'],
  addcdiv_: ['aten::addcdiv_', ''],
  addcdiv: ['aten::addcdiv', ''],
};

/** ATen operator handles, resolved once per backend instance. */
const resolved = new WeakMap<TorchBackend, Record<Op, number>>();
function handles(b: TorchBackend): Record<Op, number> {
  let h = resolved.get(b);
  if (h === undefined) {
    h = {} as Record<Op, number>;
    for (const k of Object.keys(SCHEMAS) as Op[]) h[k] = b.N.op(...SCHEMAS[k]);
    resolved.set(b, h);
  }
  return h;
}

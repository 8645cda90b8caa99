// The cpu fallback: a tfjs kernel with no ATen mapping (or an unusual attribute combination) runs
// tfjs-backend-cpu's own implementation on a private MathBackendCPU; inputs are copied in and
// outputs copied back. Used for rare kernels only (see docs/backend.md for the list).
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { getKernel } from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { TorchBackend } from './backend.js';

let cpu: MathBackendCPU | null = null;
/** How many times each kernel ran on the fallback (for diagnostics and tests). */
export const fallbackCounts = new Map<string, number>();

export function hasCpuKernel(name: string): boolean {
  return getKernel(name, 'cpu') !== undefined;
}

export function runOnCpu(
  name: string,
  b: TorchBackend,
  inputs: Record<string, TensorInfo | TensorInfo[] | undefined>,
  attrs: NamedAttrMap,
): TensorInfo | TensorInfo[] {
  const k = getKernel(name, 'cpu');
  if (k === undefined) throw new Error(`torch backend: kernel '${name}' is not implemented`);
  fallbackCounts.set(name, (fallbackCounts.get(name) ?? 0) + 1);
  if (!cpu) {
    cpu = new MathBackendCPU();
    // its first write prints tfjs's "install tfjs-node" banner; this private instance is not the user's backend
    (cpu as unknown as { firstUse: boolean }).firstUse = false;
  }
  const c = cpu;
  const created: object[] = [];
  const copy = (info: TensorInfo): TensorInfo => {
    const dataId = c.write(b.readSync(info.dataId), info.shape, info.dtype);
    created.push(dataId);
    // cpu kernels sometimes read tensor fields (rank, size) that TensorInfo lacks
    return {
      dataId,
      shape: info.shape,
      dtype: info.dtype,
      rank: info.shape.length,
      size: info.shape.reduce((p, q) => p * q, 1),
    } as TensorInfo;
  };
  // inputs may be an array (Concat, AddN) and may hold arrays of tensors (ragged kernels)
  const cpuInputs = (Array.isArray(inputs) ? [] : {}) as Record<string, unknown>;
  for (const [key, info] of Object.entries(inputs)) {
    if (info == null) continue;
    cpuInputs[key] = Array.isArray(info) ? (info as TensorInfo[]).map(copy) : copy(info);
  }
  try {
    const res = k.kernelFunc({ inputs: cpuInputs as never, attrs, backend: c });
    const outs = Array.isArray(res) ? res : [res as TensorInfo];
    const mine = outs.map((o) => {
      const info = b.writeInfo(c.readSync(o.dataId), o.shape, o.dtype);
      if (!created.includes(o.dataId)) c.disposeData(o.dataId, true);
      return info;
    });
    return Array.isArray(res) ? mine : mine[0];
  } finally {
    for (const id of created) c.disposeData(id, true);
  }
}

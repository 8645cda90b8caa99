// The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}, then the
// raw little-endian tensor bytes; offsets are relative to the byte after the header.
import { writeFileAtomic } from './atomic.js';
import { readRegularFile } from './guard.js';
import {
  BYTES,
  decodeSafetensors,
  SAFETENSORS_LIMITS,
  type SafeTensor,
  type SafetensorsLimits,
} from './safetensors-core.js';

export {
  decodeSafetensors,
  float16ToFloat32,
  float32ToFloat16,
  SAFETENSORS_LIMITS,
  type DType,
  type SafeTensor,
  type SafetensorsLimits,
  type TensorData,
} from './safetensors-core.js';

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Serialize tensors (+ optional string metadata) to safetensors bytes. Tensors are laid out in name order. */
export function encodeSafetensors(
  tensors: Map<string, SafeTensor> | Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): Buffer {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
  );
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error("a tensor cannot be named '__metadata__'");
    const bytes = numel(t.shape) * BYTES[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new Error(
        `tensor '${name}': shape [${t.shape}] ${t.dtype} needs ${bytes} bytes, data has ${t.data.byteLength}`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so the data starts 8-byte aligned (as the reference writer does)
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const hbytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + hbytes.length + offset);
  out.writeBigUInt64LE(BigInt(hbytes.length), 0);
  hbytes.copy(out, 8);
  let pos = 8 + hbytes.length;
  for (const [, t] of entries) {
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    src.copy(out, pos); // typed arrays are little-endian on every platform Node runs on
    pos += src.length;
  }
  return out;
}

export function writeSafetensors(
  file: string,
  tensors: Map<string, SafeTensor> | Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/** Read a safetensors file: a regular file (inside `within` when given), size-capped before reading. */
export function readSafetensors(
  file: string,
  opts: { within?: string; limits?: Partial<SafetensorsLimits> } = {},
): {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
} {
  const maxBytes = opts.limits?.maxFileBytes ?? SAFETENSORS_LIMITS.maxFileBytes;
  const buf = readRegularFile(file, {
    maxBytes,
    ...(opts.within !== undefined ? { within: opts.within } : {}),
  });
  return decodeSafetensors(buf, file, opts.limits);
}

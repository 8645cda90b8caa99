// The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}, then the
// raw little-endian tensor bytes; offsets are relative to the byte after the header. This file has no Node
// imports (the browser build parses checkpoints with it); safetensors.ts adds encoding and files.
import { UserError } from '../core/errors.js';
import { oneLine } from './oneline.js';

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
export type TensorData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

export interface SafeTensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export const BYTES: Record<DType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

function view(dtype: DType, buf: ArrayBuffer): TensorData {
  switch (dtype) {
    case 'F64':
      return new Float64Array(buf);
    case 'F32':
      return new Float32Array(buf);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buf);
    case 'I64':
      return new BigInt64Array(buf);
    case 'I32':
      return new Int32Array(buf);
    case 'I16':
      return new Int16Array(buf);
    case 'I8':
      return new Int8Array(buf);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buf);
  }
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Bounds applied when parsing untrusted safetensors data. */
export interface SafetensorsLimits {
  /** largest accepted header (the reference implementation's limit is 100 MB) */
  maxHeaderBytes: number;
  /** largest accepted file */
  maxFileBytes: number;
  /** most tensors in one file */
  maxTensors: number;
  /** largest rank, and largest single dimension */
  maxRank: number;
  maxDim: number;
}

export const SAFETENSORS_LIMITS: SafetensorsLimits = {
  maxHeaderBytes: 100 * 1024 * 1024,
  maxFileBytes: 2 * 1024 * 1024 * 1024,
  maxTensors: 100_000,
  maxRank: 8,
  maxDim: 2 ** 31 - 1,
};

/**
 * Parse safetensors bytes, validating everything against the buffer's size before allocating: header
 * length, dtype (unsupported ones named), shape (rank, dimensions, product x dtype size = the byte span),
 * offsets inside the data, no overlap, no gaps. A foreign, truncated or crafted file gives a one-line
 * UserError.
 */
export function decodeSafetensors(
  buf: Uint8Array,
  source = 'input',
  limits: Partial<SafetensorsLimits> = {},
): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  const L = { ...SAFETENSORS_LIMITS, ...limits };
  const bad = (why: string) => new UserError(`${source} is not a valid safetensors file: ${why}`);
  if (buf.length < 8) throw bad(`only ${buf.length} bytes`);
  if (buf.length > L.maxFileBytes) throw bad(`${buf.length} bytes, more than the limit of ${L.maxFileBytes}`);
  const b = buf;
  const n64 = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true);
  if (n64 > BigInt(b.length - 8))
    throw bad(`header length ${n64} exceeds the file size ${b.length} (truncated or foreign file)`);
  if (n64 > BigInt(L.maxHeaderBytes))
    throw bad(`header length ${n64} is more than the limit of ${L.maxHeaderBytes}`);
  const n = Number(n64);
  if (n < 2) throw bad('empty header');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n)));
  } catch {
    throw bad('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw bad('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = b.length - dataStart;
  const entries = Object.entries(header as Record<string, unknown>);
  const count = entries.filter(([k]) => k !== '__metadata__').length;
  if (count > L.maxTensors) throw bad(`${count} tensors, more than the limit of ${L.maxTensors}`);
  let metadata: Record<string, string> = {};
  const parsed: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of entries) {
    const q = `'${oneLine(name, 60)}'`;
    if (name === '__metadata__') {
      if (
        typeof v !== 'object' ||
        v === null ||
        Array.isArray(v) ||
        Object.values(v).some((s) => typeof s !== 'string')
      ) {
        throw bad('__metadata__ must map strings to strings');
      }
      metadata = v as Record<string, string>;
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`tensor ${q} is not an object`);
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !Object.hasOwn(BYTES, e.dtype)) {
      throw bad(
        `tensor ${q} has unknown dtype '${oneLine(e.dtype, 20)}' (unsupported; supported: ${Object.keys(BYTES).join(', ')})`,
      );
    }
    const dtype = e.dtype as DType;
    if (
      !Array.isArray(e.shape) ||
      e.shape.length > L.maxRank ||
      e.shape.some((d) => !Number.isSafeInteger(d) || d < 0 || d > L.maxDim)
    )
      throw bad(`tensor ${q} has a bad shape (rank <= ${L.maxRank}, integer dimensions <= ${L.maxDim})`);
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      off[1] < off[0]
    ) {
      throw bad(`tensor ${q} has bad data_offsets`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataLen)
      throw bad(`tensor ${q} ends at byte ${end} but the data has ${dataLen} bytes (truncated file)`);
    // the product is compared with a span already known to fit in the file, so it cannot ask for more
    const shape = e.shape as number[];
    let bytes = BYTES[dtype];
    for (const d of shape) bytes = bytes * d > dataLen ? Infinity : bytes * d;
    if (shape.includes(0)) bytes = 0;
    if (end - begin !== bytes) throw bad(`tensor ${q}: data_offsets do not match shape and dtype`);
    parsed.push({ name, dtype, shape, begin, end });
  }
  const spans = parsed.map((p) => [p.begin, p.end] as [number, number]).sort((p, q) => p[0] - q[0]);
  let pos = 0;
  for (const [s, e] of spans) {
    if (s !== pos) throw bad('tensor data overlaps or leaves gaps');
    pos = e;
  }
  if (pos !== dataLen) throw bad(`${dataLen - pos} trailing bytes after the tensor data`);
  const tensors = new Map<string, SafeTensor>();
  for (const { name, dtype, shape, begin, end } of parsed) {
    // copy: the data may not be aligned for a typed-array view
    const ab = new ArrayBuffer(end - begin);
    new Uint8Array(ab).set(b.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { dtype, shape, data: view(dtype, ab) });
  }
  return { tensors, metadata };
}

/** IEEE 754 half-precision bits (safetensors F16) to float32 values. */
export function float16ToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i]!;
    const sign = x & 0x8000 ? -1 : 1;
    const e = (x >> 10) & 0x1f;
    const m = x & 0x3ff;
    out[i] =
      e === 0
        ? sign * m * 2 ** -24
        : e === 31
          ? m
            ? NaN
            : sign * Infinity
          : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** float32 values to the nearest IEEE 754 half-precision bits (round to nearest even; overflow to Inf). */
export function float32ToFloat16(f: Float32Array): Uint16Array {
  const out = new Uint16Array(f.length);
  const fb = new Float32Array(1);
  const ib = new Uint32Array(fb.buffer);
  for (let i = 0; i < f.length; i++) {
    fb[0] = f[i]!;
    const x = ib[0]!;
    const sign = (x >>> 16) & 0x8000;
    const e = (x >>> 23) & 0xff;
    let m = x & 0x7fffff;
    if (e === 0xff) {
      out[i] = sign | 0x7c00 | (m ? 0x200 : 0);
      continue;
    }
    let he = e - 127 + 15;
    if (he >= 31) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (he <= 0) {
      // subnormal half (or zero): shift the implicit bit in, round to nearest even
      if (he < -10) {
        out[i] = sign;
        continue;
      }
      m |= 0x800000;
      const shift = 14 - he;
      let hm = m >>> shift;
      const rem = m & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && hm & 1)) hm++;
      out[i] = sign | hm;
      continue;
    }
    let hm = m >>> 13;
    const rem = m & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && hm & 1)) {
      hm++;
      if (hm === 0x400) {
        hm = 0;
        he++;
      }
    }
    out[i] = he >= 31 ? sign | 0x7c00 : sign | (he << 10) | hm;
  }
  return out;
}

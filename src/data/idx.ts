// IDX file format (LeCun's MNIST format): magic [0, 0, type, ndims], ndims big-endian uint32 sizes, data.
// Only unsigned bytes (type 0x08) are used by MNIST and Fashion-MNIST; that is all we accept.
import * as zlib from 'node:zlib';
import { UserError } from '../core/model.js';
import { oneLine, readRegularFile } from '../io/guard.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/** Parse an idx buffer. `file` names the source in error messages; `expectRank` checks the rank. */
export function parseIdx(buf: Uint8Array, file: string, expectRank?: number): IdxArray {
  if (buf.length < 4) throw new UserError(`${file}: not an idx file (only ${buf.length} bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) throw new UserError(`${file}: not an idx file (bad magic number)`);
  if (buf[2] !== UBYTE) {
    throw new UserError(`${file}: idx data type 0x${buf[2]!.toString(16)} unsupported (only unsigned byte)`);
  }
  const rank = buf[3]!;
  if (rank === 0 || (expectRank !== undefined && rank !== expectRank)) {
    throw new UserError(`${file}: idx file has ${rank} dimensions, expected ${expectRank ?? '>= 1'}`);
  }
  const header = 4 + 4 * rank;
  if (buf.length < header) throw new UserError(`${file}: truncated idx header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.length < header + size) {
    throw new UserError(`${file}: truncated idx file (${buf.length - header} of ${size} data bytes)`);
  }
  if (buf.length > header + size) {
    throw new UserError(`${file}: idx file has ${buf.length - header - size} trailing bytes`);
  }
  return { dims, data: buf.subarray(header, header + size) };
}

/** Largest idx file read (after gunzip). */
export const MAX_IDX_BYTES = 1024 * 1024 * 1024;

/** Read an idx file, gunzipping it when the name ends in .gz. */
export function readIdx(file: string, expectRank?: number): IdxArray {
  let buf = readRegularFile(file, { maxBytes: MAX_IDX_BYTES });
  if (file.endsWith('.gz')) {
    try {
      buf = zlib.gunzipSync(buf, { maxOutputLength: MAX_IDX_BYTES });
    } catch (e) {
      throw new UserError(`${file}: corrupt or oversized gzip data (${oneLine((e as Error).message)})`);
    }
  }
  return parseIdx(buf, file, expectRank);
}

/** Encode an idx ubyte array (used by scripts/make-fixture.mjs and tests). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`encodeIdx: dims ${dims} do not match ${data.length} bytes`);
  const out = new Uint8Array(4 + 4 * dims.length + size);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

// The safetensors parser's bounds: header size, tensor count, rank and dimensions, each refused from the
// header alone with a one-line UserError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/core/model.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../src/io/safetensors.js';

const f32 = (shape: number[]): SafeTensor => ({
  dtype: 'F32',
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});
const err = (re: RegExp) => (e: unknown) =>
  e instanceof UserError && !e.message.includes('\n') && re.test(e.message);

test('safetensors limits: header bytes, tensor count, rank, dimension, file size', () => {
  const buf = encodeSafetensors({ a: f32([2, 3]), b: f32([4]) });
  assert.equal(decodeSafetensors(buf).tensors.size, 2);
  assert.throws(
    () => decodeSafetensors(buf, 'x', { maxHeaderBytes: 16 }),
    err(/header length \d+ is more than the limit of 16/),
  );
  assert.throws(
    () => decodeSafetensors(buf, 'x', { maxTensors: 1 }),
    err(/2 tensors, more than the limit of 1/),
  );
  assert.throws(
    () => decodeSafetensors(buf, 'x', { maxRank: 1 }),
    err(/tensor 'a' has a bad shape \(rank <= 1/),
  );
  assert.throws(() => decodeSafetensors(buf, 'x', { maxDim: 3 }), err(/tensor 'b' has a bad shape/));
  assert.throws(() => decodeSafetensors(buf, 'x', { maxFileBytes: 10 }), err(/more than the limit of 10/));
  // a zero-size tensor with an absurd other dimension is refused by the dimension bound, not allocated
  const z = encodeSafetensors({ a: f32([0, 5]) });
  const n = Number(z.readBigUInt64LE(0));
  const h = z
    .subarray(8, 8 + n)
    .toString()
    .replace('[0,5]', '[0,1e300]');
  const crafted = Buffer.concat([Buffer.alloc(8), Buffer.from(h)]);
  crafted.writeBigUInt64LE(BigInt(h.length));
  assert.throws(() => decodeSafetensors(crafted), err(/bad shape/));
});

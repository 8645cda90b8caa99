import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../../src/core/model.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
  type SafeTensor,
} from '../../src/io/safetensors.js';
import { torchRun, torchUnavailable } from '../util/torchref.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-st-'));

function sample(): Map<string, SafeTensor> {
  const f = new Float32Array(2 * 3 * 4);
  for (let i = 0; i < f.length; i++) f[i] = Math.sin(i) * 10 ** ((i % 7) - 3);
  f[5] = -0;
  f[6] = 1e-40; // subnormal
  return new Map<string, SafeTensor>([
    ['enc/dense0/kernel', { dtype: 'F32', shape: [2, 3, 4], data: f }],
    ['optim/nll/m/mu', { dtype: 'F32', shape: [3], data: new Float32Array([1.5, -2.25, 3e8]) }],
    ['steps', { dtype: 'I32', shape: [2], data: new Int32Array([7, -2147483648]) }],
    ['scalar', { dtype: 'F64', shape: [], data: new Float64Array([Math.PI]) }],
    ['mask', { dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 255, 3, 4]) }],
    ['empty', { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) }],
  ]);
}

test('safetensors round-trip preserves names, dtypes, shapes, values and metadata', () => {
  const t = sample();
  const buf = encodeSafetensors(t, { format: 'genmodels-checkpoint', note: 'ü' });
  assert.equal((8 + Number(buf.readBigUInt64LE(0))) % 8, 0, 'data starts 8-byte aligned');
  const back = decodeSafetensors(buf);
  assert.deepEqual(back.metadata, { format: 'genmodels-checkpoint', note: 'ü' });
  assert.deepEqual([...back.tensors.keys()].sort(), [...t.keys()].sort());
  for (const [k, v] of t) {
    const b = back.tensors.get(k)!;
    assert.equal(b.dtype, v.dtype);
    assert.deepEqual(b.shape, v.shape);
    assert.deepEqual(Array.from(b.data as Float32Array), Array.from(v.data as Float32Array));
    assert.ok(Object.is((back.tensors.get('enc/dense0/kernel')!.data as Float32Array)[5], -0));
  }
});

test('a file written here loads in PyTorch with equal values', { skip: torchUnavailable() ?? false }, () => {
  const file = path.join(tmp(), 'model.safetensors');
  const t = sample();
  writeSafetensors(file, t, { step: '12' });
  // parse the format independently in Python (json + struct + torch.frombuffer)
  const out = torchRun<{
    meta: Record<string, string>;
    tensors: Record<string, { dtype: string; shape: number[]; values: number[] }>;
  }>(
    `
import struct
DT = {'F32': torch.float32, 'F64': torch.float64, 'I32': torch.int32, 'U8': torch.uint8}
raw = open(inp['file'], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
meta = header.pop('__metadata__', {})
base = 8 + n
tensors = {}
for name, e in header.items():
    b, en = e['data_offsets']
    buf = bytearray(raw[base + b: base + en])
    x = torch.frombuffer(buf, dtype=DT[e['dtype']]) if en > b else torch.zeros(0, dtype=DT[e['dtype']])
    x = x.reshape(e['shape'])
    tensors[name] = {'dtype': str(x.dtype), 'shape': list(x.shape), 'values': [float(v) for v in x.flatten().tolist()]}
out = {'meta': meta, 'tensors': tensors}`,
    { file },
  );
  assert.deepEqual(out.meta, { step: '12' });
  const torchDtype = {
    F32: 'torch.float32',
    F64: 'torch.float64',
    I32: 'torch.int32',
    U8: 'torch.uint8',
  } as Record<string, string>;
  for (const [k, v] of t) {
    const p = out.tensors[k]!;
    assert.ok(p, `torch sees ${k}`);
    assert.equal(p.dtype, torchDtype[v.dtype]);
    assert.deepEqual(p.shape, v.shape);
    assert.deepEqual(p.values, Array.from(v.data as Float32Array, Number), k);
  }
  // and the reverse: a file PyTorch writes in the same layout is read here
  const file2 = path.join(tmp(), 'from-torch.safetensors');
  torchRun(
    `
import struct
x = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 7
y = torch.tensor([3, -4], dtype=torch.int32)
hdr = {'x': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [0, 24]}, 'y': {'dtype': 'I32', 'shape': [2], 'data_offsets': [24, 32]}}
h = json.dumps(hdr).encode()
open(inp['file'], 'wb').write(struct.pack('<Q', len(h)) + h + x.numpy().tobytes() + y.numpy().tobytes())
out = 0`,
    { file: file2 },
  );
  const r = readSafetensors(file2);
  assert.deepEqual(
    Array.from(r.tensors.get('x')!.data as Float32Array),
    Array.from(new Float32Array([0, 1, 2, 3, 4, 5].map((v) => v / 7))),
  );
  assert.deepEqual(Array.from(r.tensors.get('y')!.data as Int32Array), [3, -4]);
});

test('truncated, random and malformed files give one-line UserErrors', () => {
  const good = encodeSafetensors(sample());
  const isUserErr = (re: RegExp) => (e: unknown) =>
    e instanceof UserError && re.test((e as Error).message) && !(e as Error).message.includes('\n');
  for (const cut of [3, 8, 20, good.length - 1])
    assert.throws(() => decodeSafetensors(good.subarray(0, cut)), isUserErr(/not a valid safetensors file/));
  assert.throws(() => decodeSafetensors(good.subarray(0, good.length - 1)), isUserErr(/truncated/));
  for (let i = 0; i < 20; i++)
    assert.throws(
      () => decodeSafetensors(randomBytes(64 + i * 13)),
      isUserErr(/not a valid safetensors file/),
    );
  const bad = (h: object, data = 0) => {
    const j = Buffer.from(JSON.stringify(h));
    const b = Buffer.alloc(8 + j.length + data);
    b.writeBigUInt64LE(BigInt(j.length));
    j.copy(b, 8);
    return b;
  };
  assert.throws(
    () => decodeSafetensors(bad({ a: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, 4)),
    isUserErr(/unknown dtype/),
  );
  assert.throws(
    () => decodeSafetensors(bad({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4)),
    isUserErr(/do not match/),
  );
  assert.throws(
    () => decodeSafetensors(bad({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8)),
    isUserErr(/trailing/),
  );
  assert.throws(() => decodeSafetensors(bad([1, 2])), isUserErr(/not a JSON object/));
  const file = path.join(tmp(), 'x.safetensors');
  fs.writeFileSync(file, 'PK\x03\x04 this is a zip, not a safetensors file');
  assert.throws(() => readSafetensors(file), isUserErr(/x\.safetensors is not a valid safetensors file/));
  assert.throws(() => readSafetensors(path.join(tmp(), 'missing')), isUserErr(/cannot read/));
});

// Seeded mutations of a valid checkpoint folder and of a valid CSV, for the fuzz tests.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../src/core/rng.js';

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;

/** values a field may be replaced with: wrong types, out-of-range numbers, paths, control characters */
export const VALUES: readonly unknown[] = [
  -1,
  0,
  1,
  3,
  0.5,
  -0.0,
  1e308,
  2 ** 31,
  2 ** 53 + 2,
  '5',
  '',
  'x\ny\u001b[2J',
  'z'.repeat(5000),
  null,
  true,
  false,
  [],
  [1, 2],
  {},
  { a: { b: [1] } },
  '../model.safetensors',
  '../../../etc/passwd',
  '/etc/passwd',
  '/dev/zero',
  '/tmp/../etc/hosts.csv',
  'model.safetensors',
  'config.json',
  'F16',
  'image',
  'csv',
];

const DTYPES = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U8',
  'BOOL',
  'U32',
  'F8_E4M3',
  'C64',
  '',
];

type Json = unknown;

/** every path into a JSON value (objects and arrays), excluding those under `skip` prefixes */
function paths(v: Json, skip: string[][], prefix: (string | number)[] = []): (string | number)[][] {
  if (skip.some((s) => s.length <= prefix.length && s.every((k, i) => prefix[i] === k))) return [];
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((e, i) => out.push(...paths(e, skip, [...prefix, i])));
  else if (v !== null && typeof v === 'object')
    for (const [k, e] of Object.entries(v)) out.push(...paths(e, skip, [...prefix, k]));
  return out;
}

function setAt(root: Json, p: (string | number)[], value: Json | undefined): Json {
  if (p.length === 0) return value;
  let o = root as Record<string | number, Json>;
  for (const k of p.slice(0, -1)) o = o[k] as Record<string | number, Json>;
  const last = p[p.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(o)) o.splice(Number(last), 1);
    else delete o[last];
  } else o[last] = value;
  return root;
}

function mutateJson(rng: Rng, v: Json, skip: string[][]): Json {
  const root = structuredClone(v);
  const ps = paths(root, skip).filter((p) => p.length > 0);
  const p = pick(rng, ps);
  const r = rng.next();
  if (r < 0.15) return setAt(root, p, undefined);
  if (r < 0.25)
    return setAt(root, [...p.slice(0, -1), `extra${Math.floor(rng.next() * 9)}`], pick(rng, VALUES));
  return setAt(root, p, pick(rng, VALUES));
}

/** encode a safetensors header + data without any validation (the mutated header may be nonsense) */
function rawSafetensors(header: unknown, data: Buffer, lengthDelta = 0): Buffer {
  const j = Buffer.from(JSON.stringify(header));
  const b = Buffer.alloc(8 + j.length + data.length);
  b.writeBigUInt64LE(BigInt(Math.max(0, j.length + lengthDelta)));
  j.copy(b, 8);
  data.copy(b, 8 + j.length);
  return b;
}

function mutateWeights(rng: Rng, buf: Buffer): Buffer {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as Record<string, Record<string, unknown>>;
  const data = buf.subarray(8 + n);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(rng, names);
  const t = header[name]!;
  const r = rng.next();
  if (r < 0.15) t['dtype'] = pick(rng, DTYPES);
  else if (r < 0.35) {
    const shape = [...(t['shape'] as number[])];
    const k = rng.next();
    if (k < 0.25) shape.push(pick(rng, [1, 2, 2 ** 31 - 1, 0]));
    else if (k < 0.5) shape.pop();
    else if (k < 0.75 && shape.length) shape[0] = pick(rng, [0, 1, 2, 2 ** 20, 2 ** 40, -1, 0.5]);
    else t['shape'] = pick(rng, VALUES);
    if (k < 0.75) t['shape'] = shape;
  } else if (r < 0.55) {
    const off = [...(t['data_offsets'] as number[])];
    const k = rng.next();
    if (k < 0.4) off[Math.floor(rng.next() * 2)]! += pick(rng, [-4, -1, 1, 4, 1e9, 2 ** 53]);
    else if (k < 0.6) off.reverse();
    else if (k < 0.8) t['data_offsets'] = pick(rng, VALUES);
    if (k < 0.6) t['data_offsets'] = off;
  } else if (r < 0.62) delete header[name];
  else if (r < 0.68) {
    // rename into another tensor's slot or a reserved prefix
    const to = pick(rng, [`ema/${name}`, `optim/x/m/${name}`, `state/${name}`, `${name}x`, pick(rng, names)]);
    header[to] = t;
    delete header[name];
  } else if (r < 0.72) header['__metadata__'] = pick(rng, VALUES) as Record<string, unknown>;
  else if (r < 0.8) return rawSafetensors(header, data, pick(rng, [-1, 1, 8, 1e6, -1e6]));
  else if (r < 0.9) {
    // flip bytes anywhere
    const b = Buffer.from(buf);
    for (let i = 0; i < 1 + Math.floor(rng.next() * 4); i++)
      b[Math.floor(rng.next() * b.length)] = Math.floor(rng.next() * 256);
    return b;
  } else {
    return buf.subarray(0, Math.floor(rng.next() * buf.length));
  }
  return rawSafetensors(header, data);
}

/**
 * Write a mutated copy of the checkpoint folder `src` into `dst` (created). Half the mutations change the
 * weights file (and, usually, the recorded byte count with it), half change config.json. Fields under
 * `skipConfig` prefixes are left alone (the model's own options, which the model's schema validates).
 */
export function mutateCheckpoint(rng: Rng, src: string, dst: string, skipConfig: string[][]): string {
  fs.mkdirSync(dst, { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
  let weights: Buffer = fs.readFileSync(path.join(src, 'model.safetensors'));
  let what: string;
  let out = cfg;
  if (rng.next() < 0.5) {
    weights = mutateWeights(rng, weights);
    if (rng.next() < 0.85) cfg.weights.bytes = weights.length;
    what = 'weights';
  } else {
    out = mutateJson(rng, cfg, skipConfig);
    what = 'config';
  }
  fs.writeFileSync(path.join(dst, 'model.safetensors'), weights);
  fs.writeFileSync(path.join(dst, 'config.json'), out === undefined ? '' : JSON.stringify(out));
  return what;
}

const CSV_PIECES = [
  ',',
  '\n',
  '"',
  '""',
  'nan',
  'Infinity',
  '-',
  '1e400',
  '\u0000',
  '\u001b[2J',
  'é',
  ' ',
  '\r\n',
  '9999999999999',
  'label',
  'z'.repeat(300),
  '0',
  '-3',
];

/** a mutated CSV text: characters and cells inserted, deleted or replaced */
export function mutateCsv(rng: Rng, text: string): string {
  let s = text;
  const k = 1 + Math.floor(rng.next() * 3);
  for (let i = 0; i < k; i++) {
    const at = Math.floor(rng.next() * (s.length + 1));
    const r = rng.next();
    if (r < 0.4) s = s.slice(0, at) + pick(rng, CSV_PIECES) + s.slice(at);
    else if (r < 0.7) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rng.next() * 5));
    else if (r < 0.85) s = s.slice(0, at) + pick(rng, CSV_PIECES) + s.slice(at + 1);
    else s = s.slice(0, at);
  }
  return s;
}

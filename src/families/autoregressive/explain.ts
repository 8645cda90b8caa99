// Parameter counts of the factorizations of a distribution over n binary pixels (the chain rule
// p(x) = prod_i p(x_i | x_<i) holds for all of them; they differ in how each conditional is parameterized):
//   full joint       one probability per configuration, minus normalization:        2^n - 1
//   independent      p(x) = prod_i p(x_i), one Bernoulli each:                        n
//   Markov chain     p(x_i | x_{i-1}), 1 for x_1, 2 per later pixel:                  1 + 2 (n - 1) = 2n - 1
//   learned          NADE / MADE / PixelCNN / ... : the variables of the real models, built for n pixels
//   (full conditional tables p(x_i | x_<i) without sharing need 2^(i-1) each: sum = 2^n - 1 again)
import { modelEntry } from '../../core/model.js';
import type { DataSpec } from '../../data/spec.js';
import type { Autoregressive } from './base.js';

export interface CountRow {
  name: string;
  /** exact count as a decimal string (2^n - 1 can exceed 2^53) */
  count: string;
  /** weights left free by masks, when smaller than count */
  free?: string;
  how: string;
}

/** 2^n - 1 exactly (BigInt), shown in full up to 30 digits, else as mantissa x 10^exponent */
function fullJoint(n: number): string {
  const s = ((1n << BigInt(n)) - 1n).toString();
  return s.length <= 30 ? s : `${s[0]}.${s.slice(1, 4)}e${s.length - 1}`;
}

/** the spec of an n-pixel binary image: square when n is a square, else one row */
function imageSpec(n: number): DataSpec {
  const side = Math.round(Math.sqrt(n));
  const shape = side * side === n ? [side, side, 1] : [1, n, 1];
  return { kind: 'image', shape, domain: 'binary' };
}

export function explainCounts(
  n: number,
  kinds = ['nade', 'made', 'pixelcnn', 'gated-pixelcnn', 'transformer'],
): CountRow[] {
  const rows: CountRow[] = [
    { name: 'full joint', count: fullJoint(n), how: '2^n - 1 probabilities' },
    { name: 'independent', count: String(n), how: 'n Bernoulli parameters' },
    { name: 'Markov chain', count: String(2 * n - 1), how: 'p(x1) + 2 per p(x_i | x_{i-1}): 2n - 1' },
  ];
  const spec = imageSpec(n);
  for (const kind of kinds) {
    const e = modelEntry(kind);
    const m = e.create({ ...e.defaults }, spec, 0) as Autoregressive;
    try {
      const { total, free } = m.parameterCount();
      const cfg = Object.entries(m.config)
        .filter(([k]) => !['output', 'mixtures', 'conditional', 'maskSeed'].includes(k))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' ');
      rows.push({
        name: kind,
        count: String(total),
        ...(free < total ? { free: String(free) } : {}),
        how: `default config: ${cfg}`,
      });
    } finally {
      m.dispose();
    }
  }
  return rows;
}

export function explainTable(n: number): string {
  const rows = explainCounts(n);
  const spec = imageSpec(n);
  const lines = [
    `Parameters of p(x) for n = ${n} binary pixels (learned models built as ${spec.shape.join('x')} images):`,
    '',
    `${'factorization'.padEnd(16)} ${'parameters'.padStart(14)} ${'free (masks)'.padStart(14)}  how`,
  ];
  for (const r of rows)
    lines.push(`${r.name.padEnd(16)} ${r.count.padStart(14)} ${(r.free ?? '').padStart(14)}  ${r.how}`);
  return lines.join('\n');
}

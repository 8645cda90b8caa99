// Model options as one zod object schema: what a field accepts in words (help texts and error messages read
// the schema, so they cannot drift from it), one-line errors for invalid configs, and the nearest known key.
import { z } from 'zod';
import { oneLine } from '../io/oneline.js';
import { UserError } from './errors.js';

type AnySchema = z.core.$ZodType;

function def(s: AnySchema): Record<string, unknown> & { type: string } {
  return s._zod.def as unknown as Record<string, unknown> & { type: string };
}

/** The schema under default / optional / readonly wrappers (refinements stay on it). */
function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (;;) {
    const d = def(cur);
    if (d.type === 'default' || d.type === 'optional' || d.type === 'readonly' || d.type === 'prefault')
      cur = d.innerType as AnySchema;
    else return cur;
  }
}

interface NumberChecks {
  int: boolean;
  min?: { value: number; inclusive: boolean };
  max?: { value: number; inclusive: boolean };
  custom: boolean;
}

function numberChecks(s: AnySchema): NumberChecks {
  const d = def(s);
  const out: NumberChecks = { int: d.format === 'safeint' || d.format === 'int32', custom: false };
  for (const c of (d.checks as AnySchema[] | undefined) ?? []) {
    const cd = def(c) as unknown as { check: string; value?: number; inclusive?: boolean; format?: string };
    if (cd.check === 'greater_than') out.min = { value: cd.value!, inclusive: !!cd.inclusive };
    else if (cd.check === 'less_than') out.max = { value: cd.value!, inclusive: !!cd.inclusive };
    else if (cd.check === 'number_format') out.int ||= cd.format === 'safeint' || cd.format === 'int32';
    else if (cd.check === 'custom') out.custom = true;
  }
  // z.int() carries its safe-integer range as bounds: not worth printing
  if (out.max && out.max.value >= Number.MAX_SAFE_INTEGER) delete out.max;
  if (out.min && out.min.value <= Number.MIN_SAFE_INTEGER) delete out.min;
  return out;
}

/** What a schema accepts, in words: "integer >= 1", "'auto' or integer >= 1", "one of mlp, conv". */
export function describeType(s: AnySchema): string {
  const inner = unwrap(s);
  const d = def(inner);
  switch (d.type) {
    case 'number': {
      const c = numberChecks(inner);
      const parts = [c.int ? 'integer' : 'number'];
      if (c.min) parts.push(`${c.min.inclusive ? '>=' : '>'} ${c.min.value}`);
      if (c.max) parts.push(`${c.max.inclusive ? '<=' : '<'} ${c.max.value}`);
      return parts.join(' ');
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${Object.values(d.entries as Record<string, string>).join(', ')}`;
    case 'literal':
      return (d.values as unknown[]).map((v) => JSON.stringify(v).replace(/"/g, "'")).join(' or ');
    case 'union':
      return (d.options as AnySchema[]).map(describeType).join(' or ');
    case 'array': {
      let min = 0;
      for (const c of (d.checks as AnySchema[] | undefined) ?? []) {
        const cd = def(c) as unknown as { check: string; minimum?: number };
        if (cd.check === 'min_length') min = cd.minimum ?? 0;
      }
      return `${min > 0 ? 'non-empty ' : ''}list of ${describeType(d.element as AnySchema)}`;
    }
    case 'tuple':
      return `[${(d.items as AnySchema[]).map(describeType).join(', ')}]`;
    case 'unknown':
    case 'any':
      return 'any JSON value';
    default:
      return d.type;
  }
}

/** One line of UserError for the first issue of a failed parse: "config 'beta' of model 'vae' must be ...". */
export function configError(
  kind: string,
  schema: z.ZodObject,
  config: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
): UserError {
  const issue = issues[0]!;
  const key = issue.path[0];
  if (typeof key !== 'string' || !Object.hasOwn(schema.shape, key))
    return new UserError(`invalid options for model '${kind}': ${issue.message}`);
  const got = oneLine(JSON.stringify(config[key]) ?? String(config[key]), 60);
  if (issue.code === 'custom')
    return new UserError(`config '${key}' of model '${kind}' ${issue.message} (got ${got})`);
  const field = schema.shape[key] as AnySchema;
  return new UserError(`config '${key}' of model '${kind}' must be ${describeType(field)} (got ${got})`);
}

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known name closest to `name` (edit distance at most max(2, a third of its length)), or null. */
export function nearestName(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/** Help text of an options schema: one block per option with its type, default and description. */
export function optionsHelp(schema: z.ZodObject, defaults: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const [k, field] of Object.entries(schema.shape)) {
    const f = field as AnySchema & { description?: string };
    const dflt = JSON.stringify(defaults[k]);
    lines.push(`  ${k} (${describeType(f)}; default ${dflt === undefined ? 'none' : dflt})`);
    if (f.description) lines.push(`      ${f.description}`);
  }
  return lines.join('\n');
}

/** The same options with other defaults (a variant of a model: e.g. iwae is the vae with iwTrainK 5). */
export function withDefaults<S extends z.ZodObject>(schema: S, over: Record<string, unknown>): S {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, field] of Object.entries(schema.shape)) {
    const f = field as z.ZodType;
    if (!Object.hasOwn(over, k)) shape[k] = f;
    else {
      const inner = unwrap(f) as z.ZodType;
      shape[k] = inner.default(over[k] as never).describe(f.description ?? '');
    }
  }
  for (const k of Object.keys(over))
    if (!Object.hasOwn(schema.shape, k)) throw new Error(`withDefaults: no option '${k}'`);
  return z.object(shape) as unknown as S;
}

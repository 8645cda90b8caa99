// Validation of dataset options (from the CLI or a checkpoint's config): one-line UserErrors.
import { UserError } from '../core/model.js';
import { oneLine } from '../io/oneline.js';

export type Options = Record<string, unknown>;

/** Reject option keys the dataset does not use. */
export function checkKeys(name: string, opts: Options, allowed: readonly string[]): void {
  for (const k of Object.keys(opts)) {
    if (opts[k] === undefined) continue;
    if (!allowed.includes(k)) {
      throw new UserError(
        `option '${oneLine(k, 40)}' does not apply to dataset '${name}' (accepted: ${[...allowed].sort().join(', ')})`,
      );
    }
  }
}

export function optInt(name: string, opts: Options, key: string, def: number, min: number): number;
export function optInt(
  name: string,
  opts: Options,
  key: string,
  def: number | undefined,
  min: number,
): number | undefined;
export function optInt(
  name: string,
  opts: Options,
  key: string,
  def: number | undefined,
  min: number,
): number | undefined {
  const v = opts[key];
  if (v === undefined || v === null) return def;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
    throw new UserError(
      `dataset '${name}': option ${key} must be an integer >= ${min}, got '${oneLine(v, 40)}'`,
    );
  }
  return n;
}

export function optNumber(
  name: string,
  opts: Options,
  key: string,
  def: number,
  lo: number,
  hi: number,
): number {
  const v = opts[key];
  if (v === undefined || v === null) return def;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < lo || n > hi) {
    throw new UserError(
      `dataset '${name}': option ${key} must be a number in [${lo}, ${hi}], got '${oneLine(v, 40)}'`,
    );
  }
  return n;
}

export function optBool(name: string, opts: Options, key: string, def: boolean): boolean {
  const v = opts[key];
  if (v === undefined || v === null) return def;
  if (v === true || v === 'true' || v === '1' || v === 1) return true;
  if (v === false || v === 'false' || v === '0' || v === 0) return false;
  throw new UserError(`dataset '${name}': option ${key} must be true or false, got '${oneLine(v, 40)}'`);
}

export function optString(name: string, opts: Options, key: string): string | undefined {
  const v = opts[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') {
    throw new UserError(`dataset '${name}': option ${key} must be a non-empty string`);
  }
  return v;
}

export function optEnum<T extends string>(
  name: string,
  opts: Options,
  key: string,
  values: readonly T[],
  def: T,
): T {
  const v = opts[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new UserError(
      `dataset '${name}': option ${key} must be one of ${values.join('|')}, got '${oneLine(v, 40)}'`,
    );
  }
  return v as T;
}

// Checking numeric hyper-parameters of a model config (the one reader every family uses).
import { UserError } from './model.js';

/** v as a finite number (an integer with int), within [min, max]; else a UserError naming the config key. */
export function cfgNum(
  v: unknown,
  name: string,
  opts: { int?: boolean; min?: number; max?: number } = {},
): number {
  const x = Number(v);
  if (
    typeof v === 'boolean' ||
    v === null ||
    v === '' ||
    !Number.isFinite(x) ||
    (opts.int && !Number.isInteger(x)) ||
    (opts.min !== undefined && x < opts.min) ||
    (opts.max !== undefined && x > opts.max)
  ) {
    const what = opts.int ? 'an integer' : 'a number';
    const min = opts.min !== undefined ? ` >= ${opts.min}` : '';
    const max = opts.max !== undefined ? ` <= ${opts.max}` : '';
    throw new UserError(`config '${name}' must be ${what}${min}${max} (got ${JSON.stringify(v)})`);
  }
  return x;
}

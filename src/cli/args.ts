// Small helpers over node:util parseArgs: strict parsing with one-line UserErrors.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../core/model.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(
  argv: string[],
  options: Options,
  cmd: string,
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const r = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: r.values as Record<string, unknown>, positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '');
    throw new UserError(`${cmd}: ${msg} (see 'genmodels ${cmd} --help')`);
  }
}

export function intArg(v: unknown, flag: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (!/^-?\d+$/.test(s) || Number(s) < min)
    throw new UserError(`${flag} must be an integer >= ${min}, got '${s}'`);
  return Number(s);
}

export function numArg(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isFinite(n))
    throw new UserError(`${flag} must be a number, got '${String(v)}'`);
  return n;
}

/** `key=value`: the value is parsed as JSON when it is valid JSON, else kept as a string. */
export function parseSet(s: string): [string, unknown] {
  const i = s.indexOf('=');
  if (i <= 0) throw new UserError(`--set wants key=value, got '${s}'`);
  const k = s.slice(0, i).trim();
  const raw = s.slice(i + 1);
  try {
    return [k, JSON.parse(raw)];
  } catch {
    return [k, raw];
  }
}

/** One `genmodels` subcommand: its line in the help index, its help text, and what it runs. */
export interface Command {
  name: string;
  /** e.g. 'train <model> --data <d>' */
  usage: string;
  summary: string;
  help: () => string;
  run: (argv: string[]) => Promise<number>;
}

export function printHelp(cmd: Command): number {
  process.stdout.write(cmd.help() + '\n');
  return 0;
}

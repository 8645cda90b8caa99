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

/** The iterative-sampler flags shared by sample and eval (--sampler, --steps, --eta, --guidance). */
export const ITERATIVE_FLAGS: Options = {
  sampler: { type: 'string' },
  steps: { type: 'string' },
  eta: { type: 'string' },
  guidance: { type: 'string' },
};
export const ITERATIVE_HELP = `  --sampler S     ddpm | ddim (DDPM checkpoints), euler | heun (flow matching)
  --steps N       sampler steps (DDIM's S, ODE steps, SGLD / Gibbs steps); default: the model's sampleSteps
  --eta E         DDIM stochasticity, >= 0 (0: deterministic)
  --guidance W    classifier-free guidance weight w of a conditional diffusion model:
                  eps = (1 + w) eps(x, y) - w eps(x)`;

/** The given iterative-sampler flags, validated (steps >= 1), as SampleOptions fields. */
export function iterativeArgs(o: Record<string, unknown>): {
  sampler?: string;
  steps?: number;
  eta?: number;
  guidance?: number;
} {
  const steps = intArg(o.steps, '--steps', 1);
  const eta = numArg(o.eta, '--eta');
  const guidance = numArg(o.guidance, '--guidance');
  return {
    ...(o.sampler !== undefined ? { sampler: String(o.sampler) } : {}),
    ...(steps !== undefined ? { steps } : {}),
    ...(eta !== undefined ? { eta } : {}),
    ...(guidance !== undefined ? { guidance } : {}),
  };
}

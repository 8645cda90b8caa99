// Shared by the src/api use cases: backend selection with one-line errors, a logger, a directory test.
import * as fs from 'node:fs';
import { UserError } from '../core/model.js';
import * as backendMod from '../backend/index.js';
import type { BackendName, PrecisionSetting } from '../backend/index.js';

/** Where progress lines go (default: stderr, one line each). */
export type Log = (line: string) => void;
export const stderrLog: Log = (line) => process.stderr.write(line + '\n');

/** Check a backend name (torch | wasm | cpu); undefined picks the best available. */
export function backendName(v: unknown): BackendName | undefined {
  if (v === undefined) return undefined;
  if (v !== 'torch' && v !== 'wasm' && v !== 'cpu')
    throw new UserError(`--backend must be torch, wasm or cpu, got '${String(v)}'`);
  return v;
}

/**
 * Start a backend (quietly); an unavailable one is a UserError. Returns the name in use. `precision` and
 * `training`: initBackend's precision policy (a refused precision is its own UserError).
 */
export async function useBackend(
  v?: unknown,
  p: { precision?: PrecisionSetting; training?: boolean } = {},
): Promise<string> {
  const want = backendName(v);
  try {
    return await backendMod.initBackend(want, { quiet: true, ...p });
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`backend '${want}' is not available: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function dirHasContent(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** Sampler options (--sampler, --steps, ...) are for iterative samplers only: one line naming the first given. */
export function checkIterativeFlags(
  model: { kind: string; taxonomy: { sampling: string } },
  given: string[],
): void {
  if (given.length && model.taxonomy.sampling !== 'iterative')
    throw new UserError(
      `--${given[0]}: model '${model.kind}' samples in one pass (its taxonomy says sampling direct); sampler options apply to iterative samplers`,
    );
}

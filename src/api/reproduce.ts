// Published-result recipes (recipes/*.json): train as the recipe says (or continue an unfinished run),
// evaluate as it says, and write the results-table row (results.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/model.js';
import type { EvalResult } from '../eval/evaluate.js';
import { readCheckpointConfig } from '../train/checkpoint.js';
import { TRAIN_DEFAULTS, type StopSignal } from '../train/loop.js';
import { dirHasContent, stderrLog, type Log } from './common.js';
import { evalCheckpoint } from './evaluate.js';
import { writeResult, type ResultTable } from './results.js';
import { trainRun } from './run.js';

export interface Recipe {
  name: string;
  description?: string;
  model: string;
  data: string;
  config?: {
    model?: Record<string, unknown>;
    train?: Record<string, unknown>;
    data?: Record<string, unknown>;
  };
  /** samples: number of samples for sample metrics (FID, precision/recall; density-'none' models always get them) */
  /** seeds > 1: evaluate again with seeds 1..seeds-1 (the spread of a stochastic estimate such as AIS log Z) */
  eval?: { iw?: number; split?: 'test' | 'train'; batchSize?: number; samples?: number; seeds?: number };
  target?: { metric: string; nats?: number; bitsPerDim?: number; reference?: string };
}

/** recipes/ at the package root */
export function recipesDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../recipes');
}

export function listRecipes(): string[] {
  try {
    return fs
      .readdirSync(recipesDir())
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}

/** A recipe by name (recipes/NAME.json) or from a .json file. */
export function readRecipe(arg: string): Recipe {
  const file = arg.endsWith('.json') ? arg : path.join(recipesDir(), `${arg}.json`);
  let r: Recipe;
  try {
    r = JSON.parse(fs.readFileSync(file, 'utf8')) as Recipe;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError(
      err.code === 'ENOENT'
        ? `unknown recipe '${arg}' (recipes: ${listRecipes().join(', ')})`
        : `recipe ${file}: not valid JSON (${err.message.split('\n')[0]})`,
    );
  }
  if (typeof r.model !== 'string' || typeof r.data !== 'string')
    throw new UserError(`recipe ${file}: needs "model" and "data"`);
  r.name ??= path.basename(file, '.json');
  return r;
}

export interface ReproduceOptions {
  /** run directory (default runs/repro-<name>) */
  out?: string;
  /** override the recipe's epochs / importance samples (a quick check; the row says so) */
  epochs?: number;
  iw?: number;
  backend?: string;
  handleSigint?: boolean;
  log?: Log;
}

export type ReproduceResult =
  | { interrupted: true; outDir: string; signal?: StopSignal }
  | { interrupted: false; outDir: string; eval: EvalResult; table: ResultTable; backend: string };

export async function reproduce(recipe: Recipe, opts: ReproduceOptions = {}): Promise<ReproduceResult> {
  const log = opts.log ?? stderrLog;
  const epochs = opts.epochs ?? Number(recipe.config?.train?.epochs ?? TRAIN_DEFAULTS.epochs);
  const iw = opts.iw ?? recipe.eval?.iw ?? 1;
  const outDir = opts.out ?? path.join('runs', `repro-${recipe.name}`);
  const common = {
    ...(opts.backend !== undefined ? { backend: opts.backend } : {}),
    handleSigint: opts.handleSigint ?? false,
    log,
  };

  // 1. train (or continue an unfinished run)
  let done: number;
  try {
    done = readCheckpointConfig(outDir).config.state.epoch;
  } catch {
    done = -1; // no checkpoint yet
  }
  if (done < 0) {
    if (dirHasContent(outDir))
      throw new UserError(`${outDir} exists but holds no checkpoint; remove it or choose --out`);
    const res = await trainRun({
      model: recipe.model,
      data: recipe.data,
      config: { ...recipe.config, train: { ...recipe.config?.train, epochs } },
      out: outDir,
      ...common,
    });
    if (res.interrupted) return { interrupted: true, outDir, ...(res.signal ? { signal: res.signal } : {}) };
  } else if (done < epochs) {
    const res = await trainRun({ resume: outDir, train: { epochs }, ...common });
    if (res.interrupted) return { interrupted: true, outDir, ...(res.signal ? { signal: res.signal } : {}) };
  } else log(`${outDir}: training complete (${done} epochs), evaluating`);

  // 2. evaluate as the recipe says
  const evalAt = (seed: number) =>
    evalCheckpoint(outDir, {
      split: recipe.eval?.split ?? 'test',
      iw,
      batchSize: recipe.eval?.batchSize ?? 100,
      seed,
      ...(recipe.eval?.samples !== undefined ? { samples: recipe.eval.samples } : {}),
      ...(opts.backend !== undefined ? { backend: opts.backend } : {}),
    });
  const { result, config, backend } = await evalAt(0);
  const repeats: EvalResult[] = [];
  for (let seed = 1; seed < (recipe.eval?.seeds ?? 1); seed++) {
    log(`${recipe.name}: evaluation with seed ${seed}`);
    repeats.push((await evalAt(seed)).result);
  }

  // 3. the results-table row
  const overridden = [
    ...(opts.epochs !== undefined ? (['epochs'] as const) : []),
    ...(opts.iw !== undefined ? (['iw'] as const) : []),
  ];
  const table = writeResult(outDir, recipe.name, result, {
    model: recipe.model,
    data: recipe.data,
    state: config.state,
    backend,
    command: `genmodels reproduce ${recipe.name}`,
    overridden,
    ...(repeats.length > 0 ? { repeats } : {}),
    ...(recipe.target ? { target: recipe.target } : {}),
  });
  return { interrupted: false, outDir, eval: result, table, backend };
}

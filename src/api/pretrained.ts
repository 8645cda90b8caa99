// Pretrained models shipped with the package: assets/pretrained/<name>/ holds model.safetensors (the model's
// variables, EMA weights when the run kept an EMA, optionally stored as F16), config.json (the run's
// checkpoint config, so `pretrained:<name>` opens wherever a run directory does) and results.json (the
// evaluation of the run that made it). The browser playground fetches the same files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readRegularFile } from '../io/guard.js';
import { encodeSafetensors, float32ToFloat16, readSafetensors, type SafeTensor } from '../io/safetensors.js';
import { readCheckpointConfig, type CheckpointConfig } from '../train/checkpoint.js';
import { pretrainedNames, pretrainedRoot } from '../train/pretrained-ref.js';

export {
  pretrainedNames,
  pretrainedRoot,
  resolveRunRef,
  PRETRAINED_PREFIX,
} from '../train/pretrained-ref.js';

/** The results files looked for in a run directory, in order (reproduce writes result.json). */
export const RESULT_FILES = ['result.json', 'eval.json'];

export interface PretrainedEntry {
  name: string;
  kind: string;
  data: string;
  taxonomy: CheckpointConfig['model']['taxonomy'];
  /** bytes of model.safetensors */
  bytes: number;
  fp16: boolean;
  /** where it was made from */
  source?: string;
}

export interface AddPretrainedOptions {
  /** store float32 model variables as F16 (half the bytes) */
  fp16?: boolean;
  /** the results JSON to ship (default: result.json or eval.json of the run directory) */
  results?: string;
  /** assets/pretrained/ (default: the package's) */
  root?: string;
  /** replace an existing pretrained model of this name */
  force?: boolean;
  /** the playground's sampling defaults for it (e.g. fewer steps of an iterative sampler), kept in config.json */
  sample?: { steps?: number; sampler?: string; temperature?: number };
}

/**
 * Make assets/pretrained/<name>/ from a run directory: the model variables only (EMA weights in their
 * place when the run kept an EMA; no optimizer state), and model state tensors, as F16 with `fp16`.
 */
export function addPretrained(
  runDir: string,
  name: string,
  opts: AddPretrainedOptions = {},
): PretrainedEntry {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name))
    throw new UserError(`pretrained name '${name}' must be lower-case letters, digits, '.', '_' or '-'`);
  const { dir: cdir, config } = readCheckpointConfig(runDir);
  const resultsFile =
    opts.results ?? RESULT_FILES.map((f) => path.join(runDir, f)).find((f) => fs.existsSync(f));
  if (resultsFile === undefined)
    throw new UserError(
      `${runDir} has no ${RESULT_FILES.join(' or ')}: evaluate it first (genmodels eval ${runDir} --json > ${path.join(runDir, 'eval.json')}) or pass --results FILE`,
    );
  let results: unknown;
  try {
    results = JSON.parse(readRegularFile(resultsFile, { maxBytes: 16 * 2 ** 20 }).toString('utf8'));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${resultsFile} is not JSON (${(e as Error).message})`);
  }
  const { tensors } = readSafetensors(path.join(cdir, config.weights.file), { within: cdir });
  const out = new Map<string, SafeTensor>();
  for (const [n, t] of tensors) {
    if (n.startsWith('optim/') || n.startsWith('ema/')) continue;
    const ema = tensors.get(`ema/${n}`);
    const w = ema ?? t;
    const half = opts.fp16 && w.dtype === 'F32' && !n.startsWith('state/');
    out.set(n, half ? { dtype: 'F16', shape: w.shape, data: float32ToFloat16(w.data as Float32Array) } : w);
  }
  const weights = encodeSafetensors(out, { format: 'genmodels-pretrained', name });
  const root = opts.root ?? pretrainedRoot();
  const dir = path.join(root, name);
  if (fs.existsSync(dir) && !opts.force)
    throw new UserError(`pretrained model '${name}' exists at ${dir} (--force replaces it)`);
  fs.mkdirSync(dir, { recursive: true });
  const cfg = {
    ...config,
    weights: { file: 'model.safetensors', bytes: weights.length },
    pretrained: {
      name,
      source: path.basename(path.resolve(runDir)),
      fp16: opts.fp16 ?? false,
      ...(opts.sample && Object.keys(opts.sample).length ? { sample: opts.sample } : {}),
    },
  };
  writeFileAtomic(path.join(dir, 'model.safetensors'), weights);
  writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  writeFileAtomic(path.join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  return entryOf(name, cfg as CheckpointConfig & { pretrained?: { source?: string; fp16?: boolean } });
}

function entryOf(
  name: string,
  c: CheckpointConfig & { pretrained?: { source?: string; fp16?: boolean } },
): PretrainedEntry {
  return {
    name,
    kind: c.model.kind,
    data: c.data?.name ?? 'n/a',
    taxonomy: c.model.taxonomy,
    bytes: c.weights.bytes,
    fp16: c.pretrained?.fp16 ?? false,
    ...(c.pretrained?.source !== undefined ? { source: c.pretrained.source } : {}),
  };
}

/** The shipped pretrained models (the browser's models.json lists the same). */
export function listPretrained(root = pretrainedRoot()): PretrainedEntry[] {
  const names = root === pretrainedRoot() ? pretrainedNames() : fs.readdirSync(root).sort();
  return names.map((n) => entryOf(n, readCheckpointConfig(path.join(root, n)).config));
}

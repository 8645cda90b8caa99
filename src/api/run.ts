// A training run as the `train` command does it: config files and key=value options routed to model /
// training / data, the dataset, the run directory (never overwritten silently), or a resumed run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError, modelEntry, modelKinds, resolveModel, type GenerativeModel } from '../core/model.js';
import { DATASET_NAMES, loadDataset, parseDataArg } from '../data/index.js';
import type { Dataset } from '../data/types.js';
import { loadCheckpoint, resolveCheckpointDir, type LoadedCheckpoint } from '../train/checkpoint.js';
import { claimRunDir, type RunDirClaim } from '../train/rundir.js';
import { TRAIN_DEFAULTS, makeTrainConfig, train, type TrainConfig, type TrainResult } from '../train/loop.js';
import type { DistributedHooks } from '../train/types.js';
import { stderrLog, useBackend, type Log } from './common.js';
import { describePrecision, precision, type PrecisionSetting } from '../backend/index.js';

/** Options by destination: the model's config, the TrainConfig, the dataset's options. */
export interface Overrides {
  model: Record<string, unknown>;
  train: Record<string, unknown>;
  data: Record<string, unknown>;
}

export const emptyOverrides = (): Overrides => ({ model: {}, train: {}, data: {} });

/** Route a flat key: `data.K` / `model.K` / `train.K` explicitly, else a training option if it is one, else model. */
export function routeOption(into: Overrides, k: string, v: unknown): void {
  // an own property even for keys like __proto__, so that the option checks see (and refuse) them
  const put = (o: Record<string, unknown>, key: string) =>
    Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
  if (k.startsWith('data.')) put(into.data, k.slice(5));
  else if (k.startsWith('model.')) put(into.model, k.slice(6));
  else if (k.startsWith('train.')) put(into.train, k.slice(6));
  else if (Object.hasOwn(TRAIN_DEFAULTS, k)) put(into.train, k);
  else put(into.model, k);
}

/** A JSON object `{"model": {...}, "train": {...}, "data": {...}}` and/or flat keys (routed as above). */
export function overridesFromJson(j: unknown, what: string): Overrides {
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw new UserError(`${what}: expected a JSON object`);
  const out = emptyOverrides();
  for (const [k, v] of Object.entries(j as Record<string, unknown>)) {
    if (
      (k === 'model' || k === 'train' || k === 'data') &&
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v)
    )
      Object.assign(out[k], v);
    else routeOption(out, k, v);
  }
  return out;
}

export function readConfigFile(file: string): Overrides {
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError(
      `--config ${file}: ${err.code === 'ENOENT' ? 'no such file' : `not valid JSON (${err.message.split('\n')[0]})`}`,
    );
  }
  return overridesFromJson(j, `--config ${file}`);
}

export interface TrainRunOptions {
  /** model kind (a new run) */
  model?: string;
  /** dataset name or .csv path (a new run) */
  data?: string;
  /** options by destination (e.g. a recipe's config); applied before configFile and set */
  config?: Partial<Overrides>;
  /** a JSON config file (readConfigFile) */
  configFile?: string;
  /** `K=V` pairs already split (args.parseSet), routed with routeOption; applied last */
  set?: [string, unknown][];
  /** training options given directly (the train command's flags); they win over everything */
  train?: Partial<TrainConfig>;
  /** run directory (default runs/<model>-<data>) */
  out?: string;
  /** replace an existing run directory */
  force?: boolean;
  /** continue the run in this directory with its own settings (only train.epochs / maxSteps apply) */
  resume?: string;
  backend?: string;
  /** matmul/conv precision of the training steps (fp32 | bf16 | auto; default GENMODELS_PRECISION, else fp32) */
  precision?: PrecisionSetting;
  /** install the Ctrl-C handler (finish the step, save, return interrupted) */
  handleSigint?: boolean;
  log?: Log;
  /** a data-parallel worker (src/distributed/launch.ts workerFromEnv): rank 0 alone claims and writes the run */
  distributed?: DistributedHooks;
}

export interface TrainRunResult extends TrainResult {
  outDir: string;
  backend: string;
  kind: string;
}

/** "60000", or "2000 of 60000" when --limit keeps the first 2000 */
function trainCount(n: number, limit: number): string {
  return limit > 0 && limit < n ? `${limit} of ${n}` : `${n}`;
}

const trainingPrecision = (opts: TrainRunOptions) => ({
  training: true,
  ...(opts.precision !== undefined ? { precision: opts.precision } : {}),
});

/** Train a new model, or resume a run; the run directory gets checkpoint/, metrics.jsonl and plots. */
export async function trainRun(opts: TrainRunOptions): Promise<TrainRunResult> {
  const worker = opts.distributed && opts.distributed.rank !== 0; // silent, writes nothing, claims nothing
  if (worker) opts = { ...opts, log: () => {} };
  const claimRun: typeof claimRunDir = worker
    ? (dir) => ({ dir, created: false, release() {} })
    : claimRunDir;
  const log = opts.log ?? stderrLog;
  const flags = opts.train ?? {};
  if (opts.resume !== undefined) {
    const backend = await useBackend(opts.backend, trainingPrecision(opts));
    const cdir = resolveCheckpointDir(opts.resume);
    const base = path.basename(cdir);
    const outDir = base === 'checkpoint' || base === 'checkpoint.prev' ? path.dirname(cdir) : cdir;
    // lock the run before reading it: a second writer is refused here
    const claim = claimRun(outDir, { resume: true });
    let resume: LoadedCheckpoint;
    let ds: Dataset;
    let cfg: TrainConfig;
    try {
      resume = loadCheckpoint(cdir);
      if (!resume.config.data)
        throw new UserError(`checkpoint ${resume.dir} does not record its dataset; cannot resume`);
      ds = loadDataset(resume.config.data);
      cfg = makeTrainConfig({ ...(resume.config.train as Partial<TrainConfig>), ...flags });
      const done = resume.config.state.epoch;
      if (done >= cfg.epochs) {
        resume.model.dispose();
        throw new UserError(
          `run ${outDir} already finished ${done} epochs; pass --epochs N (N > ${done}) to train longer`,
        );
      }
    } catch (e) {
      claim.release();
      throw e;
    }
    log(
      `resuming ${resume.model.kind} at epoch ${resume.config.state.epoch}, step ${resume.config.state.step} on ${backend} (${describePrecision(precision())})`,
    );
    return runTraining(resume.model, ds, cfg, outDir, backend, opts, claim, resume);
  }
  if (opts.model === undefined)
    throw new UserError(`train needs exactly one model name (known: ${modelKinds().join(', ')})`);
  if (opts.data === undefined)
    throw new UserError(`train needs --data (one of ${DATASET_NAMES.join(', ')} or a .csv file)`);
  const name = opts.model;
  modelEntry(name); // an unknown model fails before anything is read
  const over = emptyOverrides();
  for (const k of ['model', 'train', 'data'] as const) Object.assign(over[k], opts.config?.[k]);
  if (opts.configFile !== undefined) {
    const f = readConfigFile(opts.configFile);
    for (const k of ['model', 'train', 'data'] as const) Object.assign(over[k], f[k]);
  }
  for (const [k, v] of opts.set ?? []) routeOption(over, k, v);
  const dataCfg = parseDataArg(opts.data, over.data);
  const resolved = resolveModel(name, over.model);
  const cfg = makeTrainConfig({ ...over.train, ...flags });
  const dataName =
    dataCfg.name === 'csv'
      ? path.basename(String(dataCfg.options.path)).replace(/\.csv(\.gz)?$/i, '')
      : dataCfg.name;
  const outDir = opts.out ?? path.join('runs', `${name}-${dataName}`);
  // a run directory is owned: --force replaces only a run directory, and a second writer is locked out
  const claim = claimRun(outDir, { force: opts.force === true });
  if (claim.removed?.length) log(`--force: removed ${claim.removed.join(', ')} from ${outDir}`);
  let backend: string;
  let ds: Dataset;
  let model: GenerativeModel;
  try {
    backend = await useBackend(opts.backend, trainingPrecision(opts));
    ds = loadDataset(dataCfg);
    const why = resolved.accepts(ds.spec);
    if (why) throw new UserError(`model '${name}' cannot be trained on '${ds.name}': ${why}`);
    model = resolved.create(ds.spec, cfg.seed);
  } catch (e) {
    claim.release();
    if (claim.created) fs.rmSync(outDir, { recursive: true, force: true });
    throw e;
  }
  log(
    `training ${name} on ${ds.name} (${trainCount(ds.train.n, cfg.limit)} train / ${ds.test.n} test, ${ds.spec.kind} [${ds.spec.shape}]) on ${backend} (${describePrecision(precision())}) -> ${outDir}`,
  );
  return runTraining(model, ds, cfg, outDir, backend, opts, claim, undefined);
}

async function runTraining(
  model: GenerativeModel,
  ds: Dataset,
  cfg: TrainConfig,
  outDir: string,
  backend: string,
  opts: TrainRunOptions,
  claim: RunDirClaim,
  resume: LoadedCheckpoint | undefined,
): Promise<TrainRunResult> {
  const log = opts.log ?? stderrLog;
  const kind = model.kind;
  let res: TrainResult;
  try {
    res = await train({
      model,
      dataset: ds,
      config: cfg,
      outDir,
      backend,
      resume,
      handleSigint: opts.handleSigint ?? false,
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.distributed ? { distributed: opts.distributed } : {}),
      ...(opts.distributed && opts.distributed.rank !== 0
        ? { images: false, progress: 'none' as const }
        : {}),
    });
  } catch (e) {
    // a run that failed before its first checkpoint leaves nothing worth keeping (and would block a rerun)
    if (claim.created && !fs.existsSync(path.join(outDir, 'checkpoint')))
      fs.rmSync(outDir, { recursive: true, force: true });
    throw e;
  } finally {
    claim.release();
    model.dispose();
  }
  if (!res.interrupted)
    log(
      `done: ${res.epoch} epochs, ${res.step} steps; run in ${outDir} (checkpoint/, metrics.jsonl, samples.png, loss.png)`,
    );
  return { ...res, outDir, backend, kind };
}

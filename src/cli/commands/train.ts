// genmodels train: flags -> api/run.ts trainRun.
import { UserError, modelKinds, modelOptionsHelp } from '../../core/model.js';
import { DATASET_NAMES } from '../../data/index.js';
import { TRAIN_DEFAULTS, exitCodeFor, type TrainConfig } from '../../train/loop.js';
import { trainRun } from '../../api/run.js';
import { launchWorkers, workerFromEnv } from '../../distributed/launch.js';
import { precisionSetting } from '../../backend/torch/precision.js';
import { intArg, numArg, parse, parseSet, printHelp, type Command } from '../args.js';

const help = () => `usage: genmodels train <model> --data <dataset|file.csv> [options]
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
  --precision P     fp32 | bf16 | auto: matmul/conv of the training steps in bf16 (autocast, fp32 elsewhere);
                    auto = bf16 where the CPU reports avx512_bf16 / amx_bf16 (default GENMODELS_PRECISION,
                    else fp32); evaluation always runs fp32
  --set K=V         model or training option (repeatable); prefix model. or train. to disambiguate,
                    data. for dataset options (e.g. data.label=target, data.binarize=static, data.limit=1000)
                    training options: ${Object.keys(TRAIN_DEFAULTS).join(', ')}
  --max-steps N     stop (with a checkpoint) after N steps in total

Data-parallel (libtorch's c10d/Gloo; docs/distributed.md): --batch-size is the global batch, split over the
workers; the result is that of one process (same seed) up to float rounding.
  --nproc N         spawn N workers on this machine (the threads are split between them)
  --nnodes M        machines in the run (default 1); run the same command on each, with
  --node-rank R     this machine's index 0..M-1, and
  --master H:P      the address of node 0 (its rank 0 serves the rendezvous there)

Flows (realnvp, nice, glow, maf, nsf) need continuous data: images with --set data.dequantize=true (optionally
data.logit=0.05); eval then reports bits/dim of the original 8-bit data. 2-D data also get density.png.
Ctrl-C finishes the current step, saves a checkpoint and exits with status 130.`;

async function run(argv: string[]): Promise<number> {
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
      precision: { type: 'string' },
      set: { type: 'string', multiple: true },
      force: { type: 'boolean' },
      'max-steps': { type: 'string' },
      nproc: { type: 'string' },
      nnodes: { type: 'string' },
      'node-rank': { type: 'string' },
      master: { type: 'string' },
    },
    'train',
  );
  if (o.help && positionals.length === 1 && o.resume === undefined) {
    process.stdout.write(modelOptionsHelp(positionals[0]!));
    return 0;
  }
  if (o.help) return printHelp(command);
  const nproc = intArg(o.nproc, '--nproc', 1);
  const nnodes = intArg(o.nnodes, '--nnodes', 1);
  const nodeRank = intArg(o['node-rank'], '--node-rank', 0);
  const master = o.master === undefined ? undefined : String(o.master);
  if (process.env.WORLD_SIZE === undefined && (nproc !== undefined || nnodes !== undefined)) {
    // the launcher: the same command without the launch flags, once per worker
    return launchWorkers({
      nproc: nproc ?? 1,
      ...(nnodes !== undefined ? { nnodes } : {}),
      ...(nodeRank !== undefined ? { nodeRank } : {}),
      ...(master !== undefined ? { master } : {}),
      argv: [process.argv[1]!, 'train', ...withoutLaunchFlags(argv)],
    });
  }
  if (nproc === undefined && (nodeRank !== undefined || master !== undefined))
    throw new UserError(`--node-rank and --master go with --nproc N (and --nnodes M)`);
  const worker = workerFromEnv();
  const dist = worker ? { distributed: worker.hooks } : {};
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
  const str = (v: unknown) => (v === undefined ? undefined : String(v));
  const backend = str(o.backend);
  const precision = precisionSetting(o.precision);
  const prec = precision !== undefined ? { precision } : {};
  let res;
  if (o.resume !== undefined) {
    const extra = ['data', 'config', 'batch-size', 'lr', 'seed', 'out', 'limit', 'set', 'force'].filter(
      (k) => o[k] !== undefined,
    );
    if (positionals.length || extra.length) {
      throw new UserError(
        `--resume continues a run with its own settings; only --epochs, --max-steps, --backend and --precision may be given (got ${[...positionals, ...extra.map((k) => '--' + k)].join(', ')})`,
      );
    }
    res = await trainRun({
      resume: String(o.resume),
      train: flags,
      handleSigint: true,
      ...dist,
      ...(backend !== undefined ? { backend } : {}),
      ...prec,
    });
  } else {
    if (positionals.length !== 1)
      throw new UserError(`train needs exactly one model name (known: ${modelKinds().join(', ')})`);
    const set = ((o.set as string[] | undefined) ?? []).map(parseSet);
    res = await trainRun({
      model: positionals[0]!,
      ...(o.data !== undefined ? { data: String(o.data) } : {}),
      ...(o.config !== undefined ? { configFile: String(o.config) } : {}),
      set,
      train: flags,
      ...(o.out !== undefined ? { out: String(o.out) } : {}),
      force: o.force === true,
      handleSigint: true,
      ...dist,
      ...(backend !== undefined ? { backend } : {}),
      ...prec,
    });
  }
  worker?.group.destroy();
  return exitCodeFor(res); // 0, or 130 / 143 / 129 after SIGINT / SIGTERM / SIGHUP
}

const LAUNCH_FLAGS = ['--nproc', '--nnodes', '--node-rank', '--master'];

/** argv without --nproc / --nnodes / --node-rank / --master and their values */
function withoutLaunchFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (LAUNCH_FLAGS.includes(a)) i++;
    else if (!LAUNCH_FLAGS.some((f) => a.startsWith(f + '='))) out.push(a);
  }
  return out;
}

export const command: Command = {
  name: 'train',
  usage: 'train <model> --data <d>',
  summary: 'train a model (or --resume a run)',
  help,
  run,
};

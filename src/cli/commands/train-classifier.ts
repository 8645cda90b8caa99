// genmodels train-classifier: flags -> eval/classifier.ts trainClassifier + saveClassifier.
import { UserError } from '../../core/model.js';
import {
  CLASSIFIER_DATASETS,
  CLASSIFIER_TRAIN_DEFAULTS,
  classifierDir,
  saveClassifier,
  trainClassifier,
  type ClassifierDataset,
} from '../../eval/classifier.js';
import { useBackend } from '../../api/common.js';
import { intArg, parse, printHelp, type Command } from '../args.js';

const D = CLASSIFIER_TRAIN_DEFAULTS;
const help =
  () => `usage: genmodels train-classifier --data mnist|fashion-mnist [--epochs N] [--seed N] [--out DIR]

  Trains the small convnet whose penultimate layer is the feature space of FID and precision/recall
  (src/eval/classifier.ts) on the real training split, prints its test accuracy, and writes
  classifier.safetensors + classifier.json to DIR (default assets/classifiers/<data>/, which eval reads).
  Defaults: ${D.epochs} epochs, batch ${D.batchSize}, lr ${D.lr}, seed ${D.seed}.`;

async function run(argv: string[]): Promise<number> {
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
  if (o.help) return printHelp(command);
  if (positionals.length) throw new UserError(`train-classifier takes no positional arguments`);
  const data = String(o.data ?? '');
  if (!(CLASSIFIER_DATASETS as readonly string[]).includes(data))
    throw new UserError(`train-classifier needs --data ${CLASSIFIER_DATASETS.join(' or ')}`);
  const backend = await useBackend(o.backend);
  const opts = {
    ...D,
    epochs: intArg(o.epochs, '--epochs', 1) ?? D.epochs,
    seed: intArg(o.seed, '--seed', 0) ?? D.seed,
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

export const command: Command = {
  name: 'train-classifier',
  usage: 'train-classifier --data D',
  summary: 'train the MNIST / Fashion-MNIST feature classifier used by FID (assets/)',
  help,
  run,
};

#!/usr/bin/env node
// The `genmodels` command: the help index, routing to one file per command (commands/), and the one-line
// error reporter. What the commands do lives in src/api/.
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/model.js';
import { NonFiniteLossError } from '../train/loop.js';
import type { Command } from './args.js';
import { command as train } from './commands/train.js';
import { command as sample } from './commands/sample.js';
import { command as evalCmd } from './commands/eval.js';
import { command as interpolate } from './commands/interpolate.js';
import { command as reproduce } from './commands/reproduce.js';
import { command as trainClassifier } from './commands/train-classifier.js';
import { command as info } from './commands/info.js';
import { command as explain } from './commands/explain.js';
import { command as anomaly } from './commands/anomaly.js';
import { command as classify } from './commands/classify.js';
import { command as synth } from './commands/synth.js';
import { command as encode } from './commands/encode.js';
import { command as decode } from './commands/decode.js';
import { command as pretrained } from './commands/pretrained.js';
import { command as serve } from './commands/serve.js';
import '../families/index.js';

export const COMMANDS: readonly Command[] = [
  train,
  sample,
  evalCmd,
  interpolate,
  reproduce,
  trainClassifier,
  info,
  explain,
  anomaly,
  classify,
  synth,
  encode,
  decode,
  pretrained,
  serve,
];

function helpIndex(): string {
  return `genmodels — deep generative models (train, evaluate, sample)

usage: genmodels <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.usage.padEnd(27)}${c.summary}`).join('\n')}

'genmodels <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  // PROD silences tfjs's console banners ("Hi, looks like you are running TensorFlow.js in Node.js"),
  // which would break the one-line error contract
  tf.env().set('PROD', true);
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(helpIndex() + '\n');
    return 0;
  }
  const c = COMMANDS.find((k) => k.name === cmd);
  if (!c)
    throw new UserError(
      `unknown command '${cmd}' (commands: ${COMMANDS.map((k) => k.name).join(', ')}; see genmodels --help)`,
    );
  return c.run(rest);
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

// The training configuration: one zod schema (types, ranges, defaults, descriptions). makeTrainConfig
// validates user values against it and reports the first problem as a one-line UserError.
import { nearestName } from '../core/options.js';
import { z } from 'zod';
import { UserError } from '../core/model.js';

/** the most samples drawn for the per-epoch sample grid / scatter (sampleN) */
export const MAX_SAMPLE_N = 1024;

/** a number field whose every failed check reads "<key> must be <what>" */
const num = (what: string) => z.number({ error: what });
const int = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  num(what).int({ error: what }).min(min, { error: what }).max(max, { error: what });
const count = (what: string) => int(what, 0);

export const TrainConfigSchema = z.strictObject({
  epochs: int('an integer >= 1', 1).default(5).describe('passes over the training set'),
  batchSize: int('an integer >= 1', 1).default(128).describe('examples per optimizer step'),
  lr: num('a positive number')
    .positive({ error: 'a positive number' })
    .default(1e-3)
    .describe('Adam learning rate (peak of the schedule)'),
  seed: count('a non-negative integer')
    .default(0)
    .describe('seed of the initialization, data order and noise'),
  schedule: z
    .enum(['constant', 'cosine', 'linear'], { error: 'constant, cosine or linear' })
    .default('constant')
    .describe('learning-rate schedule after the warm-up'),
  warmupSteps: count('a non-negative integer').default(0).describe('linear learning-rate warm-up steps'),
  beta1: num('in [0, 1)')
    .min(0, { error: 'in [0, 1)' })
    .lt(1, { error: 'in [0, 1)' })
    .default(0.9)
    .describe('Adam beta1'),
  beta2: num('in [0, 1)')
    .min(0, { error: 'in [0, 1)' })
    .lt(1, { error: 'in [0, 1)' })
    .default(0.999)
    .describe('Adam beta2'),
  eps: num('positive').positive({ error: 'positive' }).default(1e-8).describe('Adam epsilon'),
  weightDecay: num('non-negative')
    .min(0, { error: 'non-negative' })
    .default(0)
    .describe('decoupled weight decay (AdamW)'),
  clipNorm: num('non-negative (0 = off)')
    .min(0, { error: 'non-negative (0 = off)' })
    .default(0)
    .describe('global-norm gradient clipping; 0 = off'),
  ema: num('in [0, 1) (0 = off)')
    .min(0, { error: 'in [0, 1) (0 = off)' })
    .lt(1, { error: 'in [0, 1) (0 = off)' })
    .default(0)
    .describe('EMA decay of the weights used for evaluation and sampling; 0 = off'),
  limit: count('a non-negative integer')
    .default(0)
    .describe('train on the first `limit` training examples (0 = all)'),
  evalLimit: count('a non-negative integer')
    .default(0)
    .describe('evaluate on the first `evalLimit` test examples each epoch (0 = all)'),
  evalIw: count('a non-negative integer')
    .default(0)
    .describe('also report IWAE-k each epoch (bound models; 0 = ELBO only)'),
  evalEvery: int('an integer >= 1', 1)
    .default(1)
    .describe(
      'evaluate on the test split every evalEvery epochs and after the last (the checkpoint is written every epoch)',
    ),
  sampleN: int(`an integer in [0, ${MAX_SAMPLE_N}]`, 0, MAX_SAMPLE_N)
    .default(64)
    .describe('samples drawn for the per-epoch sample PNG (0 = none)'),
  logEvery: int('an integer >= 1', 1)
    .default(10)
    .describe('write a metrics line every logEvery steps (and always at the end of an epoch)'),
  maxSteps: count('a non-negative integer')
    .default(0)
    .describe(
      'stop (with a checkpoint) once the run reaches this step (0 = no limit); a limit of one invocation, not recorded in the checkpoint',
    ),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;

export const TRAIN_DEFAULTS: TrainConfig = TrainConfigSchema.parse({});

const TRAIN_KEYS = Object.keys(TrainConfigSchema.shape);

/** Merge user values over the defaults and validate them (UserError naming the bad key). */
export function makeTrainConfig(over: Partial<Record<keyof TrainConfig, unknown>> = {}): TrainConfig {
  const given = Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined));
  const r = TrainConfigSchema.safeParse(given);
  if (r.success) return r.data;
  const unknown = r.error.issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown && unknown.code === 'unrecognized_keys') {
    const k = unknown.keys[0]!;
    const near = nearestName(k, TRAIN_KEYS);
    throw new UserError(
      `unknown training option '${k}'${near ? ` (did you mean '${near}'?)` : ''} (known: ${TRAIN_KEYS.join(', ')})`,
    );
  }
  const issue = r.error.issues[0]!;
  const k = String(issue.path[0]);
  throw new UserError(`${k} must be ${issue.message}, got ${JSON.stringify(given[k])}`);
}

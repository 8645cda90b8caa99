// The one schema of a checkpoint's config.json (zod 4). A checkpoint is input from strangers: every field
// the loader uses is typed and bounded here; the model's own options are checked later by the model's schema.
import { z } from 'zod';
import { UserError } from '../core/model.js';
import { oneLine } from '../io/oneline.js';

export const CHECKPOINT_FORMAT = 'genmodels-checkpoint';
/** 2: optional `modelState` (GenerativeModel.getState) and `state/<name>` tensors. Version 1 still loads. */
export const CHECKPOINT_VERSION = 2;

/** Limits on what a checkpoint may ask for. */
export const CHECKPOINT_LIMITS = {
  /** config.json */
  maxConfigBytes: 64 * 1024 * 1024,
  /** model.safetensors */
  maxWeightsBytes: 2 * 1024 * 1024 * 1024,
  /** product of the data shape */
  maxDataDims: 1 << 22,
  maxClasses: 100_000,
};

const int0 = z.int().nonnegative();
/** a plain file name inside the checkpoint folder: no separators, not '.' or '..', no leading dot */
const fileName = z
  .string()
  .max(255)
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, 'must be a plain file name inside the checkpoint folder');

const taxonomy = z.looseObject({
  family: z.string().max(64),
  density: z.string().max(64),
  sampling: z.string().max(64),
  latent: z.boolean(),
  conditional: z.boolean(),
});

export const dataSpecSchema = z
  .object({
    kind: z.enum(['image', 'vector']),
    shape: z.array(z.int().min(1).max(CHECKPOINT_LIMITS.maxDataDims)).min(1).max(4),
    domain: z.enum(['binary', 'unit', 'real']),
    numClasses: z.int().min(1).max(CHECKPOINT_LIMITS.maxClasses).optional(),
    levels: z.int().min(2).max(65536).optional(),
  })
  .refine((s) => s.shape.reduce((a, b) => a * b, 1) <= CHECKPOINT_LIMITS.maxDataDims, {
    message: `the data shape has more than ${CHECKPOINT_LIMITS.maxDataDims} values`,
    path: ['shape'],
  })
  .refine((s) => s.kind !== 'image' || s.shape.length === 3, {
    message: 'an image shape is [height, width, channels]',
    path: ['shape'],
  });

const finite = z.number().finite();
export const datasetConfigSchema = z.object({
  name: z.string().min(1).max(64),
  options: z.record(z.string().max(64), z.unknown()),
  stats: z
    .looseObject({
      mean: z.array(finite).max(CHECKPOINT_LIMITS.maxDataDims).optional(),
      std: z.array(finite.positive()).max(CHECKPOINT_LIMITS.maxDataDims).optional(),
      classes: z.array(z.string().max(1000)).max(CHECKPOINT_LIMITS.maxClasses).optional(),
      numClasses: z.int().min(1).max(CHECKPOINT_LIMITS.maxClasses).optional(),
    })
    .optional(),
});

export const trainStateSchema = z.looseObject({
  /** epochs completed */
  epoch: int0,
  /** optimizer steps (batches) completed in total */
  step: int0,
  /** batches consumed in the current (incomplete) epoch */
  stepInEpoch: int0,
  rng: z.object({ seed: z.int().min(0).max(0xffffffff), counter: int0 }),
  /** per objective: number of updates its optimizer has applied */
  optim: z.record(z.string().max(200), z.object({ t: int0 })),
  /** most recent evaluation / training metrics, and the best of each (JSON writes NaN as null) */
  last: z.record(z.string(), finite.nullable()).optional(),
  best: z.record(z.string(), finite.nullable()).optional(),
  elapsedSec: z.number().finite().nonnegative().optional(),
});

export const checkpointConfigSchema = z.looseObject({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.int().min(1).max(CHECKPOINT_VERSION),
  model: z.object({
    kind: z.string().min(1).max(100),
    config: z.record(z.string().max(200), z.unknown()),
    taxonomy,
  }),
  spec: dataSpecSchema,
  data: datasetConfigSchema.nullable(),
  /** the training configuration (TrainConfig), including optimizer hyper-parameters */
  train: z.looseObject({ seed: int0.optional() }),
  state: trainStateSchema,
  backend: z.string().max(100).optional(),
  createdAt: z.string().max(100).optional(),
  weights: z.object({ file: fileName, bytes: int0.max(CHECKPOINT_LIMITS.maxWeightsBytes) }),
  /** GenerativeModel.getState().json (version 2) */
  modelState: z.unknown().optional(),
});

/** Validate parsed config.json; the first problem becomes a one-line UserError naming the field. */
export function parseCheckpointConfig(raw: unknown, file: string): z.infer<typeof checkpointConfigSchema> {
  if (typeof raw !== 'object' || raw === null || (raw as { format?: unknown }).format !== CHECKPOINT_FORMAT)
    throw new UserError(`${file} is not a genmodels checkpoint (format field missing or foreign)`);
  const version = (raw as { version?: unknown }).version;
  if (typeof version === 'number' && version > CHECKPOINT_VERSION) {
    throw new UserError(
      `${file}: checkpoint version ${oneLine(version)} is newer than this genmodels understands (${CHECKPOINT_VERSION})`,
    );
  }
  const r = checkpointConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.map((p) => oneLine(String(p), 40)).join('.') || '(top level)';
    throw new UserError(`${file}: invalid checkpoint config: ${where}: ${oneLine(issue.message, 160)}`);
  }
  return r.data;
}

// Evaluate a checkpoint on the dataset it records (EMA weights when it has them, unless useEma is false).
import { UserError } from '../core/model.js';
import { loadDataset } from '../data/index.js';
import { evaluate, type EvalOptions, type EvalResult } from '../eval/evaluate.js';
import { loadCheckpoint, readCheckpointConfig, type CheckpointConfig } from '../train/checkpoint.js';
import { checkIterativeFlags, useBackend } from './common.js';

export interface EvalCheckpointOptions extends EvalOptions {
  backend?: string;
  /** evaluate the EMA weights of a run trained with an EMA (default true) */
  useEma?: boolean;
}

export async function evalCheckpoint(
  dir: string,
  opts: EvalCheckpointOptions,
): Promise<{ result: EvalResult; config: CheckpointConfig; backend: string }> {
  const { backend: backendArg, useEma = true, ...evalOpts } = opts;
  const { config } = readCheckpointConfig(dir); // fail on a foreign checkpoint before starting a backend
  if (!config.data) throw new UserError('this checkpoint does not record its dataset');
  checkIterativeFlags(config.model, Object.keys(evalOpts.iterative ?? {}));
  const backend = await useBackend(backendArg);
  const ck = loadCheckpoint(dir, { useEma });
  try {
    return { result: await evaluate(ck.model, loadDataset(config.data), evalOpts), config, backend };
  } finally {
    ck.model.dispose();
  }
}

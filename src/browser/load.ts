// Loading a checkpoint over HTTP: config.json and the weights file it names, fetched from one folder URL
// (a run's checkpoint/ or assets/pretrained/<name>/), validated by the same schema and rebuilt by the same
// restoreCheckpoint as Node's loadCheckpoint (F16 weights widened to F32).
import { UserError } from '../core/errors.js';
import { decodeSafetensors } from '../io/safetensors-core.js';
import type { CheckpointConfig, LoadedCheckpoint } from '../train/checkpoint.js';
import { restoreCheckpoint } from '../train/checkpoint-restore.js';
import { CHECKPOINT_LIMITS, parseCheckpointConfig } from '../train/checkpoint-schema.js';

export interface LoadedFromUrl extends LoadedCheckpoint {
  /** the folder URL */
  url: string;
  /** results.json beside the checkpoint (a pretrained model's evaluation), when present */
  results: unknown;
}

async function get(url: string, what: string): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new UserError(`cannot fetch ${what} ${url}: ${(e as Error).message}`);
  }
  if (!r.ok) throw new UserError(`cannot fetch ${what} ${url}: HTTP ${r.status}`);
  return r;
}

/** Fetch and validate config.json of the checkpoint folder at `baseUrl`. */
export async function fetchCheckpointConfig(baseUrl: string): Promise<CheckpointConfig> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const file = new URL('config.json', base).href;
  const text = await (await get(file, 'checkpoint config')).text();
  if (text.length > CHECKPOINT_LIMITS.maxConfigBytes) throw new UserError(`${file} is too large`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError(`${file} is not a genmodels checkpoint config (not valid JSON)`);
  }
  return parseCheckpointConfig(raw, file) as unknown as CheckpointConfig;
}

/**
 * Build the model of the checkpoint folder at `baseUrl` (the model's family must be registered: the
 * browser entry registers all). `useEma` (default true): the EMA weights when the checkpoint has them.
 */
export async function loadModelFromUrl(
  baseUrl: string,
  opts: { useEma?: boolean } = {},
): Promise<LoadedFromUrl> {
  // relative to the page (or to the worker's script, in a worker, which has no document)
  const here = typeof document !== 'undefined' ? document.baseURI : location.href;
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`, here).href;
  const config = await fetchCheckpointConfig(base);
  const wurl = new URL(config.weights.file, base).href;
  const buf = new Uint8Array(await (await get(wurl, 'weights')).arrayBuffer());
  if (buf.length !== config.weights.bytes)
    throw new UserError(
      `${wurl} has ${buf.length} bytes, its config says ${config.weights.bytes} (truncated?)`,
    );
  const { tensors } = decodeSafetensors(buf, wurl, { maxFileBytes: CHECKPOINT_LIMITS.maxWeightsBytes });
  const ck = restoreCheckpoint(base, config, tensors, buf.length, { useEma: opts.useEma ?? true });
  let results: unknown = null;
  try {
    const r = await fetch(new URL('results.json', base).href);
    if (r.ok) results = await r.json();
  } catch {
    results = null;
  }
  return { ...ck, url: base, results };
}

// Token grids of a discrete-latent model (VQ-VAE): encode a split's images to their nearest-code grids (JSON or
// safetensors, usable outside), with the codebook's usage on them and the reconstruction error; decode a token
// file back to images; the figure of test images, their reconstructions and samples of the prior.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type GenerativeModel } from '../core/model.js';
import { batches, displayTransform, loadDataset } from '../data/index.js';
import { dims } from '../data/spec.js';
import type { DatasetConfig } from '../data/types.js';
import { writeFileAtomic } from '../io/atomic.js';
import { imageGrid, savePng } from '../io/png.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { loadCheckpoint, readCheckpointConfig } from '../train/checkpoint.js';
import { Progress } from '../train/progress.js';
import { stderrLog, useBackend, type Log } from './common.js';
import { csvSink, gridSink, LIMITS, outputFormat } from './render.js';

/** A model with a grid of discrete codes (VQ-VAE): what encode / decode need of it. */
export interface TokenModel extends GenerativeModel {
  readonly grid: [number, number];
  readonly cfg: { codes: number };
  encodeTokens(x: tf.Tensor): tf.Tensor3D;
  decodeTokens(idx: tf.Tensor): tf.Tensor;
  /** log p(x | z_q(x)) per image and the codes [n h w] */
  reconTerms(x: tf.Tensor): { logPxz: tf.Tensor1D; idx: tf.Tensor1D };
}

export function isTokenModel(m: GenerativeModel): m is TokenModel {
  const t = m as Partial<TokenModel>;
  return (
    typeof t.encodeTokens === 'function' &&
    typeof t.decodeTokens === 'function' &&
    typeof t.reconTerms === 'function' &&
    Array.isArray(t.grid)
  );
}

/** A token file's content: int32 codes [n, h, w] row-major, the codebook size, and labels when known. */
export interface Tokens {
  tokens: Int32Array;
  shape: [number, number, number];
  codes: number;
  labels?: Int32Array;
}

function tokenFormat(file: string): 'json' | 'safetensors' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.safetensors') return 'safetensors';
  throw new UserError(`${file}: token files are .json or .safetensors (got '${ext}')`);
}

/** Write tokens as JSON {format, codes, shape, tokens: n x h x w nested lists, labels?} or safetensors
 *  (I32 'tokens' [n, h, w] and 'labels' [n]; metadata codes). */
export function writeTokens(file: string, t: Tokens): void {
  const [n, h, w] = t.shape;
  if (tokenFormat(file) === 'safetensors') {
    writeSafetensors(
      file,
      {
        tokens: { dtype: 'I32', shape: [n, h, w], data: t.tokens },
        ...(t.labels ? { labels: { dtype: 'I32', shape: [n], data: t.labels } } : {}),
      },
      { format: 'genmodels-tokens', codes: String(t.codes) },
    );
    return;
  }
  const grid = Array.from({ length: n }, (_, i) =>
    Array.from({ length: h }, (_, r) => Array.from(t.tokens.subarray((i * h + r) * w, (i * h + r + 1) * w))),
  );
  const json = {
    format: 'genmodels-tokens',
    codes: t.codes,
    shape: [n, h, w],
    tokens: grid,
    ...(t.labels ? { labels: Array.from(t.labels) } : {}),
  };
  writeFileAtomic(file, JSON.stringify(json) + '\n');
}

/** Read a token file written by writeTokens (or by hand in its JSON form); checks shape and range. */
export function readTokens(file: string): Tokens {
  let t: Tokens;
  if (tokenFormat(file) === 'safetensors') {
    const { tensors, metadata } = readSafetensors(file);
    const tok = tensors.get('tokens');
    if (!tok || tok.dtype !== 'I32' || tok.shape.length !== 3)
      throw new UserError(`${file}: needs an I32 tensor 'tokens' of shape [n, h, w]`);
    const lab = tensors.get('labels');
    t = {
      tokens: tok.data as Int32Array,
      shape: tok.shape as [number, number, number],
      codes: Number(metadata['codes'] ?? NaN),
      ...(lab ? { labels: lab.data as Int32Array } : {}),
    };
  } else {
    let j: { codes?: unknown; tokens?: unknown; labels?: unknown };
    try {
      j = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UserError(`${file}: not a readable JSON token file (${(e as Error).message.split('\n')[0]})`);
    }
    const g = j.tokens;
    const ok = Array.isArray(g) && g.every((a) => Array.isArray(a) && a.every((r) => Array.isArray(r)));
    if (!ok || (g as unknown[]).length === 0)
      throw new UserError(`${file}: 'tokens' must be a non-empty n x h x w nested list`);
    const grid = g as number[][][];
    const [h, w] = [grid[0]!.length, grid[0]![0]?.length ?? 0];
    if (grid.some((a) => a.length !== h || a.some((r) => r.length !== w)))
      throw new UserError(`${file}: every token grid must be ${h} x ${w}`);
    t = {
      tokens: Int32Array.from(grid.flat(2)),
      shape: [grid.length, h, w],
      codes: Number(j.codes ?? NaN),
      ...(Array.isArray(j.labels) ? { labels: Int32Array.from(j.labels as number[]) } : {}),
    };
  }
  return t;
}

export interface EncodeOptions {
  /** .json or .safetensors */
  out: string;
  split?: 'train' | 'test';
  /** the first `limit` images of the split (0 / undefined: all) */
  limit?: number;
  batchSize?: number;
  /** also write this PNG: test images, their reconstructions, samples of the prior (one row each) */
  figure?: string;
  /** images per row of the figure */
  figureN?: number;
  seed?: number;
  backend?: string;
  log?: Log;
}

/** What encode measures on the encoded images. */
export interface TokenSummary {
  n: number;
  grid: [number, number];
  codes: number;
  /** codes used at least once, and the perplexity exp(H) of the code frequencies */
  used: number;
  perplexity: number;
  /** mean squared error per pixel of E[x | z_q] against x (model space) */
  mse: number;
  /** mean -log p(x | z_q) per image in nats */
  reconNats: number;
}

function loadTokenModel(ckptDir: string) {
  const ck = loadCheckpoint(ckptDir, { useEma: true });
  if (!isTokenModel(ck.model)) {
    ck.model.dispose();
    throw new UserError(
      `model '${ck.config.model.kind}' has no discrete codes (encode / decode need a VQ-VAE)`,
    );
  }
  return { ck, model: ck.model };
}

/** Encode a split of the checkpoint's dataset to token grids in opts.out; returns what it measured. */
export async function encodeToFile(ckptDir: string, opts: EncodeOptions): Promise<TokenSummary> {
  const log = opts.log ?? stderrLog;
  tokenFormat(opts.out);
  if (opts.figure !== undefined && outputFormat(opts.figure, '--figure') !== 'png')
    throw new UserError(`--figure ${opts.figure}: the figure is a .png`);
  const { config } = readCheckpointConfig(ckptDir);
  if (!config.data) throw new UserError('this checkpoint does not record its dataset');
  await useBackend(opts.backend);
  const { model } = loadTokenModel(ckptDir);
  try {
    const ds = loadDataset(config.data as DatasetConfig);
    const split = opts.split ?? 'test';
    const data = split === 'train' ? ds.train : ds.test;
    const N = opts.limit ? Math.min(opts.limit, data.n) : data.n;
    const [h, w] = model.grid;
    const K = model.cfg.codes;
    const tokens = new Int32Array(N * h * w);
    const labels = data.y ? new Int32Array(N) : undefined;
    const D = dims(model.spec);
    let sqErr = 0;
    let nats = 0;
    let seen = 0;
    const bar = new Progress(N >= 2000 ? 'auto' : 'none');
    bar.start(N, `encode ${split}`);
    for (const b of batches(ds, split, opts.batchSize ?? 256, {
      epoch: 0,
      seed: opts.seed ?? 0,
      shuffle: false,
    })) {
      if (seen >= N) break;
      const n = Math.min(b.n, N - seen);
      const { idx, se, nll } = tf.tidy(() => {
        const x = tf.tensor(b.x.subarray(0, n * D), [n, ...model.spec.shape]);
        const { logPxz: lpxz, idx: flat } = model.reconTerms(x);
        const idx = tf.reshape(flat, [n, h, w]);
        const rec = model.decodeTokens(idx);
        return {
          idx: idx.dataSync() as Int32Array,
          se: tf.sum(tf.square(tf.sub(rec, x))).dataSync()[0]!,
          nll: -tf.sum(lpxz).dataSync()[0]!,
        };
      });
      tokens.set(idx, seen * h * w);
      if (labels && b.y) labels.set(b.y.subarray(0, n), seen);
      sqErr += se;
      nats += nll;
      seen += n;
      bar.update(seen, '');
      await new Promise<void>((r) => setImmediate(r));
    }
    bar.stop();
    const counts = new Float64Array(K);
    for (const k of tokens) counts[k]! += 1;
    let H = 0;
    for (const c of counts) if (c > 0) H -= (c / tokens.length) * Math.log(c / tokens.length);
    const summary: TokenSummary = {
      n: seen,
      grid: [h, w],
      codes: K,
      used: counts.filter((c) => c > 0).length,
      perplexity: Math.exp(H),
      mse: sqErr / (seen * D),
      reconNats: nats / seen,
    };
    writeTokens(opts.out, { tokens, shape: [seen, h, w], codes: K, ...(labels ? { labels } : {}) });
    log(
      `wrote ${seen} token grids ${h}x${w} (K=${K}) of the ${split} split to ${opts.out}: codes used ${summary.used}/${K}, ` +
        `perplexity ${summary.perplexity.toFixed(2)}, reconstruction MSE ${summary.mse.toFixed(5)}, ` +
        `-log p(x|z_q) ${summary.reconNats.toFixed(2)} nats`,
    );
    if (opts.figure) {
      const first = batches(ds, 'test', opts.figureN ?? 16, {
        epoch: 0,
        seed: opts.seed ?? 0,
        shuffle: false,
      }).next().value!;
      writeFigure(
        model,
        first.x,
        opts.figure,
        opts.figureN ?? 16,
        opts.seed ?? 0,
        config.data as DatasetConfig,
      );
      log(`wrote ${opts.figure}: test images, reconstructions, prior samples`);
    }
    return summary;
  } finally {
    model.dispose();
  }
}

/** One PNG: m test images, their reconstructions E[x | z_q(x)], m samples of the prior (display values). */
/** testX: prepared (model-space) test images, at least m of them */
function writeFigure(
  model: TokenModel,
  testX: Float32Array,
  file: string,
  m: number,
  seed: number,
  data: DatasetConfig,
): void {
  const D = dims(model.spec);
  const display = displayTransform(data, model.spec);
  const rows = tf.tidy(() => {
    const x = tf.tensor(testX.subarray(0, m * D), [m, ...model.spec.shape]);
    const rec = model.decodeTokens(model.encodeTokens(x));
    const labels = model.taxonomy.conditional
      ? { label: Array.from({ length: m }, (_, i) => i % (model.spec.numClasses ?? 1)) }
      : {};
    const s = model.sample(m, { seed, ...labels });
    return [x, rec, s].map((t) => t.dataSync() as Float32Array);
  });
  const all = new Float32Array(3 * m * D);
  rows.forEach((r, i) => all.set(display(r), i * m * D));
  savePng(file, imageGrid(all, [3 * m, ...model.spec.shape], { nrow: m }));
}

export interface DecodeOptions {
  /** .png (a grid) or .csv (one row of pixel values per image) */
  out: string;
  batchSize?: number;
  backend?: string;
  log?: Log;
}

/** Decode a token file (writeTokens' formats) to images E[x | z_q] in a PNG grid or CSV. */
export async function decodeToFile(
  ckptDir: string,
  tokensFile: string,
  opts: DecodeOptions,
): Promise<{ n: number }> {
  const log = opts.log ?? stderrLog;
  const format = outputFormat(opts.out);
  const t = readTokens(tokensFile);
  const { config } = readCheckpointConfig(ckptDir);
  const [n, h, w] = t.shape;
  if (format === 'png' && n > LIMITS.gridImages)
    throw new UserError(`${tokensFile}: ${n} grids; a PNG grid holds at most ${LIMITS.gridImages} images`);
  await useBackend(opts.backend);
  const { model } = loadTokenModel(ckptDir);
  try {
    const [gh, gw] = model.grid;
    const K = model.cfg.codes;
    if (h !== gh || w !== gw)
      throw new UserError(`${tokensFile}: grids are ${h}x${w}; this model's are ${gh}x${gw}`);
    if (Number.isFinite(t.codes) && t.codes !== K)
      throw new UserError(`${tokensFile}: written for K=${t.codes} codes; this model has ${K}`);
    const bad = t.tokens.findIndex((k) => !(k >= 0 && k < K));
    if (bad >= 0)
      throw new UserError(`${tokensFile}: token ${t.tokens[bad]} at ${bad} is outside 0..${K - 1}`);
    const display = displayTransform(config.data as DatasetConfig | null, model.spec);
    const sink =
      format === 'png' ? gridSink(opts.out, n, model.spec.shape) : csvSink(opts.out, dims(model.spec));
    const bs = opts.batchSize ?? 256;
    try {
      for (let i = 0; i < n; i += bs) {
        const c = Math.min(bs, n - i);
        const x = tf.tidy(() => {
          const idx = tf.tensor3d(t.tokens.subarray(i * h * w, (i + c) * h * w), [c, h, w], 'int32');
          return model.decodeTokens(idx).dataSync() as Float32Array;
        });
        await sink.add(display(x), c);
      }
      await sink.finish();
    } catch (e) {
      sink.abort();
      throw e;
    }
    log(`decoded ${n} token grids to ${opts.out}`);
    return { n };
  } finally {
    model.dispose();
  }
}

// Anomaly scores of a trained model, chosen from its taxonomy (never its name); higher = more anomalous.
//   density exact | bound | estimate: s(x) = -log p(x) of the ORIGINAL data in nats, from the model's headline
//     estimate (src/eval/estimates.ts: exact NLL; -ELBO, or -IWAE_K with iw = K; a model's own such as AIS):
//     -log p(x) = -(log p_model(x_model) + logDet(x)), logDet the data transform's Jacobian (as eval does);
//   density unnormalized: the energy E(x) - logDet(x) (= -log p(x) + log Z: a constant shift, ranks agree);
//   density none: the discriminator's -logit D(x) when the model has one, else the reconstruction error
//     ||x - decode(encode(x))||^2 when it encodes and decodes, else no score (a UserError says so).
// A class-conditional model scores the marginal with a uniform prior, -log (1/C) sum_y p(x|y): the labels of
// the inputs (which may come from another data set) are not used.
// Corrections for the likelihood's known failure on out-of-distribution images (Nalisnick et al. 2019):
//   ratio: s(x) = -log p(x) + log p_bg(x), the likelihood ratio against a background model (Ren et al. 2019,
//     eq. 5: LLR = log p_theta(x) - log p_theta0(x); the background is trained on perturbed inputs);
//   complexity: s(x) = -log p(x) - L(x) ln 2, L(x) the compressed length in bits of the 8-bit image (its PNG
//     file, zlib level 9), so S is in nats (Serra et al. 2020, eq. 2, S = -l_M(x) - L(x) in bits).
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { UserError, type Estimate, type GenerativeModel } from '../core/model.js';
import { modelEstimates, type Density } from '../eval/estimates.js';

export const SCORE_METHODS = ['nll', 'ratio', 'complexity'] as const;
export type ScoreMethod = (typeof SCORE_METHODS)[number];

export type ScoreKind = 'exact' | 'bound' | 'estimate' | 'energy' | 'discriminator' | 'reconstruction';

/** One per-example score of a model: higher = more anomalous. */
export interface Scorer {
  /** 'nll' | 'elbo' | 'iwae' | 'ais' | ... (the estimate's key), 'energy', 'discriminator', 'reconstruction' */
  name: string;
  /** e.g. '-log p(x) [NLL]', '-ELBO', 'energy' */
  label: string;
  kind: ScoreKind;
  /** nats for the densities (data space), else the model's own unit */
  unit: 'nats' | 'energy' | 'logit' | 'squared error';
  /** once before the data pass (e.g. AIS for log Z) */
  prepare?: (seed: number) => Promise<void>;
  /**
   * Scores [n] of a model-space batch x; raw: the same rows as stored (images: pixel / 255), for scores
   * that read the original data (input complexity).
   */
  score: (x: tf.Tensor, seed: number, raw: Float32Array) => tf.Tensor1D;
}

export interface ScorerOptions {
  /** log|det d(model x)/d(original data)| of the data transform [n] (absent: zero) */
  logDet?: (x: tf.Tensor) => tf.Tensor1D;
  /** importance samples of a bound model's -IWAE_K (0/1: the ELBO), or an estimate's K */
  iw?: number;
}

/** The estimate to score with: exact, else a model's own estimate, else the one taking K, else the first. */
function headline(list: Estimate[], iw: number): Estimate | undefined {
  return (
    list.find((e) => e.kind === 'exact') ??
    list.find((e) => e.kind === 'estimate') ??
    (iw > 1 ? list.find((e) => e.k === iw) : undefined) ??
    list[0]
  );
}

/** log (1/C) sum_y exp(f(x, y)) for a conditional model; f(x) for an unconditional one. */
function marginal(
  model: GenerativeModel,
  n: number,
  f: (y: tf.Tensor1D | undefined) => tf.Tensor1D,
): tf.Tensor1D {
  if (!model.taxonomy.conditional) return f(undefined);
  const C = model.spec.numClasses ?? 0;
  if (C < 1) throw new UserError(`conditional model '${model.kind}' records no classes`);
  return tf.tidy(() => {
    const per = Array.from({ length: C }, (_, c) => f(tf.fill([n], c, 'int32') as tf.Tensor1D));
    return tf.sub(tf.logSumExp(tf.stack(per), 0), Math.log(C)) as tf.Tensor1D;
  });
}

const zeros = (x: tf.Tensor) => tf.zeros([x.shape[0]!]) as tf.Tensor1D;

/** The density score -log p(x) in nats of the original data, or undefined when the model has no likelihood. */
export function densityScorer(model: GenerativeModel, opts: ScorerOptions = {}): Scorer | undefined {
  const iw = opts.iw ?? 0;
  const list = modelEstimates(model, iw);
  if (iw > 1 && list.length > 0 && !list.some((e) => e.k === iw))
    throw new UserError(
      `--iw applies to estimates that take a sample count; '${model.kind}' offers ${list.map((e) => e.label).join(', ')}`,
    );
  const e = headline(list, iw);
  if (!e) return undefined;
  const logDet = opts.logDet ?? zeros;
  const scorer: Scorer = {
    name: e.name,
    label: e.label,
    kind: e.kind,
    unit: 'nats',
    score: (x, seed) =>
      tf.tidy(() => {
        const ll = marginal(model, x.shape[0]!, (y) => e.logLik(x, y, seed));
        return tf.neg(tf.add(ll, logDet(x))) as tf.Tensor1D;
      }),
  };
  if (e.prepare) {
    const prep = e.prepare;
    scorer.prepare = async (seed) => void (await prep({ seed }));
  }
  return scorer;
}

interface Discriminating {
  logits(x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor1D;
}
const hasLogits = (m: GenerativeModel): m is GenerativeModel & Discriminating =>
  typeof (m as Partial<Discriminating>).logits === 'function';

/** The model's anomaly score from its taxonomy (see the header); a UserError when it offers none. */
export function modelScorer(model: GenerativeModel, opts: ScorerOptions = {}): Scorer {
  const density = model.taxonomy.density as Density;
  const logDet = opts.logDet ?? zeros;
  const ds = densityScorer(model, opts);
  if (ds) return ds;
  if (density === 'unnormalized') {
    if (!model.energy)
      throw new UserError(`model '${model.kind}' has an unnormalized density but no energy to score with`);
    const energy = model.energy.bind(model);
    return {
      name: 'energy',
      label: 'energy E(x)',
      kind: 'energy',
      unit: 'energy',
      score: (x) =>
        tf.tidy(
          () =>
            tf.sub(
              marginal(model, x.shape[0]!, () => energy(x)),
              logDet(x),
            ) as tf.Tensor1D,
        ),
    };
  }
  if (density === 'none' && hasLogits(model)) {
    return {
      name: 'discriminator',
      label: '-logit D(x)',
      kind: 'discriminator',
      unit: 'logit',
      // a conditional discriminator: the most real-looking class, max_y logit D(x, y)
      score: (x) =>
        tf.tidy(() => {
          const n = x.shape[0]!;
          if (!model.taxonomy.conditional) return tf.neg(model.logits(x)) as tf.Tensor1D;
          const C = model.spec.numClasses ?? 1;
          const per = Array.from({ length: C }, (_, c) =>
            model.logits(x, tf.fill([n], c, 'int32') as tf.Tensor1D),
          );
          return tf.neg(tf.max(tf.stack(per), 0)) as tf.Tensor1D;
        }),
    };
  }
  if (density === 'none' && model.encode && model.decode && !model.taxonomy.conditional) {
    const enc = model.encode.bind(model);
    const dec = model.decode.bind(model);
    return {
      name: 'reconstruction',
      label: '||x - decode(encode(x))||^2',
      kind: 'reconstruction',
      unit: 'squared error',
      score: (x) =>
        tf.tidy(() => {
          const r = tf.sub(x, dec(enc(x)));
          return tf.sum(tf.reshape(tf.square(r), [x.shape[0]!, -1]), 1) as tf.Tensor1D;
        }),
    };
  }
  throw new UserError(
    `model '${model.kind}' (${density} density) offers no anomaly score: no likelihood, energy, discriminator or reconstruction`,
  );
}

/**
 * Compressed length in bits of each raw image (values in [0,1], k / (levels - 1)), as an 8-bit PNG at zlib
 * level 9. shape: [H, W, C] with C = 1 (gray) or 3 (RGB).
 */
export function pngBits(raw: Float32Array, shape: number[]): Float64Array {
  const [H, W, C] = shape as [number, number, number];
  if (shape.length !== 3 || (C !== 1 && C !== 3))
    throw new UserError(`input complexity needs gray or RGB images, not data of shape [${shape}]`);
  const D = H * W * C;
  const n = raw.length / D;
  const out = new Float64Array(n);
  const buf = Buffer.alloc(D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < D; j++) buf[j] = Math.round(Math.min(1, Math.max(0, raw[i * D + j]!)) * 255);
    const png = PNG.sync.write({ width: W, height: H, data: buf } as unknown as PNG, {
      colorType: C === 1 ? 0 : 2,
      inputColorType: C === 1 ? 0 : 2,
      inputHasAlpha: false,
      bitDepth: 8,
      deflateLevel: 9,
    });
    out[i] = png.length * 8;
  }
  return out;
}

/** Input complexity (Serra et al. 2020): -log p(x) - L(x) ln 2 in nats. */
export function complexityScorer(base: Scorer, shape: number[]): Scorer {
  if (base.unit !== 'nats')
    throw new UserError(`--score complexity needs a likelihood; this model's score is ${base.label}`);
  if (shape.length !== 3)
    throw new UserError(`--score complexity needs images, not vectors of shape [${shape}]`);
  return {
    ...base,
    name: `${base.name}-complexity`,
    label: `${base.label} - L(x) ln 2`,
    score: (x, seed, raw) =>
      tf.tidy(() => {
        const bits = pngBits(raw, shape);
        const nats = tf.tensor1d(Float32Array.from(bits, (b) => b * Math.LN2));
        return tf.sub(base.score(x, seed, raw), nats) as tf.Tensor1D;
      }),
  };
}

/** Likelihood ratio (Ren et al. 2019): -log p(x) + log p_bg(x) in nats. */
export function ratioScorer(base: Scorer, background: Scorer): Scorer {
  if (base.unit !== 'nats' || background.unit !== 'nats')
    throw new UserError(`--score ratio needs two likelihoods; got ${base.label} and ${background.label}`);
  const prepares = [base.prepare, background.prepare].filter((p) => p !== undefined);
  return {
    name: `${base.name}-ratio`,
    label: `${base.label} - background ${background.label}`,
    kind: base.kind,
    unit: 'nats',
    ...(prepares.length
      ? {
          prepare: async (seed: number) => {
            for (const [i, p] of prepares.entries()) await p(seed + i);
          },
        }
      : {}),
    score: (x, seed, raw) =>
      tf.tidy(() => tf.sub(base.score(x, seed, raw), background.score(x, seed + 1, raw)) as tf.Tensor1D),
  };
}

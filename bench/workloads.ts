// Benchmark workloads: one training step each, written once in tfjs-core and run unchanged on every backend.
// bench/reference.py builds the same networks in PyTorch from the same numbers: every initial weight, the
// data batch and the VAE noise come from the project's counter-based Rng (src/core/rng.ts), which reference.py
// re-implements bit for bit, so step-1 and step-2 losses are comparable across tfjs backends and PyTorch.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../src/core/rng.js';
import { ADAM_DEFAULTS, Adam, type OptimConfig } from '../src/train/optim.js';
import type { DataSpec } from '../src/data/spec.js';
import { createGlow } from '../src/families/flows/glow.js';
import { sigmoidCrossEntropy } from '../src/ops/fused.js';
import { makeDdim, makeUnetStep } from './unet.js';

export type WorkloadName = 'W1' | 'W2' | 'G' | 'U' | 'D';

export const WORKLOADS: Record<WorkloadName, string> = {
  W1: 'MLP VAE step (batch 128, 784-512-{32,32} / 32-512-784, Adam)',
  W2: 'conv step (batch 64, 28x28x1, 3x conv3x3 64ch + conv1x1, Adam)',
  G: 'Glow step (batch 16, 28x28x1, L=2, K=4, conv width 64, Adam)',
  U: 'U-Net training step (the ddpm-mnist U-Net: 28x28x1, channels 16/32/32, GroupNorm 8, attention at 7x7; batch 16, L_simple, Adam)',
  D: 'DDIM sampling (same U-Net, 16 images, 10 steps, eta 0; the table shows images/s)',
};

/**
 * The library's Adam (src/train/optim.ts, what the training loop uses) configured as the PyTorch reference:
 * lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay, constant rate, no clipping.
 */
export const ADAM: OptimConfig = { ...ADAM_DEFAULTS };

/** Seeds shared with reference.py: data batch, VAE noise, and parameter i uses PARAM_SEED + i. */
export const DATA_SEED = 1;
export const EPS_SEED = 2;
export const PARAM_SEED = 1000;

/** n values uniform in [0, 1) from Rng(seed), counter 0. */
export function uniforms(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.next();
  return out;
}

/** n standard normals from Rng(seed) (Box-Muller, two draws each). */
export function normals(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** A {0,1} batch: u < 0.5 -> 1. */
export function binaryData(shape: number[]): tf.Tensor {
  const u = uniforms(
    DATA_SEED,
    shape.reduce((a, b) => a * b, 1),
  );
  return tf.tensor(
    u.map((v) => (v < 0.5 ? 1 : 0)),
    shape,
  );
}

/** PyTorch's default Linear/Conv init range: U(-1/sqrt(fanIn), 1/sqrt(fanIn)), for weights and biases. */
function param(index: number, shape: number[], fanIn: number, name: string): tf.Variable {
  const bound = 1 / Math.sqrt(fanIn);
  const u = uniforms(
    PARAM_SEED + index,
    shape.reduce((a, b) => a * b, 1),
  );
  // tidy: the initial tensor is released, the variable keeps the only reference to its memory
  return tf.tidy(() =>
    tf.variable(
      tf.tensor(
        u.map((v) => (2 * v - 1) * bound),
        shape,
      ),
      true,
      name,
    ),
  );
}

/** One benchmarkable training step. */
export interface Workload {
  name: WorkloadName;
  /** one Adam step; returns the loss before the update (caller disposes) */
  step(): tf.Scalar;
  dispose(): void;
}

/**
 * Sigmoid cross-entropy with logits, elementwise: max(l,0) - l*x + log(1 + exp(-|l|)). The library's fused op
 * (src/ops/fused.ts; what its Bernoulli likelihood uses), as PyTorch's F.binary_cross_entropy_with_logits.
 */
const sigmoidCE = sigmoidCrossEntropy;

/** A training step with the library's Adam over vars (keyed by variable name), and its optimizer state. */
function makeStep(vars: tf.Variable[], lossFn: () => tf.Scalar): { step: () => tf.Scalar; opt: Adam } {
  const opt = new Adam(new Map(vars.map((v) => [v.name, v])), ADAM);
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      opt.apply(new Map(Object.entries(grads)), ADAM.lr);
      return value;
    });
  return { step, opt };
}

/**
 * W1: a VAE step (Kingma & Welling 2014). Encoder 784-512-relu, heads mu, logVar (512->32);
 * z = mu + exp(logVar/2) * eps; decoder 32-512-relu-784 logits.
 * loss = mean_batch [ sum_d BCE(logits, x) + KL(N(mu, exp(logVar)) || N(0, I)) ],
 * KL = -1/2 sum (1 + logVar - mu^2 - exp(logVar))   (Kingma & Welling 2014, Appendix B).
 * eps is drawn once from Rng(EPS_SEED) and reused every step (identical in reference.py).
 */
export function makeW1(): Workload {
  const B = 128,
    D = 784,
    H = 512,
    Z = 32;
  const x = binaryData([B, D]);
  const eps = tf.tensor2d(normals(EPS_SEED, B * Z), [B, Z]);
  let i = 0;
  const enc1W = param(i++, [D, H], D, 'enc1.W');
  const enc1b = param(i++, [H], D, 'enc1.b');
  const muW = param(i++, [H, Z], H, 'mu.W');
  const mub = param(i++, [Z], H, 'mu.b');
  const lvW = param(i++, [H, Z], H, 'logVar.W');
  const lvb = param(i++, [Z], H, 'logVar.b');
  const dec1W = param(i++, [Z, H], Z, 'dec1.W');
  const dec1b = param(i++, [H], Z, 'dec1.b');
  const dec2W = param(i++, [H, D], H, 'dec2.W');
  const dec2b = param(i++, [D], H, 'dec2.b');
  const vars = [enc1W, enc1b, muW, mub, lvW, lvb, dec1W, dec1b, dec2W, dec2b];

  const loss = (): tf.Scalar => {
    const h = tf.relu(tf.add(tf.matMul(x, enc1W), enc1b));
    const mu = tf.add(tf.matMul(h, muW), mub);
    const logVar = tf.add(tf.matMul(h, lvW), lvb);
    const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps));
    const hd = tf.relu(tf.add(tf.matMul(z, dec1W), dec1b));
    const logits = tf.add(tf.matMul(hd, dec2W), dec2b);
    const nll = tf.sum(sigmoidCE(logits, x), 1);
    const kl = tf.mul(tf.sum(tf.sub(tf.sub(tf.add(1, logVar), tf.square(mu)), tf.exp(logVar)), 1), -0.5);
    return tf.mean(tf.add(nll, kl)) as tf.Scalar;
  };
  const { step, opt } = makeStep(vars, loss);
  return {
    name: 'W1',
    step,
    dispose: () => {
      opt.dispose();
      tf.dispose([x, eps, ...vars]);
    },
  };
}

/**
 * W2: a convolutional step. NHWC input 64x28x28x1 in {0,1}; conv3x3 1->64 relu, conv3x3 64->64 relu,
 * conv3x3 64->64 relu (padding same), conv1x1 64->1 logits; loss = mean sigmoid cross-entropy vs the input.
 */
export function makeW2(): Workload {
  const B = 64,
    S = 28,
    C = 64;
  const x = binaryData([B, S, S, 1]);
  let i = 0;
  const w1 = param(i++, [3, 3, 1, C], 9, 'conv1.W');
  const b1 = param(i++, [C], 9, 'conv1.b');
  const w2 = param(i++, [3, 3, C, C], 9 * C, 'conv2.W');
  const b2 = param(i++, [C], 9 * C, 'conv2.b');
  const w3 = param(i++, [3, 3, C, C], 9 * C, 'conv3.W');
  const b3 = param(i++, [C], 9 * C, 'conv3.b');
  const w4 = param(i++, [1, 1, C, 1], C, 'conv4.W');
  const b4 = param(i++, [1], C, 'conv4.b');
  const vars = [w1, b1, w2, b2, w3, b3, w4, b4];

  const conv = (h: tf.Tensor4D, w: tf.Variable, b: tf.Variable): tf.Tensor4D =>
    tf.add(tf.conv2d(h, w as tf.Tensor4D, 1, 'same'), b);
  const loss = (): tf.Scalar => {
    const h1 = tf.relu(conv(x as tf.Tensor4D, w1, b1));
    const h2 = tf.relu(conv(h1, w2, b2));
    const h3 = tf.relu(conv(h2, w3, b3));
    const logits = conv(h3, w4, b4);
    return tf.mean(sigmoidCE(logits, x)) as tf.Scalar;
  };
  const { step, opt } = makeStep(vars, loss);
  return {
    name: 'W2',
    step,
    dispose: () => {
      opt.dispose();
      tf.dispose([x, ...vars]);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// G: a Glow training step (Kingma & Dhariwal 2018) with the library's own Glow (src/families/flows/glow.ts):
// batch 16 of 28x28x1 values in [0, 1); L = 2 levels (squeeze -> 14x14x4, K = 4 steps of ActNorm + invertible
// 1x1 conv (LU) + affine coupling (conv3x3 64 -> conv1x1 64 -> conv3x3, scale sigmoid(h + 2)), split ->
// 14x14x2, squeeze -> 7x7x8, K = 4 steps); loss = mean NLL in nats per example under N(0, I); Adam.
// Step 1 runs ActNorm's data-dependent init. Every other weight is set from the shared seeds so reference.py
// builds the same network: coupling convs PyTorch-default uniform (param()), LU factors L, U, logs uniform
// U(-1/sqrt(C), 1/sqrt(C)), P the reversal permutation, sign alternating +1, -1.
// ---------------------------------------------------------------------------------------------------------
export const G_ARCH = { batch: 16, size: 28, levels: 2, depth: 4, hidden: 64 };

export function makeG(): Workload {
  const { batch: B, size: S } = G_ARCH;
  const spec: DataSpec = { kind: 'image', shape: [S, S, 1], domain: 'unit' };
  const model = createGlow(
    'glow',
    { levels: G_ARCH.levels, depth: G_ARCH.depth, hidden: G_ARCH.hidden, scale: 'sigmoid' },
    spec,
    0,
  );
  const x = tf.tensor(uniforms(DATA_SEED, B * S * S), [B, S, S, 1]);
  // the values param(index, shape, fanIn) would hold, as a plain tensor (PyTorch's default init range)
  const init = (index: number, shape: number[], fanIn: number) =>
    tf.tensor(
      uniforms(
        PARAM_SEED + index,
        shape.reduce((a, b) => a * b, 1),
      ).map((u) => (2 * u - 1) / Math.sqrt(fanIn)),
      shape,
    );
  let i = 0;
  let fanIn = 1;
  for (const [name, v] of model.variables()) {
    const part = name.split('.').slice(1).join('.');
    const C = v.shape[0]!;
    let t: tf.Tensor | null = null;
    if (part === 'invconv.P')
      t = tf.tensor2d(
        Array.from({ length: C * C }, (_, k) => (Math.floor(k / C) + (k % C) === C - 1 ? 1 : 0)),
        [C, C],
      );
    else if (part === 'invconv.sign') t = tf.tensor1d(Array.from({ length: C }, (_, k) => (k % 2 ? -1 : 1)));
    else if (['invconv.L', 'invconv.U', 'invconv.logs'].includes(part)) t = init(i++, v.shape, C);
    else if (part.startsWith('coupling.nn.')) {
      // weights [k, k, ci, co], then their biases [co] with the same fan-in
      if (v.rank === 4) fanIn = v.shape[0]! * v.shape[1]! * v.shape[2]!;
      t = init(i++, v.shape, fanIn);
    }
    if (t) {
      v.assign(t);
      t.dispose();
    }
  }
  const [objective] = model.objectives();
  const ctx = { step: 0, epoch: 0, seed: () => 0, training: true };
  const { step, opt } = makeStep(objective!.variables(), () => objective!.loss({ x }, ctx).loss);
  return {
    name: 'G',
    step,
    dispose: () => {
      opt.dispose();
      x.dispose();
      model.dispose();
    },
  };
}
export function makeWorkload(name: WorkloadName): Workload | null {
  if (name === 'W1') return makeW1();
  if (name === 'W2') return makeW2();
  if (name === 'G') return makeG();
  if (name === 'U') return { ...makeUnetStep(), name: 'U' };
  if (name === 'D') return { ...makeDdim(), name: 'D' };
  return null;
}

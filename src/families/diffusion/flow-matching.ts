// Flow matching with straight (optimal-transport) paths = rectified flow (Lipman et al. 2023, eq. 20-23 with
// sigma_min = 0; Liu et al. 2023, eq. 1). With z ~ N(0, I) at t = 0 and data x at t = 1:
//   x_t = t x + (1 - t) z,   u = dx_t/dt = x - z,   loss = E_{t ~ U(0,1)} || v_theta(x_t, t) - (x - z) ||^2,
// whose minimizer is v*(x_t, t) = E[x - z | x_t]. Sampling integrates dx/dt = v_theta(x, t) from noise at
// t = 0 to t = 1 with N Euler or Heun steps (samplers.ts). Conditional: classifier-free guidance on the
// velocity, v~ = (1 + w) v(x, y) - w v(x) (Ho & Salimans 2022, applied to the velocity field).
// Density: 'none'. log p(x) of a continuous flow needs the instantaneous change of variables,
// log p_1(x) = log p_0(z) - int_0^1 tr(dv/dx) dt along the ODE (Chen et al. 2018), i.e. an ODE solve with a
// divergence (a D-pass Jacobian trace or Hutchinson's estimator, FFJORD) per example; that is neither exact
// at finite N nor a bound, and is not built, so the model is evaluated by sample metrics.
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { sampleLabels } from '../../core/labels.js';
import {
  UserError,
  type Batch,
  type GenerativeModel,
  type Objective,
  type SampleOptions,
  type Taxonomy,
} from '../../core/model.js';
import { Rng } from '../../core/rng.js';
import type { DataSpec } from '../../data/spec.js';
import {
  DataMap,
  dropLabels,
  repeatBatch,
  guidedPrediction,
  makeDenoiser,
  netFields,
  parseConfig,
  samplerArgs,
} from './common.js';
import type { Denoiser } from './layers.js';
import { odeSample } from './samplers.js';

export const flowMatchingSchema = z.strictObject({
  sampler: z.enum(['euler', 'heun']).default('heun').describe('default ODE solver for sampling'),
  sampleSteps: z.int().min(1).default(50).describe('default number of solver steps N'),
  ...netFields,
});
export type FlowMatchingConfig = z.output<typeof flowMatchingSchema>;

export function flowMatchingTaxonomy(config: { conditional: boolean }): Taxonomy {
  return {
    family: 'diffusion',
    density: 'none',
    sampling: 'iterative',
    latent: true,
    conditional: config.conditional,
  };
}

export class FlowMatching implements GenerativeModel {
  readonly taxonomy: Taxonomy;
  readonly config: Record<string, unknown>;
  readonly cfg: FlowMatchingConfig;
  readonly net: Denoiser;
  readonly map: DataMap;
  readonly C: number;

  constructor(
    readonly kind: string,
    raw: Record<string, unknown>,
    readonly spec: DataSpec,
    seed: number,
  ) {
    const cfg = parseConfig(kind, flowMatchingSchema, raw);
    this.cfg = cfg;
    this.config = { ...cfg } as Record<string, unknown>;
    this.taxonomy = flowMatchingTaxonomy(cfg);
    if (cfg.conditional && !(spec.numClasses && spec.numClasses > 1))
      throw new UserError(
        `model '${kind}': conditional=true needs labelled data (this dataset has no classes)`,
      );
    this.C = cfg.conditional ? spec.numClasses! : 0;
    this.map = new DataMap(spec);
    this.net = makeDenoiser(kind, cfg, spec, this.C, new Rng(seed));
  }

  variables(): Map<string, tf.Variable> {
    return this.net.variables;
  }

  /** v-hat(x_t, t, y) per row, t [n] in [0, 1]; guided with weight w > 0 when labels are given */
  velocity(xt: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D | null, w = 0): tf.Tensor {
    return tf.tidy(() => {
      const n = xt.shape[0]!;
      const tIn = tf.mul(t, 1000) as tf.Tensor1D;
      if (this.C === 0) return this.net.apply(xt, tIn, null);
      if (w > 0 && y) return guidedPrediction(this.net, xt, tIn, y, this.C, w);
      return this.net.apply(xt, tIn, y ?? (tf.fill([n], this.C, 'int32') as tf.Tensor1D));
    });
  }

  objectives(): Objective[] {
    return [
      {
        name: 'fm',
        variables: () => [...this.net.variables.values()],
        loss: (b: Batch, ctx) =>
          tf.tidy(() => {
            const batch = repeatBatch(b, this.cfg.draws);
            const x1 = this.map.toModel(batch.x);
            const n = x1.shape[0]!;
            const rng = new Rng(ctx.seed());
            const t = tf.randomUniform([n], 0, 1, 'float32', rng.nextSeed()) as tf.Tensor1D;
            const z0 = tf.randomNormal(x1.shape, 0, 1, 'float32', rng.nextSeed());
            const tb = tf.reshape(t, [n, ...new Array<number>(x1.rank - 1).fill(1)]);
            const xt = tf.add(tf.mul(tb, x1), tf.mul(tf.sub(1, tb), z0));
            let y: tf.Tensor1D | null = null;
            if (this.C > 0) {
              if (!batch.y) throw new UserError(`model '${this.kind}' is conditional: labels are required`);
              y =
                this.cfg.pUncond > 0
                  ? dropLabels(batch.y, this.C, this.cfg.pUncond, rng.nextSeed())
                  : batch.y;
            }
            const v = this.net.apply(xt, tf.mul(t, 1000) as tf.Tensor1D, y);
            return { loss: tf.mean(tf.squaredDifference(v, tf.sub(x1, z0))) as tf.Scalar };
          }),
      },
    ];
  }

  sample(n: number, opts: SampleOptions = {}): tf.Tensor {
    if (!Number.isInteger(n) || n < 1)
      throw new UserError(`number of samples must be a positive integer (got ${n})`);
    const c = this.cfg;
    const a = samplerArgs(this.kind, opts, {
      samplers: ['euler', 'heun'],
      sampler: c.sampler,
      steps: c.sampleSteps,
      conditional: c.conditional,
      guidance: c.guidance,
    });
    const y = sampleLabels(this.kind, this.C, n, opts.label) ?? null;
    try {
      const v = (x: tf.Tensor, t: number) =>
        this.velocity(x, tf.fill([x.shape[0]!], t) as tf.Tensor1D, y, a.guidance);
      const x1 = odeSample(v, {
        shape: [n, ...this.spec.shape],
        steps: a.steps,
        seed: opts.seed ?? 0,
        method: a.sampler as 'euler' | 'heun',
        ...this.map.samplerHooks(opts),
      });
      const out = this.map.fromModel(x1);
      x1.dispose();
      return out;
    } finally {
      y?.dispose();
    }
  }

  dispose(): void {
    for (const v of this.net.variables.values()) v.dispose();
    this.net.variables.clear();
  }
}

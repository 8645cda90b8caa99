// Local copy of the likelihood-estimate interface (interface 3 of the project plan) until it lands in
// src/core/model.ts, and the sample-time options the energy models read (interface 5).
import type * as tf from '@tensorflow/tfjs-core';
import type { SampleOptions } from '../../core/model.js';

export interface Estimate {
  /** 'nll' | 'elbo' | 'iwae' | 'vlb' | 'ais' | ... */
  name: string;
  /** shown in tables: 'NLL', 'NLL (AIS)', ... */
  label: string;
  kind: 'exact' | 'bound' | 'estimate';
  /** once before the data pass (AIS for log Z): the standard error (nats) it adds to every per-example value,
   *  and extra numbers to report ({ logZ, chains, seconds }) */
  prepare?: (opts: { seed: number }) => Promise<{ stderr?: number; info?: Record<string, number> } | void>;
  /** per-example log p(x) (or the estimate of it) in nats, for one batch */
  logLik: (x: tf.Tensor, y: tf.Tensor1D | undefined, seed: number) => tf.Tensor1D;
}

/** SampleOptions plus the iterative-sampler options: chain length and progress. */
export interface ChainSampleOptions extends SampleOptions {
  /** MCMC steps of this call (default: the model's sampleSteps option) */
  steps?: number;
  onStep?: (i: number, total: number) => void;
}

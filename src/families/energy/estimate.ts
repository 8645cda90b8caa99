// The sample-time options the energy models read (SampleOptions of src/core/model.ts carries them all).
import type { SampleOptions } from '../../core/model.js';

export type { Estimate } from '../../core/model.js';

/** SampleOptions with the iterative-sampler options: chain length (`steps`) and progress (`onStep`). */
export type ChainSampleOptions = SampleOptions;

// The energy-based family: restricted Boltzmann machine (rbm.ts, log Z in partition.ts) and deep EBM (ebm.ts,
// SGLD + replay buffer in sgld.ts). Registered with today's registry entry; the zod schemas are the options.
import { registerModel } from '../../core/model.js';
import type { DataSpec } from '../../data/spec.js';
import { EBM, EBM_SCHEMA, ebmAccepts } from './ebm.js';
import { RBM, RBM_SCHEMA, rbmAccepts } from './rbm.js';

registerModel({
  kind: 'rbm',
  family: 'energy',
  description:
    'restricted Boltzmann machine, CD-k / PCD training, log Z exact or by AIS (Hinton 2002; Salakhutdinov & Murray 2008)',
  defaults: RBM_SCHEMA.parse({}),
  // binary visibles are the default: continuous data needs visible=gaussian (checked again by create)
  accepts: (spec: DataSpec) => (spec.shape.length === 0 ? 'data has no dimensions' : null),
  create: (config, spec, seed) => new RBM(config, spec, seed),
});

registerModel({
  kind: 'ebm',
  family: 'energy',
  description:
    'deep energy-based model, contrastive divergence with SGLD negatives from a replay buffer (Du & Mordatch 2019)',
  defaults: EBM_SCHEMA.parse({}),
  accepts: (spec: DataSpec) => ebmAccepts(spec),
  create: (config, spec, seed) => new EBM(config, spec, seed),
});

export { RBM, RBM_SCHEMA, rbmAccepts, type RbmConfig } from './rbm.js';
export { EBM, EBM_SCHEMA, ebmAccepts, resolveEbmConfig, type EbmConfig } from './ebm.js';
export {
  aisLogZ,
  aisSchedule,
  exactLogZ,
  enumerableLayer,
  type AisResult,
  type RbmParams,
} from './partition.js';
export { sgld, ReplayBuffer, type SgldOptions } from './sgld.js';
export { gridDensity, type GridDensity } from './grid.js';
export type { Estimate, ChainSampleOptions } from './estimate.js';

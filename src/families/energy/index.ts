// The energy-based family: restricted Boltzmann machine (rbm.ts, log Z in partition.ts) and deep EBM (ebm.ts,
// SGLD + replay buffer in sgld.ts).
import { registerModelEntry } from '../../core/registry.js';
import { EBM, EBM_SCHEMA, EBM_TAXONOMY, ebmAccepts } from './ebm.js';
import { RBM, RBM_SCHEMA, RBM_TAXONOMY, rbmAccepts } from './rbm.js';

registerModelEntry({
  kind: 'rbm',
  family: 'energy',
  description:
    'restricted Boltzmann machine, CD-k / PCD training, log Z exact or by AIS (Hinton 2002; Salakhutdinov & Murray 2008)',
  schema: RBM_SCHEMA,
  taxonomy: () => RBM_TAXONOMY,
  // binary visibles are the default: continuous data needs visible=gaussian
  accepts: (spec, config) => rbmAccepts(spec, config),
  create: (config, spec, seed) => new RBM(config, spec, seed),
});

registerModelEntry({
  kind: 'ebm',
  family: 'energy',
  description:
    'deep energy-based model, contrastive divergence with SGLD negatives from a replay buffer (Du & Mordatch 2019)',
  schema: EBM_SCHEMA,
  taxonomy: () => EBM_TAXONOMY,
  accepts: (spec, config) => ebmAccepts(spec, config),
  create: (config, spec, seed) => new EBM(config, spec, seed),
});

export { RBM, RBM_SCHEMA, RBM_TAXONOMY, rbmAccepts, type RbmConfig } from './rbm.js';
export { EBM, EBM_SCHEMA, EBM_TAXONOMY, ebmAccepts, resolveEbmConfig, type EbmConfig } from './ebm.js';
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

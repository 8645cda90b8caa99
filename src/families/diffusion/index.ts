// The diffusion family: importing this module registers its models (see ../../core/model.ts).
//   ddpm           DDPM (Ho et al. 2020): eps / x0 / v prediction, ancestral or DDIM sampling, VLB bound
//   flow-matching  flow matching / rectified flow (Lipman et al. 2023; Liu et al. 2023), Euler / Heun
// Both take `conditional: true` for classifier-free guidance (Ho & Salimans 2022).
import { registerModelEntry } from '../../core/registry.js';
import type { DataSpec } from '../../data/spec.js';
import { DDPM, ddpmSchema, ddpmTaxonomy } from './ddpm.js';
import { FlowMatching, flowMatchingSchema, flowMatchingTaxonomy } from './flow-matching.js';

const accepts = (spec: DataSpec): string | null =>
  spec.shape.length === 0 ? 'data has no dimensions' : null;

registerModelEntry({
  kind: 'ddpm',
  family: 'diffusion',
  description:
    'denoising diffusion probabilistic model, ancestral or DDIM sampling (Ho et al. 2020; Song et al. 2021)',
  schema: ddpmSchema,
  taxonomy: ddpmTaxonomy,
  accepts,
  create: (config, spec, seed) => new DDPM('ddpm', config, spec, seed),
});

registerModelEntry({
  kind: 'flow-matching',
  family: 'diffusion',
  description:
    'flow matching / rectified flow on straight paths, Euler or Heun sampling (Lipman et al. 2023; Liu et al. 2023)',
  schema: flowMatchingSchema,
  taxonomy: flowMatchingTaxonomy,
  accepts,
  create: (config, spec, seed) => new FlowMatching('flow-matching', config, spec, seed),
});

export { DDPM, ddpmSchema, ddpmTaxonomy, type DdpmConfig, type Estimate } from './ddpm.js';
export {
  FlowMatching,
  flowMatchingSchema,
  flowMatchingTaxonomy,
  type FlowMatchingConfig,
} from './flow-matching.js';
export { NoiseSchedule, linearBetas, cosineBetas, type BetaSchedule } from './schedule.js';
export { ddpmSample, ddimSample, odeSample, timesteps } from './samplers.js';
export { vlb, vlbTerms, discretizedGaussianLogProb } from './vlb.js';
export { guide, guidedPrediction } from './common.js';

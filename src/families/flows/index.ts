// The flows family: importing this module registers its models (see ../../core/registry.ts).
//   realnvp  RealNVP (Dinh et al. 2017): multi-scale affine couplings (images) / coupling stack (vectors)
//   nice     NICE (Dinh et al. 2015): RealNVP's architecture with additive couplings
//   glow     Glow (Kingma & Dhariwal 2018): ActNorm + invertible 1x1 conv (LU) + affine coupling, multi-scale
//   maf      MAF (Papamakarios et al. 2017): stacked MADE autoregressive layers (vectors)
//   nsf      NSF (Durkan et al. 2019): rational-quadratic spline couplings (vectors)
// Every model takes `conditional: true` for a class-conditional flow p(x | y).
import type { Taxonomy } from '../../core/model.js';
import { registerModelEntry } from '../../core/registry.js';
import { couplingFlowAccepts, flowAccepts } from './flow.js';
import { GLOW_SCHEMA, createGlow } from './glow.js';
import { MAF_SCHEMA, createMAF } from './maf.js';
import { NSF_SCHEMA, createNSF } from './nsf.js';
import { NICE_SCHEMA, REALNVP_SCHEMA, createRealNVP } from './realnvp.js';

const taxonomy =
  (sampling: 'direct' | 'iterative') =>
  (c: { conditional: boolean }): Taxonomy => ({
    family: 'flow',
    density: 'exact',
    sampling,
    latent: true,
    conditional: c.conditional,
  });

registerModelEntry({
  kind: 'realnvp',
  family: 'flow',
  description: 'RealNVP: affine coupling flow, multi-scale on images (Dinh et al. 2017)',
  schema: REALNVP_SCHEMA,
  taxonomy: taxonomy('direct'),
  accepts: (spec, c) => flowAccepts(spec, ['image', 'vector']) ?? couplingFlowAccepts(spec, c),
  create: (config, spec, seed) => createRealNVP('realnvp', config, spec, seed),
});

registerModelEntry({
  kind: 'nice',
  family: 'flow',
  description: 'NICE: additive coupling flow (Dinh et al. 2015)',
  schema: NICE_SCHEMA,
  taxonomy: taxonomy('direct'),
  accepts: (spec, c) => flowAccepts(spec, ['image', 'vector']) ?? couplingFlowAccepts(spec, c),
  create: (config, spec, seed) => createRealNVP('nice', config, spec, seed),
});

registerModelEntry({
  kind: 'glow',
  family: 'flow',
  description:
    'Glow: ActNorm + invertible 1x1 convolution + affine coupling, multi-scale (Kingma & Dhariwal 2018)',
  schema: GLOW_SCHEMA,
  taxonomy: taxonomy('direct'),
  accepts: (spec, c) => flowAccepts(spec, ['image', 'vector']) ?? couplingFlowAccepts(spec, c),
  create: (config, spec, seed) => createGlow('glow', config, spec, seed),
});

registerModelEntry({
  kind: 'maf',
  family: 'flow',
  description: 'MAF: masked autoregressive flow of MADE layers, vectors (Papamakarios et al. 2017)',
  schema: MAF_SCHEMA,
  taxonomy: taxonomy('iterative'),
  accepts: (spec) => flowAccepts(spec, ['vector']),
  create: (config, spec, seed) => createMAF('maf', config, spec, seed),
});

registerModelEntry({
  kind: 'nsf',
  family: 'flow',
  description: 'NSF: rational-quadratic spline coupling flow, vectors (Durkan et al. 2019)',
  schema: NSF_SCHEMA,
  taxonomy: taxonomy('direct'),
  accepts: (spec) => flowAccepts(spec, ['vector']),
  create: (config, spec, seed) => createNSF('nsf', config, spec, seed),
});

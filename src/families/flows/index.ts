// The flows family: importing this module registers its models (see ../../core/model.ts).
//   realnvp  RealNVP (Dinh et al. 2017): multi-scale affine couplings (images) / coupling stack (vectors)
//   nice     NICE (Dinh et al. 2015): RealNVP's architecture with additive couplings
//   glow     Glow (Kingma & Dhariwal 2018): ActNorm + invertible 1x1 conv (LU) + affine coupling, multi-scale
//   maf      MAF (Papamakarios et al. 2017): stacked MADE autoregressive layers (vectors)
//   nsf      NSF (Durkan et al. 2019): rational-quadratic spline couplings (vectors)
// Every model takes `conditional: true` for a class-conditional flow p(x | y).
import { registerModel } from '../../core/model.js';
import { flowAccepts } from './flow.js';
import { GLOW_DEFAULTS, createGlow } from './glow.js';
import { MAF_DEFAULTS, createMAF } from './maf.js';
import { NSF_DEFAULTS, createNSF } from './nsf.js';
import { REALNVP_DEFAULTS, createRealNVP } from './realnvp.js';

registerModel({
  kind: 'realnvp',
  family: 'flow',
  description: 'RealNVP: affine coupling flow, multi-scale on images (Dinh et al. 2017)',
  defaults: REALNVP_DEFAULTS,
  accepts: (spec) => flowAccepts(spec, ['image', 'vector']),
  create: (config, spec, seed) => createRealNVP('realnvp', config, spec, seed),
});

registerModel({
  kind: 'nice',
  family: 'flow',
  description: 'NICE: additive coupling flow (Dinh et al. 2015)',
  defaults: { ...REALNVP_DEFAULTS, coupling: 'additive' },
  accepts: (spec) => flowAccepts(spec, ['image', 'vector']),
  create: (config, spec, seed) => createRealNVP('nice', config, spec, seed),
});

registerModel({
  kind: 'glow',
  family: 'flow',
  description:
    'Glow: ActNorm + invertible 1x1 convolution + affine coupling, multi-scale (Kingma & Dhariwal 2018)',
  defaults: GLOW_DEFAULTS,
  accepts: (spec) => flowAccepts(spec, ['image', 'vector']),
  create: (config, spec, seed) => createGlow('glow', config, spec, seed),
});

registerModel({
  kind: 'maf',
  family: 'flow',
  description: 'MAF: masked autoregressive flow of MADE layers, vectors (Papamakarios et al. 2017)',
  defaults: MAF_DEFAULTS,
  accepts: (spec) => flowAccepts(spec, ['vector']),
  create: (config, spec, seed) => createMAF('maf', config, spec, seed),
});

registerModel({
  kind: 'nsf',
  family: 'flow',
  description: 'NSF: rational-quadratic spline coupling flow, vectors (Durkan et al. 2019)',
  defaults: NSF_DEFAULTS,
  accepts: (spec) => flowAccepts(spec, ['vector']),
  create: (config, spec, seed) => createNSF('nsf', config, spec, seed),
});

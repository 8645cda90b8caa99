// The latent-variable family: VAE and its variants (IWAE, beta-VAE, CVAE), one implementation in vae.ts.
import { registerModel, type ModelEntry } from '../../core/model.js';
import type { DataSpec } from '../../data/spec.js';
import { VAE, VAE_DEFAULTS } from './vae.js';

const accepts = (spec: DataSpec): string | null =>
  spec.shape.length === 0 ? 'data has no dimensions' : null;
const acceptsLabelled = (spec: DataSpec): string | null =>
  accepts(spec) ?? (spec.numClasses && spec.numClasses > 1 ? null : 'a conditional VAE needs labelled data');

const variants: {
  kind: string;
  description: string;
  defaults: Record<string, unknown>;
  accepts: ModelEntry['accepts'];
}[] = [
  {
    kind: 'vae',
    description: 'variational autoencoder, ELBO with analytic KL (Kingma & Welling 2014)',
    defaults: {},
    accepts,
  },
  {
    kind: 'iwae',
    description: 'importance-weighted autoencoder, trained on the k-sample bound (Burda et al. 2016)',
    defaults: { iwTrainK: 5 },
    accepts,
  },
  {
    kind: 'beta-vae',
    description: 'beta-VAE: KL weighted by beta (Higgins et al. 2017)',
    defaults: { beta: 4 },
    accepts,
  },
  {
    kind: 'cvae',
    description: 'conditional VAE: q(z|x,y), p(x|z,y) (Sohn et al. 2015)',
    defaults: { conditional: true },
    accepts: acceptsLabelled,
  },
];

for (const v of variants) {
  registerModel({
    kind: v.kind,
    family: 'latent',
    description: v.description,
    defaults: { ...VAE_DEFAULTS, ...v.defaults },
    accepts: v.accepts,
    create: (config, spec, seed) =>
      new VAE(v.kind, { ...VAE_DEFAULTS, ...v.defaults, ...config }, spec, seed),
  });
}

export { VAE, resolveVaeConfig, VAE_DEFAULTS, type VaeConfig } from './vae.js';
export { Likelihood, type LikelihoodKind } from './likelihood.js';

// The latent-variable family: VAE and its variants (IWAE, beta-VAE; CVAE = vae with conditional: true), one
// implementation in vae.ts.
import { registerModelEntry } from '../../core/registry.js';
import { withDefaults } from '../../core/options.js';
import type { Taxonomy } from '../../core/model.js';
import { VAE, VAE_SCHEMA, vaeAccepts, type VaeOptions } from './vae.js';

const taxonomy = (c: VaeOptions): Taxonomy => ({
  family: 'latent',
  density: 'bound',
  sampling: 'direct',
  latent: true,
  conditional: c.conditional,
});

const variants = [
  {
    kind: 'vae',
    description: 'variational autoencoder, ELBO with analytic KL (Kingma & Welling 2014)',
    schema: VAE_SCHEMA,
    aliases: {
      cvae: {
        description: 'conditional VAE: q(z|x,y), p(x|z,y) (Sohn et al. 2015)',
        config: { conditional: true },
      },
    },
  },
  {
    kind: 'iwae',
    description: 'importance-weighted autoencoder, trained on the k-sample bound (Burda et al. 2016)',
    schema: withDefaults(VAE_SCHEMA, { iwTrainK: 5 }),
  },
  {
    kind: 'beta-vae',
    description: 'beta-VAE: KL weighted by beta (Higgins et al. 2017)',
    schema: withDefaults(VAE_SCHEMA, { beta: 4 }),
  },
];

for (const v of variants) {
  registerModelEntry({
    kind: v.kind,
    family: 'latent',
    description: v.description,
    schema: v.schema,
    taxonomy,
    accepts: vaeAccepts,
    create: (config, spec, seed) => new VAE(v.kind, config, spec, seed),
    ...(v.aliases ? { aliases: v.aliases } : {}),
  });
}

export { VAE, resolveVaeConfig, VAE_SCHEMA, type VaeConfig, type VaeOptions } from './vae.js';
export { Likelihood, type LikelihoodKind } from './likelihood.js';

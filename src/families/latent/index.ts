// The latent-variable family: VAE and its variants (IWAE, beta-VAE; CVAE = vae with conditional: true), one
// implementation in vae.ts; VQ-VAE with an autoregressive prior over its codes (vqvae.ts).
import { registerModelEntry } from '../../core/registry.js';
import { withDefaults } from '../../core/options.js';
import type { Taxonomy } from '../../core/model.js';
import { VAE, VAE_SCHEMA, vaeAccepts, type VaeOptions } from './vae.js';
import { VQVAE, VQVAE_SCHEMA, vqvaeAccepts } from './vqvae.js';

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

registerModelEntry({
  kind: 'vqvae',
  family: 'latent',
  description: 'VQ-VAE with an autoregressive prior over its code grid (van den Oord et al. 2017)',
  schema: VQVAE_SCHEMA,
  taxonomy: (c) => ({
    family: 'latent',
    density: 'bound',
    sampling: 'iterative',
    latent: true,
    conditional: c.conditional,
  }),
  accepts: (spec) => vqvaeAccepts(spec),
  create: (config, spec, seed) => new VQVAE('vqvae', config, spec, seed),
});

export { VQVAE, VQVAE_SCHEMA, type VqvaeOptions } from './vqvae.js';
export { VectorQuantizer, type QuantizerOptions, type Quantized } from './quantize.js';
export { VAE, resolveVaeConfig, VAE_SCHEMA, type VaeConfig, type VaeOptions } from './vae.js';
export { Likelihood, type LikelihoodKind } from './likelihood.js';

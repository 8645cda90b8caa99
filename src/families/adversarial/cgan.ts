// Conditional GAN (Mirza & Osindero 2014): G(z, y) with the one-hot label y concatenated to z, and a
// label-aware discriminator D(x, y) (projection head, Miyato & Koyama 2018; see gan.ts). Convolutional nets for
// images, MLPs otherwise (arch 'auto'); non-saturating loss. Samples are drawn for a given label (--label k).
import { registerModel } from '../../core/model.js';
import { ganEntry } from './gan.js';

export const CGAN_DEFAULTS: Record<string, unknown> = { conditional: true, gNorm: 'batch' };

registerModel(
  ganEntry(
    'cgan',
    'conditional GAN (Mirza & Osindero 2014): label-conditioned generator, projection discriminator',
    CGAN_DEFAULTS,
  ),
);

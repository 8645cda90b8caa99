// DCGAN (Radford et al. 2016, "Unsupervised Representation Learning with Deep Convolutional GANs"): the GAN of
// gan.ts with the convolutional generator and discriminator of nets.ts (strided convolutions, ReLU in G,
// LeakyReLU(0.2) in D, batch norm in G, Adam with lr 2e-4 and beta1 0.5), non-saturating loss, dropout 0.3
// on D's hidden features (it keeps D from winning outright in the first few hundred steps). Images only.
import type { GanOptions } from './options.js';

export const DCGAN_DEFAULTS = {
  arch: 'conv',
  gNorm: 'batch',
  loss: 'non-saturating',
  beta1: 0.5,
  beta2: 0.999,
  dDropout: 0.3,
} satisfies Partial<GanOptions>;

// Conditional GAN (Mirza & Osindero 2014): G(z, y) with the one-hot label y concatenated to z, and by default an
// auxiliary-classifier discriminator (AC-GAN, Odena et al. 2017, eq. 2-3): D's features phi(x) feed a real/fake
// logit and a C-way class head; D learns to classify real and generated images, G to make its samples
// classified as the asked label. Dropout 0.3 on D's features. Convolutional nets for images, MLPs otherwise
// (arch 'auto'); non-saturating loss. Samples are drawn for a given label (--label k).
// Other label routes into D (`dLabel`): one-hot input maps (Mirza & Osindero), a projection head e_y^T phi(x)
// (Miyato & Koyama 2018), or both. Measured on MNIST (channels 32/64 unless said, 2 epochs, share of samples
// the project's classifier labels as asked): projection alone, no dropout: 11.5% (G collapsed);
// input maps + projection + dropout: 60.5%; AC-GAN: 67.9%; AC-GAN with channels 64/128: 75.3%.
import type { GanOptions } from './options.js';

export const CGAN_DEFAULTS = {
  conditional: true,
  gNorm: 'batch',
  dLabel: 'none',
  auxWeight: 1,
  dDropout: 0.3,
} satisfies Partial<GanOptions>;

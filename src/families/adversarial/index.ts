// The adversarial family: importing this module registers its models (see ../../core/registry.ts):
// gan, dcgan, wgan-gp, and cgan, an alias of gan with the AC-GAN options of cgan.ts.
import { CGAN_DEFAULTS } from './cgan.js';
import { DCGAN_DEFAULTS } from './dcgan.js';
import { registerGan } from './gan.js';
import { WGAN_GP_DEFAULTS } from './wgan-gp.js';

registerGan(
  'gan',
  'GAN (Goodfellow et al. 2014): MLP generator and discriminator, non-saturating loss',
  { arch: 'mlp' },
  {
    // cgan's nets are 'auto' (conv on images), as before it became an alias
    cgan: {
      description:
        'conditional GAN (Mirza & Osindero 2014) with an auxiliary-classifier discriminator (AC-GAN, Odena et al. 2017)',
      config: { arch: 'auto', ...CGAN_DEFAULTS },
    },
  },
);
registerGan(
  'dcgan',
  'DCGAN (Radford et al. 2016): convolutional generator and discriminator, non-saturating loss',
  DCGAN_DEFAULTS,
);
registerGan(
  'wgan-gp',
  'WGAN-GP (Gulrajani et al. 2017): Wasserstein critic with gradient penalty, 5 critic steps per G step',
  WGAN_GP_DEFAULTS,
);

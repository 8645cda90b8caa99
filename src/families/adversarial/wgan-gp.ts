// WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Alg. 1): the discriminator is a
// critic estimating the Wasserstein-1 distance, kept near 1-Lipschitz by the gradient penalty
// lambda E[(||grad D(xhat)||_2 - 1)^2] (losses.ts); n_critic = 5 critic updates per generator update,
// Adam betas (0, 0.9), lambda = 10. Convolutional nets for images, MLPs otherwise (arch 'auto').
import type { GanOptions } from './options.js';

export const WGAN_GP_DEFAULTS = {
  loss: 'wgan-gp',
  gpWeight: 10,
  nCritic: 5,
  beta1: 0,
  beta2: 0.9,
} satisfies Partial<GanOptions>;

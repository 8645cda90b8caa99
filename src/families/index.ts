// Importing this module registers every model family with the model registry.
import './latent/index.js';
import './flows/index.js';
import './autoregressive/index.js';
import './adversarial/index.js';
import './diffusion/index.js';
import './energy/index.js';

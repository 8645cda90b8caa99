// Importing this module registers every model family with the model registry.
import './latent/index.js';

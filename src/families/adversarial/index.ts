// The adversarial family: importing this module registers its models (see ../../core/model.ts):
// gan, dcgan, wgan-gp, cgan.
import './gan.js';
import './dcgan.js';
import './wgan-gp.js';
import './cgan.js';

// Probability distributions on tfjs tensors. logProb is elementwise; sum event axes with sumEvent.
export { Normal } from './normal.js';
export { Logistic } from './logistic.js';
export { Bernoulli } from './bernoulli.js';
export { Categorical } from './categorical.js';
export { DiscretizedLogistic, MixtureDiscretizedLogistic, type DiscretizedOptions } from './discretized.js';
export {
  softplus,
  logSigmoid,
  logSumExp,
  log1mexp,
  sumEvent,
  stopGradient,
  type Distribution,
} from './util.js';

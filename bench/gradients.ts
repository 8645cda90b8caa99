// tfjs-core's Node entry (dist/tf-core.node.js) registers no gradients: they live in the ESM file
// dist/register_all_gradients.js, which only the union package '@tensorflow/tfjs' bundles. Load that file
// (through esm-hooks.js, see there). Kernel and gradient registries are process-global in tfjs-core, so
// the gradients land in the registry the CJS entry uses.
// TODO(project): this belongs in src/backend/ so that every training path gets it; bench keeps a copy until then.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

let done = false;

export async function registerAllGradients(): Promise<void> {
  if (done || tf.getGradient('Mean')) return;
  register('./esm-hooks.js', import.meta.url);
  const require = createRequire(import.meta.url);
  const file = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  await import(pathToFileURL(file).href);
  if (!tf.getGradient('Mean')) throw new Error('tfjs-core gradients could not be registered');
  done = true;
}

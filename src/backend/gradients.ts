// tfjs-core's Node entry (dist/tf-core.node.js) registers no gradients: they live in the ESM file
// dist/register_all_gradients.js, which only the union package '@tensorflow/tfjs' bundles. Load that
// file through esm-hooks.js. Kernel and gradient registries are process-global in tfjs-core, so the
// gradients land in the registry the CJS entry uses.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

let hooked = false;

/** Install the module hooks that let Node import tfjs-core's per-file ESM build (idempotent). */
export function hookTfjsCoreEsm(): void {
  if (hooked) return;
  register('./esm-hooks.js', import.meta.url);
  hooked = true;
}

/** Register every tfjs-core gradient (idempotent). */
export async function registerAllGradients(): Promise<void> {
  if (tf.getGradient('Mean') && tf.getGradient('Conv2D')) return;
  hookTfjsCoreEsm();
  const require = createRequire(import.meta.url);
  const file = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  await import(pathToFileURL(file).href);
  if (!tf.getGradient('Mean')) throw new Error('tfjs-core gradients could not be registered');
}

// `pretrained:NAME` names a model shipped with the package (assets/pretrained/NAME/: model.safetensors,
// config.json, results.json); resolveCheckpointDir maps it here, so every command that opens a run accepts it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';

export const PRETRAINED_PREFIX = 'pretrained:';

/** assets/pretrained/ of this package (dist/src/train/ -> the package root). */
export function pretrainedRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../assets/pretrained');
}

/** The names of the shipped pretrained models, sorted. */
export function pretrainedNames(): string[] {
  const root = pretrainedRoot();
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(root, e.name, 'config.json')))
    .map((e) => e.name)
    .sort();
}

/** A run reference as a directory: `pretrained:NAME` -> assets/pretrained/NAME (UserError naming the known ones), else unchanged. */
export function resolveRunRef(ref: string): string {
  if (!ref.startsWith(PRETRAINED_PREFIX)) return ref;
  const name = ref.slice(PRETRAINED_PREFIX.length);
  const known = pretrainedNames();
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name) || !known.includes(name))
    throw new UserError(
      `no pretrained model '${name}' (shipped: ${known.length ? known.join(', ') : 'none'})`,
    );
  return path.join(pretrainedRoot(), name);
}

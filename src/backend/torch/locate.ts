// Where the libtorch addon comes from: $GENMODELS_TORCH_ADDON, else this checkout's native/build (a clone
// of the repository), else the optional package @genmodels/torch (npm consumers; built at its install).
// When there is none: why, and the one command that would give it.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { packageRoot } from '../../data/paths.js';

export const TORCH_PACKAGE = '@genmodels/torch';
const ADDON_REL = path.join('native', 'build', 'Release', 'torch_addon.node');
const APT = 'apt-get install -y libtorch-dev libopenblas0-openmp';

export interface AddonLocation {
  /** the addon file, when one was found */
  path?: string;
  /** where it was looked for / found: 'env', 'checkout' (native/build), 'package' (@genmodels/torch) */
  source: 'env' | 'checkout' | 'package';
  /** why there is no addon (one line), when path is undefined */
  reason?: string;
  /** the command that builds (or rebuilds) the addon of this source */
  fix: string;
  /** @genmodels/torch's version, when source is 'package' */
  packageVersion?: string;
}

interface TorchPackage {
  version: string;
  addonPath: string;
  buildStatus(): { ok: boolean; reason?: string; fix?: string } | null;
}

function genmodelsVersion(root: string): string {
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** libtorch's headers are where the package's build looks for them (Debian's libtorch-dev or $LIBTORCH). */
function hasLibtorch(): boolean {
  const lt = process.env.LIBTORCH;
  return existsSync(lt ? path.join(lt, 'include', 'ATen', 'ATen.h') : '/usr/include/ATen/ATen.h');
}

/** The command that installs @genmodels/torch (with libtorch first when it is missing). */
export function installCommand(version: string): string {
  const npm = `npm install ${TORCH_PACKAGE}@${version}`;
  if (hasLibtorch()) return npm;
  return existsSync('/usr/bin/apt-get') ? `${APT} && ${npm}` : `LIBTORCH=/path/to/libtorch ${npm}`;
}

/** Find the addon (no loading). */
export function locateAddon(): AddonLocation {
  const env = process.env.GENMODELS_TORCH_ADDON;
  if (env)
    return existsSync(env)
      ? { path: env, source: 'env', fix: 'unset GENMODELS_TORCH_ADDON' }
      : {
          source: 'env',
          reason: `GENMODELS_TORCH_ADDON=${env} does not exist`,
          fix: 'unset GENMODELS_TORCH_ADDON',
        };
  const root = packageRoot();
  const inCheckout = path.join(root, ADDON_REL);
  if (existsSync(inCheckout)) return { path: inCheckout, source: 'checkout', fix: 'npm run build:native' };
  const version = genmodelsVersion(root);
  let pkg: TorchPackage;
  try {
    pkg = createRequire(import.meta.url)(TORCH_PACKAGE) as TorchPackage;
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND')
      return {
        source: 'package',
        reason: `${TORCH_PACKAGE} failed to load: ${(e as Error).message.split('\n')[0]}`,
        fix: installCommand(version),
      };
    // a clone of the repository builds in place; an npm install gets the optional package
    if (existsSync(path.join(root, 'native', 'torch_addon.cc')))
      return { source: 'checkout', reason: 'addon not built', fix: 'npm run build:native' };
    return {
      source: 'package',
      reason: `${TORCH_PACKAGE} is not installed`,
      fix: installCommand(version),
    };
  }
  const rebuild = `npm rebuild ${TORCH_PACKAGE}`;
  const base = { source: 'package' as const, packageVersion: pkg.version };
  if (pkg.version !== version)
    return {
      ...base,
      reason: `${TORCH_PACKAGE} ${pkg.version} does not match genmodels ${version}`,
      fix: installCommand(version),
    };
  if (existsSync(pkg.addonPath)) return { ...base, path: pkg.addonPath, fix: rebuild };
  const status = pkg.buildStatus();
  if (status === null)
    return {
      ...base,
      reason: `${TORCH_PACKAGE} is installed but its install script did not run (npm's allowScripts or --ignore-scripts)`,
      fix: `npm install-scripts approve ${TORCH_PACKAGE}; ${rebuild}`,
    };
  const said = status.reason ?? 'addon build left no addon';
  return {
    ...base,
    reason: `${TORCH_PACKAGE} is installed but its ${said.replace(/^addon not built: /, 'addon is not built: ')}`,
    fix: status.fix ?? rebuild,
  };
}

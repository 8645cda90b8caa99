#!/usr/bin/env node
// Build the libtorch addon (<nativeDir>/torch_addon.cc -> <nativeDir>/build/Release/torch_addon.node) with
// node-gyp, against Debian's libtorch-dev or the libtorch at $LIBTORCH (include/ + lib/, rpath set).
// One implementation for both: this package's install script (run as a script) and the repository's
// `npm run build:native` (scripts/build-native.mjs imports buildAddon).
// Nothing is downloaded: Node's C headers come from this node's install prefix or npm's `nodedir`.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = '@genmodels/torch';
const APT = 'apt-get install -y libtorch-dev libopenblas0-openmp';

/** Where libtorch's headers are expected, and a sentence when they are not there (null when they are). */
export function findLibtorch(env = process.env) {
  const libtorch = env.LIBTORCH;
  const header = libtorch
    ? path.join(libtorch, 'include', 'ATen', 'ATen.h')
    : '/usr/include/ATen/ATen.h';
  if (existsSync(header)) return { libtorch: libtorch || '/usr', missing: null };
  return {
    libtorch: libtorch || null,
    missing: libtorch
      ? `LIBTORCH=${libtorch} has no include/ATen/ATen.h (LIBTORCH must point at an unpacked libtorch)`
      : 'libtorch missing (/usr/include/ATen/ATen.h not found)',
  };
}

/** The directory whose include/node/node_api.h node-gyp should use, or null. */
function nodeHeaders(env) {
  const has = (dir) => !!dir && existsSync(path.join(dir, 'include', 'node', 'node_api.h'));
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (has(prefix)) return { nodedir: prefix, prefix };
  if (has(env.npm_config_nodedir)) return { nodedir: env.npm_config_nodedir, prefix };
  return { nodedir: null, prefix };
}

/**
 * Build the addon in nativeDir. rebuild: the command that retries (shown in `fix`). allowHeaderDownload: let
 * node-gyp fetch Node's headers when none are installed (the repository's build; the package never does).
 * capture: collect the compiler output into <logFile> (and print it) instead of streaming it.
 * Returns { ok, addon, reason, fix, log }.
 */
export function buildAddon({ nativeDir, rebuild, allowHeaderDownload = false, logFile, env = process.env }) {
  const addon = path.join(nativeDir, 'build', 'Release', 'torch_addon.node');
  const lt = findLibtorch(env);
  if (lt.missing) {
    const fix =
      env.LIBTORCH || !existsSync('/usr/bin/apt-get')
        ? `LIBTORCH=/path/to/libtorch ${rebuild}`
        : `${APT} && ${rebuild}`;
    return { ok: false, addon, reason: `addon not built: ${lt.missing}`, fix };
  }
  const require = createRequire(import.meta.url);
  let gyp;
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js');
    require.resolve('node-addon-api');
  } catch {
    return {
      ok: false,
      addon,
      reason: 'addon not built: node-gyp or node-addon-api is not installed',
      fix: `npm install (${PKG} depends on both)`,
    };
  }
  // node-gyp lets npm_config_* variables override its command line, so the choice goes into the environment.
  const childEnv = { ...env };
  if (childEnv.npm_config_loglevel === 'silent') childEnv.npm_config_loglevel = 'error';
  const headers = nodeHeaders(childEnv);
  if (headers.nodedir) childEnv.npm_config_nodedir = headers.nodedir;
  else {
    delete childEnv.npm_config_nodedir;
    if (!allowHeaderDownload)
      return {
        ok: false,
        addon,
        reason: `addon not built: Node's C headers are not in ${headers.prefix}/include/node (nor in npm's nodedir)`,
        fix: `install the headers of node ${process.version} (Debian: apt-get install libnode-dev; nodesource and release tarballs ship them), then ${rebuild}`,
      };
    console.log(`note: Node's C headers are not in ${headers.prefix}/include/node; node-gyp will use its cache or download them`);
  }
  const args = [gyp, 'rebuild', '-j', '2'];
  const capture = logFile !== undefined;
  const r = spawnSync(process.execPath, args, {
    cwd: nativeDir,
    env: childEnv,
    stdio: capture ? 'pipe' : 'inherit',
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const log = capture ? `${r.stdout ?? ''}${r.stderr ?? ''}` : '';
  if (capture) {
    writeFileSync(logFile, log);
    process.stdout.write(log);
  }
  if (r.status !== 0) {
    // the compiler's first error, else node-gyp's own (e.g. no Python, no make)
    const lines = log.split('\n');
    const err =
      lines.find((l) => /error/i.test(l) && !/^gyp (ERR|info)/.test(l)) ??
      lines.find((l) => /^gyp ERR! stack Error: /.test(l))?.replace(/^gyp ERR! stack /, '');
    return {
      ok: false,
      addon,
      reason: `addon build failed (node-gyp exit ${r.status ?? r.signal})${err ? ': ' + err.trim() : ''}`,
      fix: `${rebuild} --foreground-scripts   (shows the compiler output${capture ? `; last one in ${logFile}` : ''})`,
    };
  }
  // A built addon that cannot load (e.g. libtorch's shared libraries not found) is no better than none.
  const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], {
    env: childEnv,
    encoding: 'utf8',
  });
  if (load.status !== 0) {
    const line = (load.stderr || '').split('\n').find((l) => /Error/.test(l)) ?? 'unknown error';
    return {
      ok: false,
      addon,
      reason: `addon built but failed to load: ${line.trim()}`,
      fix: `check libtorch's shared libraries (ldd ${addon}), then ${rebuild}`,
    };
  }
  return { ok: true, addon, libtorch: lt.libtorch };
}

// As this package's install script: build, record the outcome in build-status.json (genmodels reads it to
// say why torch is not in use), and exit 0 either way: a machine without libtorch keeps a working install
// (genmodels runs on wasm) instead of a failed `npm install`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  const t0 = Date.now();
  const r = buildAddon({
    nativeDir: path.join(dir, 'native'),
    rebuild: `npm rebuild ${PKG}`,
    logFile: path.join(dir, 'build.log'),
  });
  const status = {
    ok: r.ok,
    ...(r.ok ? { addon: r.addon, libtorch: r.libtorch } : { reason: r.reason, fix: r.fix }),
    node: process.version,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    date: new Date().toISOString(),
  };
  writeFileSync(path.join(dir, 'build-status.json'), JSON.stringify(status, null, 2) + '\n');
  if (r.ok) console.log(`${PKG}: torch addon built: ${r.addon}`);
  else {
    console.error(`${PKG}: ${r.reason}`);
    console.error(`${PKG}: genmodels will use wasm; to get torch: ${r.fix}`);
  }
  process.exit(0);
}

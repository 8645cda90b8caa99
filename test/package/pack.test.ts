// The published package, installed the way a user would: `npm pack` (prepack runs build + build:web) makes
// the tarball; it holds the pretrained models and the playground; installed into a fresh folder with
// `npm install --offline` (no network: everything from npm's cache, which `npm ci` fills) and without the
// torch addon, it installs no native code, `genmodels info` says it falls back to wasm, and
// `genmodels sample pretrained:NAME` writes finite samples.
//
// Why the fresh folder gets a lockfile: without one, npm 11 resolves each dependency from its full
// packument (registry metadata), which `npm ci` does not cache (it fetches only the locked tarballs), so a
// lockfile-less `npm install --offline` fails with ENOTCACHED on the first one. The lockfile written here
// is the repository's package-lock.json cut to the package's runtime dependencies (the versions CI's
// `npm ci` installed and cached) plus the tarball itself: npm then needs only tarballs, by integrity.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { listPretrained } from '../../src/api/pretrained.js';
import { packageRoot } from '../../src/data/paths.js';

const ROOT = packageRoot();

interface LockEntry {
  version?: string;
  resolved?: string;
  dev?: boolean;
  devOptional?: boolean;
  hasInstallScript?: boolean;
  link?: boolean;
  [k: string]: unknown;
}

/** bytes under a folder (regular files) */
function du(dir: string): number {
  let s = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) s += du(p);
    else if (e.isFile()) s += fs.statSync(p).size;
  }
  return s;
}

/** every installed package.json under node_modules (nested ones too) */
function installedPackages(nm: string, out: { dir: string; json: Record<string, unknown> }[] = []) {
  if (!fs.existsSync(nm)) return out;
  for (const e of fs.readdirSync(nm, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const dirs = e.name.startsWith('@')
      ? fs.readdirSync(path.join(nm, e.name)).map((s) => path.join(nm, e.name, s))
      : [path.join(nm, e.name)];
    for (const d of dirs) {
      const pj = path.join(d, 'package.json');
      if (fs.existsSync(pj)) out.push({ dir: d, json: JSON.parse(fs.readFileSync(pj, 'utf8')) });
      installedPackages(path.join(d, 'node_modules'), out);
    }
  }
  return out;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
}

test('npm pack installs offline without the torch addon and samples a shipped model', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-pack-'));
  try {
    // 1. npm pack (prepack: npm run build && npm run build:web)
    const packed = npm(['pack', '--json', '--pack-destination', tmp], ROOT);
    assert.equal(packed.status, 0, `npm pack failed:\n${packed.stderr}`);
    // the lifecycle scripts' own output comes first on stdout; the JSON array is the rest
    const start = packed.stdout.search(/^\[/m);
    assert.ok(start >= 0, `no JSON from npm pack:\n${packed.stdout}`);
    const info = (
      JSON.parse(packed.stdout.slice(start)) as {
        filename: string;
        size: number;
        unpackedSize: number;
        files: { path: string }[];
      }[]
    )[0]!;
    const files = new Set(info.files.map((f) => f.path));
    for (const e of listPretrained())
      for (const f of ['model.safetensors', 'config.json', 'results.json'])
        assert.ok(
          files.has(`assets/pretrained/${e.name}/${f}`),
          `tarball lacks assets/pretrained/${e.name}/${f}`,
        );
    for (const f of [
      'index.html',
      'genmodels.mjs',
      'playground.js',
      'sampler-worker.js',
      'tfjs-backend-wasm-simd.wasm',
    ])
      assert.ok(files.has(`dist/playground/${f}`), `tarball lacks dist/playground/${f}`);
    assert.ok(files.has('dist/src/cli/main.js'));
    assert.ok(![...files].some((f) => f.endsWith('.node') || f.startsWith('native/')), 'native code packed');
    const tarball = path.join(tmp, info.filename);
    t.diagnostic(
      `tarball ${info.filename}: ${mib(info.size)} (${mib(fs.statSync(tarball).size)} on disk), ` +
        `${mib(info.unpackedSize)} unpacked, ${files.size} files`,
    );

    // 2. a fresh project: the tarball as its one dependency, the lockfile of its runtime dependencies
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.copyFileSync(tarball, path.join(app, info.filename));
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const runtime = Object.entries(lock.packages).filter(([k, v]) => k !== '' && !v.dev && !v.devOptional);
    // no runtime dependency builds code at install, or comes from anywhere but the registry (entries without
    // `resolved` are registry packages by name and version)
    const scripted = runtime.filter(([, v]) => v.hasInstallScript).map(([k]) => k);
    assert.deepEqual(scripted, [], 'runtime dependencies with install scripts');
    for (const [k, v] of runtime)
      assert.ok(
        !v.link && (v.resolved === undefined || v.resolved.startsWith('https://registry.npmjs.org/')),
        `${k}: ${v.resolved}`,
      );
    const ref = `file:${info.filename}`;
    const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'gm-pack-test', private: true, dependencies: { genmodels: ref } }),
    );
    const self = Object.fromEntries(
      [
        'version',
        'license',
        'dependencies',
        'bin',
        'engines',
        'peerDependencies',
        'peerDependenciesMeta',
      ].map((k) => [k, pkg[k]]),
    );
    fs.writeFileSync(
      path.join(app, 'package-lock.json'),
      JSON.stringify({
        name: 'gm-pack-test',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'gm-pack-test', dependencies: { genmodels: ref } },
          'node_modules/genmodels': { ...self, resolved: ref, integrity },
          ...Object.fromEntries(runtime),
        },
      }),
    );

    // 3. install offline
    const t0 = Date.now();
    const inst = npm(['install', '--offline', '--no-audit', '--no-fund', `./${info.filename}`], app);
    if (inst.status !== 0) {
      const missing = /ENOTCACHED[\s\S]*?request to (\S+)/.exec(inst.stderr)?.[1];
      assert.fail(
        missing
          ? `npm install --offline needs the network: npm's cache lacks ${missing} (run npm ci with network first)\n${inst.stderr}`
          : `npm install --offline failed:\n${inst.stderr}`,
      );
    }
    const nm = path.join(app, 'node_modules');
    const installed = installedPackages(nm);
    assert.ok(installed.some((p) => p.json.name === 'genmodels'));
    assert.ok(!installed.some((p) => p.json.name === '@genmodels/torch'), 'the torch addon got installed');
    // nothing was built: no package with install scripts or a binding.gyp (prebuilt optional binaries, such
    // as @resvg/resvg-js's, are plain files of their tarballs)
    for (const p of installed) {
      const sc = (p.json.scripts ?? {}) as Record<string, string>;
      for (const k of ['preinstall', 'install', 'postinstall'])
        assert.equal(sc[k], undefined, `${p.json.name} has a ${k} script`);
      assert.ok(!fs.existsSync(path.join(p.dir, 'binding.gyp')), `${p.json.name} has a binding.gyp`);
      for (const out of ['build/config.gypi', 'build/Release'])
        assert.ok(!fs.existsSync(path.join(p.dir, out)), `${p.json.name}: node-gyp output ${out}`);
    }
    t.diagnostic(
      `npm install --offline: ${installed.length} packages in ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
        `node_modules ${mib(du(nm))}, of which genmodels ${mib(du(path.join(nm, 'genmodels')))}`,
    );

    // 4. the installed bin, with no torch addon reachable (no GENMODELS_TORCH_ADDON, no checkout)
    const bin = path.join(nm, '.bin', 'genmodels');
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('GENMODELS_') && !k.startsWith('npm_')),
    );
    env.GENMODELS_THREADS = '1';
    const gm = (args: string[]) =>
      execFileSync(bin, args, { cwd: app, env, encoding: 'utf8', stdio: 'pipe' });
    const infoOut = gm(['info']);
    assert.match(infoOut, /backend: wasm/);
    assert.match(infoOut, /torch: not loaded/);
    // 5. samples of a small shipped image model (a direct sampler: one pass): PNG and CSV
    const small = listPretrained()
      .filter((e) => e.data === 'mnist' && e.taxonomy.sampling === 'direct')
      .sort((a, b) => a.bytes - b.bytes)[0];
    assert.ok(small, 'no direct-sampling MNIST model shipped');
    gm(['sample', `pretrained:${small.name}`, '--n', '4', '--seed', '1', '--out', 'x.png']);
    const png = PNG.sync.read(fs.readFileSync(path.join(app, 'x.png')));
    assert.ok(png.width > 28 && png.height > 28, `${png.width}x${png.height}`);
    const grey = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4) grey.add(png.data[i]!);
    assert.ok(grey.size > 2, 'a blank picture');
    gm(['sample', `pretrained:${small.name}`, '--n', '4', '--seed', '1', '--out', 'x.csv']);
    const rows = fs.readFileSync(path.join(app, 'x.csv'), 'utf8').trim().split('\n');
    const values = rows.flatMap((r) => r.split(',').map(Number));
    assert.equal(values.length, 4 * 784, `${rows.length} rows`);
    assert.ok(values.every(Number.isFinite), 'non-finite samples');
    t.diagnostic(
      `genmodels sample pretrained:${small.name} --n 4: PNG ${png.width}x${png.height}, CSV finite`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

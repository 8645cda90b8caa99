// What an npm consumer gets. Packs genmodels and @genmodels/torch (scripts/pack-torch.mjs), installs the
// tarballs into an empty project with `npm install --offline` (everything else from the npm cache that
// `npm ci` filled, at the versions of our package-lock.json), then from that project:
// (a) without @genmodels/torch the library runs on wasm, trains, and `genmodels info` says the command;
// (b) a failed build of @genmodels/torch (LIBTORCH pointing nowhere) leaves a working install and says why;
// (c) with libtorch, `npm rebuild @genmodels/torch` (the command (b) printed, minus LIBTORCH) builds the
//     addon: the library runs on torch, its first training loss equals wasm's, and `genmodels info` says torch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/data/paths.js';

const ROOT = packageRoot();
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
const LIBTORCH = process.env.LIBTORCH;
const hasLibtorch = fs.existsSync(
  LIBTORCH ? path.join(LIBTORCH, 'include', 'ATen', 'ATen.h') : '/usr/include/ATen/ATen.h',
);

/** The environment of a consumer's shell: none of this run's npm_* or GENMODELS_* settings. */
function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(npm_|GENMODELS_|LIBTORCH$)/i.test(k) && v !== undefined) env[k] = v;
  return { ...env, GENMODELS_THREADS: '1', ...extra };
}

function run(cmd: string, args: string[], cwd: string, env = consumerEnv()): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
  if (r.status !== 0 && /ENOTCACHED/.test(r.stderr))
    assert.fail(
      `npm's cache lacks a package this test installs offline (run \`npm ci\` once: it fills ~/.npm):\n${r.stderr}`,
    );
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`.slice(-4000),
  );
  return r.stdout;
}

/**
 * Give the project's lockfile our locked versions of every package it does not lock yet, with their
 * registry URLs: npm then takes each tarball from the cache by its integrity, without asking the registry.
 */
function seedLock(app: string): void {
  const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { name?: string; version: string; resolved?: string }>;
  };
  const file = path.join(app, 'package-lock.json');
  const lock: { packages: Record<string, unknown> } = fs.existsSync(file)
    ? JSON.parse(fs.readFileSync(file, 'utf8'))
    : { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: {} };
  lock.packages[''] ??= { name: 'app', version: '1.0.0' };
  for (const [where, p] of Object.entries(ours.packages)) {
    if (where === '' || where in lock.packages) continue;
    const name = p.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const tarball = `${name.split('/').pop()}-${p.version}.tgz`;
    lock.packages[where] = {
      ...p,
      resolved: p.resolved ?? `https://registry.npmjs.org/${name}/-/${tarball}`,
    };
  }
  fs.writeFileSync(file, JSON.stringify(lock, null, 2));
}

// Two steps of a MAF on moons through the public API; prints the backend and the step losses.
const STEP_SCRIPT = `
import { initBackend, loadDataset, parseDataArg, modelEntry, makeTrainConfig, train } from 'genmodels';
const backend = await initBackend(undefined, { quiet: true });
const ds = loadDataset(parseDataArg('moons'));
const e = modelEntry('maf');
const model = e.create({ ...e.defaults }, ds.spec, 0);
const losses = [];
const r = await train({ model, dataset: ds, outDir: 'run-' + backend, progress: 'off', images: false,
  config: makeTrainConfig({ epochs: 1, maxSteps: 2, seed: 0 }), log: () => {},
  onStep: (s) => losses.push(s.losses.nll) });
console.log(JSON.stringify({ backend, step: r.step, losses }));
`;

interface StepOut {
  backend: string;
  step: number;
  losses: number[];
}

function trainSteps(app: string): StepOut {
  const out = JSON.parse(run(process.execPath, ['step.mjs'], app).trim().split('\n').pop()!) as StepOut;
  assert.equal(out.step, 2);
  assert.equal(out.losses.length, 2);
  for (const l of out.losses) assert.ok(Number.isFinite(l), `loss ${l}`);
  return out;
}

const info = (app: string) => run(path.join(app, 'node_modules', '.bin', 'genmodels'), ['info'], app);

test('npm consumer: wasm without @genmodels/torch, a failed build keeps wasm, torch once built', async (t) => {
  const t0 = Date.now();
  const lap = (what: string) => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'genmodels-pack-'));
  let ok = false;
  try {
    const packed = JSON.parse(
      run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], ROOT),
    ) as { filename: string; size: number; files: { path: string }[] }[];
    const main = packed[0]!;
    const torchTgz = run(process.execPath, [path.join(ROOT, 'scripts', 'pack-torch.mjs'), tmp], ROOT).trim();
    lap(`packed (genmodels ${main.size} bytes, ${main.files.length} files)`);
    // deliberate contents: the library, its run-time assets, no tests, sources or native build
    const files = main.files.map((f) => f.path);
    assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/cli/main.js'));
    assert.ok(files.includes('assets/classifiers/mnist/classifier.safetensors'));
    for (const f of files)
      assert.ok(!/^(dist\/(test|bench)|src|test\/(?!fixtures\/mnist-test-1000)|native|docs)\//.test(f), f);

    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    // allowScripts: the consumer's approval of @genmodels/torch's install script (npm blocks unapproved ones)
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({
        name: 'app',
        version: '1.0.0',
        private: true,
        allowScripts: { '@genmodels/torch': true },
      }),
    );
    fs.writeFileSync(path.join(app, 'step.mjs'), STEP_SCRIPT);
    const npmInstall = ['install', '--offline', '--no-audit', '--no-fund'];
    seedLock(app);
    run('npm', [...npmInstall, path.join(tmp, main.filename)], app);
    lap('npm install genmodels');

    let wasm: StepOut | undefined;
    await t.test('(a) without @genmodels/torch: wasm, and info gives the install command', () => {
      wasm = trainSteps(app);
      assert.equal(wasm.backend, 'wasm');
      const text = info(app);
      assert.match(text, /^genmodels backend: wasm\n/);
      assert.match(text, /torch: not loaded: @genmodels\/torch is not installed/);
      assert.ok(
        text.includes(`to get torch: `) && text.includes(`npm install @genmodels/torch@${VERSION}`),
        text,
      );
      lap('(a) done');
    });

    await t.test('(b) a failed build of @genmodels/torch: the install succeeds, info says why', () => {
      seedLock(app);
      run('npm', [...npmInstall, torchTgz], app, consumerEnv({ LIBTORCH: path.join(tmp, 'no-libtorch') }));
      lap('npm install @genmodels/torch (LIBTORCH pointing nowhere)');
      const status = JSON.parse(
        fs.readFileSync(path.join(app, 'node_modules', '@genmodels', 'torch', 'build-status.json'), 'utf8'),
      ) as { ok: boolean; reason: string };
      assert.equal(status.ok, false);
      const text = info(app);
      assert.match(text, /^genmodels backend: wasm\n/);
      assert.match(
        text,
        /torch: not loaded: @genmodels\/torch is installed but its addon is not built: LIBTORCH=/,
      );
      assert.match(text, /to get torch: LIBTORCH=\/path\/to\/libtorch npm rebuild @genmodels\/torch/);
    });

    const skip = hasLibtorch
      ? false
      : 'libtorch absent (apt-get install libtorch-dev, or set LIBTORCH=/path)';
    await t.test('(c) with libtorch: npm rebuild @genmodels/torch gives torch', { skip }, () => {
      run(
        'npm',
        ['rebuild', '--offline', '@genmodels/torch'],
        app,
        consumerEnv(LIBTORCH ? { LIBTORCH } : {}),
      );
      lap('npm rebuild @genmodels/torch (compiles the addon)');
      const text = info(app);
      assert.match(text, /^genmodels backend: torch\n/);
      assert.ok(text.includes(`addon from: @genmodels/torch ${VERSION}`), text);
      assert.ok(text.includes(path.join(app, 'node_modules', '@genmodels', 'torch', 'native')), text);
      const torch = trainSteps(app);
      assert.equal(torch.backend, 'torch');
      // same seed, same initial weights and batch: the first loss agrees across backends to float32 rounding
      const w = wasm!.losses[0]!;
      assert.ok(
        Math.abs(torch.losses[0]! - w) <= 1e-5 * Math.abs(w),
        `torch ${torch.losses[0]} vs wasm ${w}`,
      );
      lap('(c) done');
    });
    ok = true;
  } finally {
    if (ok) fs.rmSync(tmp, { recursive: true, force: true });
    else t.diagnostic(`kept ${tmp} for inspection`);
  }
});

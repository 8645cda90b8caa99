#!/usr/bin/env node
// Pack @genmodels/torch: packages/torch/ plus a copy of the addon's sources (native/binding.gyp,
// native/torch_addon.cc), staged in a temporary folder so the repository keeps one copy of them.
// Usage: node scripts/pack-torch.mjs [DEST]   (DEST default: the repository root). Prints the tarball path.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dest = path.resolve(process.argv[2] ?? root);
const readJson = (f) => JSON.parse(readFileSync(f, 'utf8'));
const main = readJson(path.join(root, 'package.json'));
const pkgDir = path.join(root, 'packages', 'torch');
const torch = readJson(path.join(pkgDir, 'package.json'));
// genmodels loads the addon only from the same version (the addon and the kernel table change together)
const peer = main.peerDependencies?.[torch.name];
if (torch.version !== main.version || peer !== main.version) {
  console.error(
    `pack-torch: versions differ: genmodels ${main.version}, ${torch.name} ${torch.version}, ` +
      `genmodels' peerDependencies["${torch.name}"] ${peer}; make all three the same`,
  );
  process.exit(1);
}
const stage = mkdtempSync(path.join(os.tmpdir(), 'genmodels-torch-'));
try {
  for (const f of ['package.json', 'index.cjs', 'index.d.ts', 'build.mjs', 'README.md'])
    copyFileSync(path.join(pkgDir, f), path.join(stage, f));
  mkdirSync(path.join(stage, 'native'));
  for (const f of ['binding.gyp', 'torch_addon.cc', 'dist.cc', 'c10d.cjs'])
    copyFileSync(path.join(root, 'native', f), path.join(stage, 'native', f));
  mkdirSync(dest, { recursive: true });
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], {
    cwd: stage,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [info] = JSON.parse(out);
  console.log(path.join(dest, info.filename));
} finally {
  rmSync(stage, { recursive: true, force: true });
}

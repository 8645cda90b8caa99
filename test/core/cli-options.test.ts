// Model options through the genmodels command: a mistyped --set key exits 2 with one line naming the nearest
// option; `genmodels train <model> --help` lists every option of every model and alias (from its schema).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelAliases, modelKinds, resolveModel } from '../../src/core/model.js';
import '../../src/families/index.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const env = { ...process.env, GENMODELS_BACKEND: 'cpu', GENMODELS_THREADS: '1' };
const cli = (args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: os.tmpdir(), env, timeout: 120_000 });

test('train vae --set latentDm=2: exit 2, one line naming latentDim', () => {
  for (const set of ['latentDm=2', 'model.latentDm=2']) {
    const r = cli([
      'train',
      'vae',
      '--data',
      'moons',
      '--set',
      set,
      '--out',
      path.join(os.tmpdir(), 'never'),
    ]);
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.length);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      /^genmodels: error: unknown option 'latentDm' for model 'vae' \(did you mean latentDim\?\)/,
    );
  }
  for (const key of ['toString', '__proto__']) {
    const r = cli(['train', 'vae', '--data', 'moons', '--set', `${key}=1`]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`unknown option '${key}' for model 'vae'`));
  }
});

test('train <model> --help lists every option of every model and alias', () => {
  for (const name of [...modelKinds(), ...modelAliases().map((a) => a.name)]) {
    const r = cli(['train', name, '--help']);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^${name}: `));
    for (const k of Object.keys(resolveModel(name).entry.schema.shape))
      assert.match(r.stdout, new RegExp(`\\n  ${k} \\(`), `${name}: ${k}`);
  }
});

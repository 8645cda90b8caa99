// Checkpoints written before the config schema (test/fixtures/checkpoints-v1, README there: which commit, which
// commands) load through today's registry and evaluate, through the genmodels command, to the numbers the old
// code printed (1e-5 relative): old kind names (cvae, conditional-pixelcnn, cgan) resolve as aliases to the same
// architecture, config and taxonomy.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../src/families/index.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { useCpu } from '../families/latent/helpers.js';

before(useCpu);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/checkpoints-v1');
const MAIN = path.resolve(HERE, '../../src/cli/main.js');
const env = { ...process.env, GENMODELS_THREADS: '1' };

/** the eval flags each fixture's eval.json was written with (README.md of the fixtures) */
const EVAL_ARGS: Record<string, string[]> = {
  'vae-moons': ['--iw', '4'],
  'cvae-mnist': ['--iw', '4'],
  'cpixelcnn-mnist': [],
  'crealnvp-moons': [],
  'cgan-mnist': ['--samples', '64'],
  'dcgan-mnist': ['--samples', '64'],
};

/** every number of `want` within 1e-5 relative in `got` (same structure, same strings; `got` may have fields
 *  that were added to the eval output since, e.g. a metric's label and kind) */
function assertClose(got: unknown, want: unknown, where: string): void {
  if (typeof want === 'number') {
    assert.equal(typeof got, 'number', where);
    const tol = 1e-5 * Math.max(1, Math.abs(want));
    assert.ok(Math.abs((got as number) - want) <= tol, `${where}: ${got} vs ${want}`);
  } else if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, where);
    want.forEach((w, i) => assertClose((got as unknown[])[i], w, `${where}[${i}]`));
  } else if (want !== null && typeof want === 'object') {
    assert.ok(got !== null && typeof got === 'object', where);
    for (const k of Object.keys(want)) assert.ok(Object.hasOwn(got as object, k), `${where}: no '${k}'`);
    for (const [k, w] of Object.entries(want))
      assertClose((got as Record<string, unknown>)[k], w, `${where}.${k}`);
  } else assert.equal(got, want, where);
}

const names = fs.readdirSync(FIXTURES).filter((n) => fs.existsSync(path.join(FIXTURES, n, 'eval.json')));

test('the v1 fixture set is complete', () => {
  assert.deepEqual(names.sort(), Object.keys(EVAL_ARGS).sort());
});

for (const name of names) {
  const dir = path.join(FIXTURES, name);
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint', 'config.json'), 'utf8')) as {
    model: { kind: string; config: Record<string, unknown>; taxonomy: Record<string, unknown> };
  };

  test(`v1 checkpoint ${name} (${saved.model.kind}) loads with the same config and taxonomy`, () => {
    const { model } = loadCheckpoint(path.join(dir, 'checkpoint'));
    try {
      assert.deepEqual(model.config, saved.model.config);
      assert.deepEqual(model.taxonomy, saved.model.taxonomy);
    } finally {
      model.dispose();
    }
  });

  test(`v1 checkpoint ${name} evaluates to the stored numbers`, () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-v1-'));
    try {
      fs.cpSync(path.join(dir, 'checkpoint'), path.join(work, 'checkpoint'), { recursive: true });
      const r = spawnSync(
        process.execPath,
        [MAIN, 'eval', work, '--limit', '64', '--seed', '0', '--json', ...EVAL_ARGS[name]!],
        { encoding: 'utf8', cwd: ROOT, env, timeout: 300_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      const want = JSON.parse(fs.readFileSync(path.join(dir, 'eval.json'), 'utf8')) as unknown;
      assertClose(JSON.parse(r.stdout), want, name);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
}

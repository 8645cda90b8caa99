// `reproduce` through the library (api/reproduce.ts: trainRun + evalCheckpoint, no argv): a tiny recipe
// trains, evaluates and writes result.json / result.md; a rerun skips training; --epochs continues the run and
// the row says it was overridden; `eval --row` prints the same row from the same writer (api/results.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const env = { ...process.env, GENMODELS_BACKEND: 'cpu', GENMODELS_THREADS: '1' };
const cli = (args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: os.tmpdir(), env, timeout: 300_000 });

test('reproduce a tiny recipe: result files, rerun skips training, --epochs resumes, eval --row agrees', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-repro-'));
  const recipe = path.join(root, 'tiny-vae.json');
  fs.writeFileSync(
    recipe,
    JSON.stringify({
      model: 'vae',
      data: 'moons',
      config: { model: { latentDim: 2 }, train: { epochs: 1, batchSize: 64, limit: 256, evalLimit: 100 } },
      eval: { iw: 4, batchSize: 100 },
      target: { metric: 'nll', nats: 3, reference: 'none' },
    }),
  );
  const out = path.join(root, 'run');
  const r = cli(['reproduce', recipe, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint', 'config.json'), 'utf8'));
  assert.equal(cfg.model.config.latentDim, 2, 'recipe model options reach the model');
  assert.equal(cfg.state.epoch, 1);
  const res = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
  assert.equal(res.recipe, 'tiny-vae');
  assert.equal(res.epochs, 1);
  assert.deepEqual(
    res.eval.metrics.map((m: { name: string }) => m.name),
    ['elbo', 'iwae'],
  );
  const row = fs.readFileSync(path.join(out, 'result.md'), 'utf8').trim();
  assert.equal(row, res.row);
  const iwae = res.eval.metrics[1];
  assert.match(row, new RegExp(`^\\| vae \\| moons \\| ${iwae.nats.toFixed(2)} \\(IWAE-4, test\\) \\|`));
  assert.match(row, /\| <= 3 \(none\) \| `genmodels reproduce tiny-vae` \|$/);
  assert.ok(r.stdout.includes(row), r.stdout);
  assert.match(r.stdout, /\| model \| data \| test NLL nats \|/);

  const again = cli(['reproduce', recipe, '--out', out]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /training complete \(1 epochs\), evaluating/);
  assert.equal(fs.readFileSync(path.join(out, 'result.md'), 'utf8').trim(), row, 'deterministic eval');

  // eval --row: the same writer, the same numbers (same split, iw, batch size, seed); only "how" differs
  const e = cli(['eval', out, '--iw', '4', '--batch-size', '100', '--row']);
  assert.equal(e.status, 0, e.stderr);
  const erow = e.stdout.trim().split('\n').at(-1)!;
  const cells = (s: string) => s.split('|').map((c) => c.trim());
  assert.deepEqual(cells(erow).slice(1, 8), cells(row).slice(1, 8));
  assert.match(erow, /`genmodels eval .* --iw 4 --batch-size 100` \|$/);

  const more = cli(['reproduce', recipe, '--out', out, '--epochs', '2']);
  assert.equal(more.status, 0, more.stderr);
  assert.match(more.stderr, /resuming vae at epoch 1/);
  const res2 = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
  assert.equal(res2.epochs, 2);
  assert.match(res2.row, /\(overridden: quick check\) \|$/);
  fs.rmSync(root, { recursive: true, force: true });
});

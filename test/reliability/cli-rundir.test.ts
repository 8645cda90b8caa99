// The CLI side of run directories: `train --force` never deletes a folder that is not a run, and a run
// being written cannot be resumed by a second training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUN_LOCK, RUN_MARKER } from '../../src/train/rundir.js';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.resolve('dist/src/cli/main.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, GENMODELS_THREADS: '1' },
  });
const TINY = ['--epochs', '1', '--set', 'layers=2', '--set', 'hidden=8', '--backend', 'cpu'];

test('train --force refuses a folder that is not a run directory and deletes nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-cli-rundir-'));
  const csv = path.join(dir, 'input.csv');
  fs.writeFileSync(
    csv,
    'a,b\n' + Array.from({ length: 64 }, (_, i) => `${i % 7},${i % 5}`).join('\n') + '\n',
  );
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'precious');
  const r = cli('train', 'realnvp', '--data', csv, '--out', dir, '--force', ...TINY);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^genmodels: error: .*is not a genmodels run directory/m);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['input.csv', 'notes.txt']);

  // a real run can be replaced with --force, and is told what was removed
  const run = path.join(dir, 'run');
  const a = cli('train', 'realnvp', '--data', csv, '--out', run, ...TINY);
  assert.equal(a.status, 0, a.stderr);
  assert.ok(fs.existsSync(path.join(run, RUN_MARKER)));
  assert.ok(!fs.existsSync(path.join(run, RUN_LOCK)), 'the lock is released when training ends');
  const b = cli('train', 'realnvp', '--data', csv, '--out', run, '--force', ...TINY);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stderr, /removed .*checkpoint/);

  // a lock held by a live process (this test) keeps a second training out
  fs.writeFileSync(
    path.join(run, RUN_LOCK),
    JSON.stringify({ pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() }),
  );
  const c = cli('train', '--resume', run, '--epochs', '2', '--backend', 'cpu');
  assert.equal(c.status, 2, c.stderr);
  assert.match(c.stderr, /^genmodels: error: .*in use by another training/m);
  const d = cli('train', 'realnvp', '--data', csv, '--out', run, '--force', ...TINY);
  assert.equal(d.status, 2, d.stderr);
  assert.ok(fs.existsSync(path.join(run, 'checkpoint', 'config.json')), 'a refused --force removed nothing');
  fs.rmSync(dir, { recursive: true, force: true });
});

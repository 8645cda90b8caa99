// Run directories: --force replaces only a run directory; two writers are locked out; a stale lock is taken
// over. (The CLI calls claimRunDir; these tests call it directly.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../src/core/model.js';
import { claimRunDir, isRunDir, RUN_LOCK, RUN_MARKER } from '../../src/train/rundir.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-rundir-'));
const userErr = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
  assert.ok(!e.message.includes('\n'), 'one line');
  assert.match(e.message, re);
  return true;
};

test('a new run directory gets the marker and the lock; release removes the lock', () => {
  const dir = path.join(tmp(), 'runs', 'a');
  const c = claimRunDir(dir);
  assert.equal(c.created, true);
  assert.ok(fs.existsSync(path.join(dir, RUN_MARKER)));
  const lock = JSON.parse(fs.readFileSync(path.join(dir, RUN_LOCK), 'utf8'));
  assert.equal(lock.pid, process.pid);
  assert.equal(lock.hostname, os.hostname());
  assert.ok(!Number.isNaN(Date.parse(lock.startedAt)));
  assert.ok(isRunDir(dir));
  assert.ok(process.listeners('exit').length > 0, 'the lock is released at exit too');
  c.release();
  c.release();
  assert.ok(!fs.existsSync(path.join(dir, RUN_LOCK)));
  assert.deepEqual(fs.readdirSync(dir), [RUN_MARKER]);
});

test('--force refuses a directory that is not a run directory and deletes nothing', () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'input.csv'), 'a,b\n1,2\n');
  fs.mkdirSync(path.join(dir, 'notes'));
  fs.writeFileSync(path.join(dir, 'notes', 'thesis.tex'), 'precious');
  assert.throws(
    () => claimRunDir(dir, { force: true }),
    userErr(/is not a genmodels run directory .*--force replaces only run directories/),
  );
  assert.throws(() => claimRunDir(dir), userErr(/already exists; continue it with --resume/));
  assert.throws(
    () => claimRunDir(dir, { resume: true }),
    userErr(/not a genmodels run directory.*cannot resume/),
  );
  assert.deepEqual(fs.readdirSync(dir).sort(), ['input.csv', 'notes']);
  assert.equal(fs.readFileSync(path.join(dir, 'notes', 'thesis.tex'), 'utf8'), 'precious');
  // a file where the directory should be
  const f = path.join(dir, 'input.csv');
  assert.throws(() => claimRunDir(f, { force: true }), userErr(/is not a directory/));
});

test('--force empties a run directory and says what it removed', () => {
  const dir = path.join(tmp(), 'run');
  claimRunDir(dir).release();
  fs.mkdirSync(path.join(dir, 'checkpoint'));
  fs.writeFileSync(path.join(dir, 'checkpoint', 'config.json'), '{}');
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{}\n');
  const c = claimRunDir(dir, { force: true });
  assert.deepEqual(c.removed, [RUN_MARKER, 'checkpoint', 'metrics.jsonl']);
  assert.equal(c.created, false);
  assert.deepEqual(fs.readdirSync(dir).sort(), [RUN_MARKER, RUN_LOCK].sort());
  c.release();
});

test('a run written before the marker existed (checkpoint/config.json) counts as a run directory', () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'checkpoint'));
  fs.writeFileSync(
    path.join(dir, 'checkpoint', 'config.json'),
    JSON.stringify({ format: 'genmodels-checkpoint', version: 1 }),
  );
  assert.ok(isRunDir(dir));
  const r = claimRunDir(dir, { resume: true });
  assert.ok(fs.existsSync(path.join(dir, RUN_MARKER)), 'the marker is added');
  assert.ok(fs.existsSync(path.join(dir, 'checkpoint', 'config.json')), 'resume removes nothing');
  r.release();
  const f = claimRunDir(dir, { force: true });
  assert.deepEqual(f.removed, [RUN_MARKER, 'checkpoint']);
  f.release();
  // a config.json of some other program does not make a run directory
  const other = tmp();
  fs.mkdirSync(path.join(other, 'checkpoint'));
  fs.writeFileSync(path.join(other, 'checkpoint', 'config.json'), '{"format":"other"}');
  assert.ok(!isRunDir(other));
});

test('a second writer is refused while the first holds the lock; a stale lock is taken over', () => {
  const dir = path.join(tmp(), 'run');
  const first = claimRunDir(dir);
  for (const o of [{ resume: true }, { force: true }]) {
    assert.throws(
      () => claimRunDir(dir, o),
      userErr(new RegExp(`in use by another training \\(pid ${process.pid} on `)),
    );
  }
  assert.ok(fs.existsSync(path.join(dir, RUN_MARKER)), 'a refused --force removed nothing');
  // a second process is refused too
  const script = `import('${path.resolve('dist/src/train/rundir.js')}').then((m) => { try { m.claimRunDir(process.argv[1], { resume: true }); process.exit(0); } catch (e) { console.error(e.message); process.exit(e.name === 'UserError' ? 2 : 1); } });`;
  const r = spawnSync(process.execPath, ['-e', script, dir], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /in use by another training/);
  first.release();
  // a lock left by a process that died (kill -9) is stale: the next claim takes it over
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  const deadPid = Number(dead.stdout);
  fs.writeFileSync(
    path.join(dir, RUN_LOCK),
    JSON.stringify({ pid: deadPid, hostname: os.hostname(), startedAt: new Date().toISOString() }),
  );
  const again = claimRunDir(dir, { resume: true });
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, RUN_LOCK), 'utf8')).pid, process.pid);
  again.release();
  // a half-written (unreadable) lock is stale as well
  fs.writeFileSync(path.join(dir, RUN_LOCK), '{"pid": 12');
  claimRunDir(dir, { resume: true }).release();
  // a live lock held on another host cannot be judged: refused
  fs.writeFileSync(
    path.join(dir, RUN_LOCK),
    JSON.stringify({ pid: 1, hostname: 'elsewhere\nx', startedAt: 'then' }),
  );
  assert.throws(() => claimRunDir(dir, { resume: true }), userErr(/on elsewhere\\nx since then/));
  assert.deepEqual(fs.readdirSync(dir).sort(), [RUN_LOCK, RUN_MARKER].sort(), 'no stray temp files');
});

test('a process that exits without calling release leaves no lock behind', () => {
  const dir = path.join(tmp(), 'run');
  const script = `import('${path.resolve('dist/src/train/rundir.js')}').then((m) => { m.claimRunDir(process.argv[1]); process.exit(0); });`;
  const r = spawnSync(process.execPath, ['-e', script, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(dir), [RUN_MARKER]);
});

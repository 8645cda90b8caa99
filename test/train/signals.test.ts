// SIGTERM to a `genmodels train` child process: the step finishes, a checkpoint is saved, the exit status is
// 143 (128 + 15) as for a process killed by it, and the run resumes from that checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const env = { ...process.env, GENMODELS_BACKEND: 'cpu', GENMODELS_THREADS: '1' };

test('SIGTERM to a training child: exit 143 and a resumable checkpoint', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-sig-'));
  const run = path.join(root, 'run');
  const child = spawn(
    process.execPath,
    [MAIN, 'train', 'vae', '--data', 'moons', '--batch-size', '8', '--epochs', '50', '--out', run],
    { env, cwd: root },
  );
  let err = '';
  const code = await new Promise<number | null>((resolve) => {
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (!sent && /epoch 1\/50 \d+\//.test(err)) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 143, err);
  assert.match(err, /SIGTERM: finishing the current step/);
  assert.match(err, /checkpoint saved/);
  const state = JSON.parse(fs.readFileSync(path.join(run, 'checkpoint', 'config.json'), 'utf8')).state;
  assert.ok(state.step >= 1 && state.epoch === 0 && state.stepInEpoch === state.step, JSON.stringify(state));
  const r = spawnSync(
    process.execPath,
    [MAIN, 'train', '--resume', run, '--max-steps', String(state.step + 3)],
    {
      encoding: 'utf8',
      env,
      cwd: root,
      timeout: 120_000,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const after = JSON.parse(fs.readFileSync(path.join(run, 'checkpoint', 'config.json'), 'utf8')).state;
  assert.equal(after.step, state.step + 3);
});

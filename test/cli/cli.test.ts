// The genmodels command, run as a child process: error paths exit non-zero with one line; a tiny real run
// (VAE on a 2-D toy density) trains, samples, evaluates, refuses to overwrite, resumes and handles Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const env = { ...process.env, GENMODELS_BACKEND: 'cpu' };
const cli = (args: string[], cwd = os.tmpdir()) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd, env, timeout: 300_000 });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-cli-'));

function oneLineError(r: ReturnType<typeof cli>, re: RegExp, code = 2): void {
  assert.equal(r.status, code, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.split('\n').filter((l) => l.length);
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^genmodels: error: /);
  assert.match(lines[0]!, re);
}

test('help and bad input: one-line errors, exit 2', () => {
  const h = cli(['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /usage: genmodels <command>/);
  for (const c of ['train', 'sample', 'eval', 'interpolate', 'info']) {
    const r = cli([c, '--help']);
    assert.equal(r.status, 0, c);
    assert.match(r.stdout, new RegExp(`usage: genmodels ${c}`));
  }
  // the recipe list is read while the module loads (it once came out as '(none)')
  const recipes = fs
    .readdirSync(path.resolve(path.dirname(MAIN), '../../../recipes'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5));
  assert.ok(recipes.length > 0);
  const rh = cli(['reproduce', '--help']);
  assert.equal(rh.status, 0);
  assert.match(rh.stdout, new RegExp(`recipes: .*${recipes[0]}`));
  oneLineError(cli(['frobnicate']), /unknown command 'frobnicate'/);
  oneLineError(cli(['train', 'no-such-model', '--data', 'moons']), /unknown model 'no-such-model'/);
  oneLineError(cli(['train', 'vae', '--data', 'no-such-data']), /unknown dataset 'no-such-data'/);
  oneLineError(cli(['train', 'vae']), /needs --data/);
  oneLineError(cli(['train', 'vae', '--data', 'moons', '--epochs', 'many']), /--epochs must be an integer/);
  oneLineError(cli(['train', 'vae', '--data', 'moons', '--bogus']), /Unknown option '--bogus'/);
  oneLineError(
    cli(['train', 'vae', '--data', 'moons', '--set', 'noSuchKey=3']),
    /unknown option 'noSuchKey' for model 'vae'/,
  );
  oneLineError(cli(['train', 'vae', '--data', 'moons', '--set', 'lr=-1']), /lr must be a positive number/);
  oneLineError(
    cli(['train', 'vae', '--data', 'moons', '--backend', 'gpu']),
    /--backend must be torch, wasm or cpu/,
  );
  const bad = path.join(tmp(), 'bad.csv');
  fs.writeFileSync(bad, 'a,b\n1,2\n3\n');
  const r = cli(['train', 'vae', '--data', bad]);
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const d = tmp();
  oneLineError(cli(['sample', path.join(d, 'missing')]), /does not exist/);
  fs.writeFileSync(path.join(d, 'config.json'), '{"format": "something-else"}');
  oneLineError(cli(['sample', d]), /not a genmodels checkpoint/);
  oneLineError(cli(['eval', d]), /not a genmodels checkpoint/);
});

test('a tiny run end to end: train, outputs, no overwrite, sample, eval, truncation, resume, Ctrl-C', async () => {
  const root = tmp();
  const run = path.join(root, 'run');
  const base = [
    '--data',
    'moons',
    '--limit',
    '256',
    '--batch-size',
    '64',
    '--seed',
    '3',
    '--set',
    'evalLimit=200',
    '--out',
    run,
  ];
  const t = cli(['train', 'vae', ...base, '--epochs', '1']);
  assert.equal(t.status, 0, t.stderr);
  for (const f of ['checkpoint/model.safetensors', 'checkpoint/config.json', 'metrics.jsonl', 'samples.png'])
    assert.ok(fs.existsSync(path.join(run, f)), f);
  const cfg = JSON.parse(fs.readFileSync(path.join(run, 'checkpoint', 'config.json'), 'utf8'));
  assert.equal(cfg.format, 'genmodels-checkpoint');
  assert.equal(cfg.state.epoch, 1);
  assert.equal(cfg.state.step, 4);
  assert.equal(cfg.data.name, 'moons');

  // never overwrite a run silently
  const before = fs.readFileSync(path.join(run, 'checkpoint', 'model.safetensors'));
  oneLineError(cli(['train', 'vae', ...base]), /already exists; continue it with --resume/);
  assert.deepEqual(fs.readFileSync(path.join(run, 'checkpoint', 'model.safetensors')), before);

  const png = path.join(root, 's.png');
  const s = cli(['sample', run, '--n', '100', '--out', png]);
  assert.equal(s.status, 0, s.stderr);
  assert.ok(fs.statSync(png).size > 1000);
  oneLineError(cli(['sample', run, '--label', '3']), /not class-conditional/);
  oneLineError(cli(['interpolate', run, '--out', path.join(root, 'i.png')]), /draws images/);

  const e = cli(['eval', run, '--iw', '8', '--limit', '100', '--json']);
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.n, 100);
  assert.deepEqual(
    ev.metrics.map((m: { name: string }) => m.name),
    ['elbo', 'iwae'],
  );
  assert.ok(ev.metrics[1].nats <= ev.metrics[0].nats + 0.05, e.stdout);

  // resume to 2 epochs
  oneLineError(cli(['train', '--resume', run]), /already finished 1 epochs/);
  oneLineError(cli(['train', '--resume', run, '--lr', '0.1']), /only --epochs/);
  const r = cli(['train', '--resume', run, '--epochs', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    JSON.parse(fs.readFileSync(path.join(run, 'checkpoint', 'config.json'), 'utf8')).state.step,
    8,
  );

  // truncated weights: one line, exit 2
  const copy = path.join(root, 'copy');
  fs.cpSync(run, copy, { recursive: true });
  const w = path.join(copy, 'checkpoint', 'model.safetensors');
  fs.truncateSync(w, fs.statSync(w).size - 10);
  oneLineError(cli(['sample', copy, '--out', png]), /truncated/);

  // Ctrl-C: finishes the step, saves, exits 130
  const long = path.join(root, 'long');
  const child = spawn(
    process.execPath,
    [MAIN, 'train', 'vae', '--data', 'moons', '--batch-size', '8', '--epochs', '50', '--out', long],
    { env, cwd: root },
  );
  let err = '';
  const code = await new Promise<number | null>((resolve) => {
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (!sent && /epoch 1\/50 \d+\//.test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 130, err);
  const lc = JSON.parse(fs.readFileSync(path.join(long, 'checkpoint', 'config.json'), 'utf8'));
  assert.ok(lc.state.step >= 1, err);
  assert.match(err, /checkpoint saved/);
});

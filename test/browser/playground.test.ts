// The playground in a real browser: Debian's Chromium (/usr/bin/chromium) driven by playwright-core (no
// browser download), the page served by `genmodels serve`'s server from a fresh `npm run build:web`.
// The page loads with no console errors; every shipped pretrained model samples finite values; the
// browser's log p(x) of fixed inputs equals Node's for the same weights (exact-density models: their value
// has no randomness); 50 steps of toy training in the page lower the loss; screenshots go to docs/img/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { Browser, Page } from 'playwright-core';
import { listPretrained } from '../../src/api/pretrained.js';
import { serve, type Served } from '../../src/api/serve.js';
import { initBackend } from '../../src/backend/index.js';
import { packageRoot } from '../../src/data/paths.js';
import { isToy, loadToy } from '../../src/data/toy.js';
import { modelEstimates } from '../../src/eval/estimates.js';
import '../../src/families/index.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = packageRoot();
const IMG = path.join(ROOT, 'docs/img');
const skip = fs.existsSync(CHROMIUM)
  ? false
  : `Debian's chromium is not installed (${CHROMIUM} absent; apt-get install chromium)`;

let server: Served;
let browser: Browser;
let page: Page;
const problems: string[] = [];

interface PageApi {
  state: {
    ready: boolean;
    autoDone: boolean;
    backend: string;
    errors: string[];
    firstSampleMs: number | null;
  };
  sample(name: string, n: number, o?: object): Promise<{ finite: boolean; seconds: number; count: number }>;
  logLik(name: string, x: number[], n: number, y?: number[]): Promise<{ name: string; values: number[] }[]>;
  train(n: number): Promise<number[]>;
  sampleLive(
    name: string,
    n: number,
    o?: object,
  ): Promise<{
    frames: { step: number; total: number; at: number; values: number[] }[];
    values: number[];
    seconds: number;
    doneAt: number;
  }>;
  sampleValues(name: string, n: number, o?: object): Promise<number[]>;
}
declare const playground: PageApi;

async function open(query: string): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  p.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await p.goto(server.url + query);
  await p.waitForFunction(() => playground?.state?.ready || playground?.state?.errors?.length, null, {
    timeout: 60_000,
  });
  return p;
}

before(async () => {
  if (skip) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-web.mjs')], { cwd: ROOT, stdio: 'pipe' });
  server = await serve({ port: 0 });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  page = await open('?auto=0');
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the playground loads with no console errors and says its backend', { skip }, async () => {
  const st = await page.evaluate(() => playground.state);
  assert.deepEqual(st.errors, []);
  assert.deepEqual(problems, []);
  assert.ok(['webgpu', 'webgl', 'wasm', 'cpu'].includes(st.backend), st.backend);
  assert.match((await page.textContent('#backend')) ?? '', new RegExp(`backend: ${st.backend}`));
  // one gallery panel per shipped model, each naming its taxonomy
  const shipped = listPretrained();
  assert.ok(shipped.length > 0);
  for (const e of shipped) {
    const tax = await page.textContent(`[data-model="${e.name}"] .tax`);
    assert.match(tax ?? '', new RegExp(`density ${e.taxonomy.density} · sampling ${e.taxonomy.sampling}`));
  }
});

test('every shipped pretrained model samples finite values in the browser', { skip }, async () => {
  for (const e of listPretrained()) {
    // 2-D toys: 16 points; images: 1 (a PixelCNN makes one pass per pixel)
    const n = isToy(e.data) ? 16 : 1;
    const opts = e.taxonomy.conditional ? { seed: 3, label: 1 } : { seed: 3 };
    const r = await page.evaluate(([name, k, o]) => playground.sample(name, k, o), [
      e.name,
      n,
      opts,
    ] as const);
    assert.ok(r.count > 0, e.name);
    assert.equal(r.finite, true, `${e.name}: non-finite samples`);
  }
  assert.deepEqual(problems, []);
});

test('long iterative chains are drawn live, step by step, from the sampling worker', { skip }, async (t) => {
  const dims = (e: ReturnType<typeof listPretrained>[number]) =>
    loadCheckpoint(`pretrained:${e.name}`).config.spec.shape.reduce((a, b) => a * b, 1);
  const long = listPretrained().filter((e) => e.taxonomy.sampling === 'iterative' && dims(e) > 16);
  assert.ok(
    long.some((e) => e.taxonomy.family === 'autoregressive'),
    'no autoregressive model shipped',
  );
  const backend = await page.evaluate(() => playground.state.backend);
  for (const e of long) {
    const n = 2;
    const opts = { seed: 5, frames: 28, ...(e.taxonomy.conditional ? { label: 3 } : {}) };
    const r = await page.evaluate(([name, k, o]) => playground.sampleLive(name, k, o), [
      e.name,
      n,
      opts,
    ] as const);
    const F = r.frames;
    const D = r.values.length;
    assert.ok(F.length >= 10, `${e.name}: ${F.length} states`);
    assert.equal(F[0]!.step, 0);
    assert.equal(F.at(-1)!.step, F[0]!.total);
    for (let i = 1; i < F.length; i++) assert.ok(F[i]!.step > F[i - 1]!.step, `${e.name}: steps in order`);
    for (const f of F) {
      assert.equal(f.values.length, D);
      assert.ok(f.values.every(Number.isFinite), `${e.name}: non-finite state at step ${f.step}`);
    }
    assert.deepEqual(F.at(-1)!.values, r.values, `${e.name}: the last state is the sample`);
    // live: the states reach the page while the worker's sampler runs, not all at its end
    const spread = (F.at(-1)!.at - F[0]!.at) / 1000;
    t.diagnostic(
      `${e.name}: ${F.length} states over ${spread.toFixed(2)} s of a ${r.seconds.toFixed(2)} s chain`,
    );
    assert.ok(spread > 0.5 * r.seconds, `${e.name}: states arrived within ${spread} s of ${r.seconds} s`);
    if (e.taxonomy.family === 'autoregressive') {
      // the sample built position by position (raster order): after step s the first s positions of each
      // image are the final ones and the rest are not drawn yet (0); the filled count only grows
      const per = D / n / F[0]!.total;
      let filled = -1;
      for (const f of F) {
        for (let i = 0; i < n; i++)
          for (let j = 0; j < D / n; j++) {
            const v = f.values[i * (D / n) + j]!;
            const want = j < f.step * per ? r.values[i * (D / n) + j]! : 0;
            assert.equal(v, want, `${e.name}: step ${f.step}, image ${i}, value ${j}`);
          }
        const nz = f.values.filter((v) => v !== 0).length;
        assert.ok(nz >= filled, `${e.name}: filled pixels went down at step ${f.step}`);
        filled = nz;
      }
      assert.ok(filled > 0, `${e.name}: an empty sample`);
    }
    // the sampler is deterministic given the seed: the page's own sample (same backend) is the same
    if (backend === 'wasm') {
      const main = await page.evaluate(([name, k, o]) => playground.sampleValues(name, k, o), [
        e.name,
        n,
        opts,
      ] as const);
      const diff = Math.max(...main.map((v, i) => Math.abs(v - r.values[i]!)));
      assert.ok(diff <= 1e-5, `${e.name}: worker and page samples differ by ${diff}`);
    }
  }
  assert.deepEqual(problems, []);
});

/** fixed inputs in model space: the toy's first test rows, or the first MNIST test digits binarized at 1/2 */
function fixedInputs(cfg: ReturnType<typeof loadCheckpoint>['config'], n: number): Float32Array {
  if (cfg.data && cfg.spec.kind === 'vector') {
    const ds = loadToy(cfg.data.name, cfg.data.options);
    return ds.test.x.slice(0, n * 2);
  }
  const raw = fs.readFileSync(path.join(ROOT, 'test/fixtures/mnist-test-1000/t10k-images-idx3-ubyte'));
  return Float32Array.from(raw.subarray(16, 16 + n * 784), (v) => (v / 255 > 0.5 ? 1 : 0));
}

test("the browser's log p(x) equals Node's for the same weights (exact densities)", { skip }, async (t) => {
  await initBackend(undefined, { quiet: true });
  let compared = 0;
  for (const e of listPretrained().filter((p) => p.taxonomy.density === 'exact')) {
    const ck = loadCheckpoint(`pretrained:${e.name}`);
    const n = ck.config.spec.kind === 'vector' ? 64 : 4;
    const x = fixedInputs(ck.config, n);
    const y = ck.model.taxonomy.conditional ? Array.from({ length: n }, (_, i) => i % 10) : undefined;
    const est = modelEstimates(ck.model, 1)[0]!;
    const node = tf.tidy(() =>
      est.logLik(tf.tensor(x, [n, ...ck.config.spec.shape]), y ? tf.tensor1d(y, 'int32') : undefined, 0),
    );
    const want = [...(await node.data())];
    node.dispose();
    ck.model.dispose();
    const args: [string, number[], number, number[] | null] = [e.name, [...x], n, y ?? null];
    const got = await page.evaluate(
      ([name, xs, k, ys]) => playground.logLik(name, xs, k, ys ?? undefined),
      args,
    );
    assert.equal(got[0]!.name, est.name);
    const diff = Math.max(...want.map((w, i) => Math.abs(got[0]!.values[i]! - w)));
    t.diagnostic(`${e.name}: ${n} inputs, max |browser - node| = ${diff.toExponential(2)} nats`);
    for (let i = 0; i < n; i++) {
      const tol = 1e-3 + 1e-4 * Math.abs(want[i]!);
      assert.ok(
        Math.abs(got[0]!.values[i]! - want[i]!) <= tol,
        `${e.name} row ${i}: browser ${got[0]!.values[i]} vs node ${want[i]}`,
      );
    }
    compared++;
  }
  assert.ok(compared > 0, 'no exact-density pretrained model to compare');
});

test('50 steps of toy training in the page lower the loss', { skip }, async () => {
  const losses = await page.evaluate(() => playground.train(50));
  assert.equal(losses.length, 50);
  assert.ok(losses.every(Number.isFinite));
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(
    mean(losses.slice(-10)) < mean(losses.slice(0, 10)),
    `loss did not go down: ${losses.slice(0, 3)} ... ${losses.slice(-3)}`,
  );
});

test('screenshots of the playground (docs/img/browser-*.png)', { skip }, async () => {
  fs.mkdirSync(IMG, { recursive: true });
  await page.locator('[data-train]').screenshot({ path: path.join(IMG, 'browser-train.png') });
  const full = await open('');
  // the page samples its cheap models by itself once ready
  await full.waitForFunction(() => playground.state.autoDone, null, { timeout: 120_000 });
  // the long chains too (the panels waiting for their button, e.g. a PixelCNN's 784 passes: drawn live
  // from the sampling worker)
  const waiting = full.locator('.panel', { hasText: 'press sample' });
  // autoregressive ones first (the half-built screenshot shows the sample built pixel by pixel)
  const names = await waiting.evaluateAll((ps) =>
    ps
      .map((p) => ({ name: p.getAttribute('data-model')!, ar: /autoregressive/.test(p.textContent ?? '') }))
      .sort((a, b) => Number(b.ar) - Number(a.ar))
      .map((p) => p.name),
  );
  for (const [k, name] of names.entries()) {
    const panel = full.locator(`[data-model="${name}"]`);
    await panel.locator('button').click();
    if (k === 0) {
      // the first one half built (docs/img/browser-steps.png): 'building: step i of total'
      await panel.locator('.note').evaluate(
        (note) =>
          new Promise<void>((done) => {
            const check = () => {
              const m = /building: step (\d+) of (\d+)/.exec(note.textContent ?? '');
              if (m && Number(m[1]) >= 0.4 * Number(m[2])) done();
              else setTimeout(check, 5);
            };
            check();
          }),
      );
      await panel.screenshot({ path: path.join(IMG, 'browser-steps.png') });
    }
    await panel.locator('.note', { hasText: 'samples in' }).waitFor({ timeout: 180_000 });
  }
  await full.locator('#gallery').screenshot({ path: path.join(IMG, 'browser-gallery.png') });
  if (await full.locator('[data-draw]').count())
    await full.locator('#draw').screenshot({ path: path.join(IMG, 'browser-draw.png') });
  if (await full.locator('[data-interp]').count())
    await full.locator('#interp').screenshot({ path: path.join(IMG, 'browser-interp.png') });
  await full.close();
  assert.deepEqual(problems, []);
});

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
  // one long chain too (the first panel waiting for its button, e.g. a PixelCNN: 8 digits, 784 passes)
  const waiting = full.locator('.panel', { hasText: 'press sample' }).first();
  if (await waiting.count()) {
    const panel = full.locator(`[data-model="${await waiting.getAttribute('data-model')}"]`);
    // clicked from a timer: the chain then blocks the page's thread, which a synchronous click would wait on
    await panel.evaluate((p) => setTimeout(() => p.querySelector('button')!.click(), 10));
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

// Browser figures for docs/browser.md: bundle sizes, time to first sample, and samples/s of every shipped
// pretrained model in headless Chromium (wasm, and webgl where it initializes) against Node's backend
// (torch when its addon loads). Usage: npm run build && npm run build:web && node dist/bench/browser.js
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listPretrained } from '../src/api/pretrained.js';
import { serve } from '../src/api/serve.js';
import { initBackend } from '../src/backend/index.js';
import { packageRoot } from '../src/data/paths.js';
import { isToy } from '../src/data/toy.js';
import '../src/families/index.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';

interface PageApi {
  state: { ready: boolean; backend: string; firstSampleMs: number | null; autoDone: boolean };
  sample(name: string, n: number, o?: object): Promise<{ finite: boolean; seconds: number }>;
  sampleLive(
    name: string,
    n: number,
    o?: object,
  ): Promise<{ frames: { at: number }[]; seconds: number; doneAt: number }>;
}
declare const playground: PageApi;

const ROOT = packageRoot();
const rate = (n: number, sec: number) => (n / sec).toFixed(n / sec >= 100 ? 0 : 2);
const nFor = (data: string, iterative: boolean, kind: string) =>
  isToy(data) ? 1000 : iterative ? (kind.includes('pixelcnn') ? 4 : 16) : 1000;

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-web.mjs')], { cwd: ROOT, stdio: 'inherit' });
  const build = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist/playground/build.json'), 'utf8'));
  const gz = (f: string) =>
    execFileSync('gzip', ['-9c', path.join(ROOT, 'dist/playground', f)], { maxBuffer: 1 << 26 }).length;
  console.log(
    `bundle genmodels.mjs ${build.bytes['genmodels.mjs']} B (gzip ${gz('genmodels.mjs')} B), ` +
      `playground.js ${build.bytes['playground.js']} B, wasm simd ${build.bytes['tfjs-backend-wasm-simd.wasm']} B (gzip ${gz('tfjs-backend-wasm-simd.wasm')} B)`,
  );
  const models = listPretrained();
  const rows = new Map<string, Record<string, string>>();
  const server = await serve({ port: 0 });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  const only = process.argv[2]?.split(',');
  for (const backend of ['wasm', 'webgl']) {
    const page = await browser.newPage();
    const t0 = Date.now();
    // the page's own first samples on wasm only (time to first sample); webgl here is a software rasterizer
    await page.goto(`${server.url}?backend=${backend}${backend === 'wasm' ? '' : '&auto=0'}`);
    await page.waitForFunction(() => playground?.state?.autoDone, null, { timeout: 600_000 });
    const st = await page.evaluate(() => playground.state);
    console.log(
      `${backend}: ready, first sample at ${st.firstSampleMs?.toFixed(0)} ms after navigation; all auto samples ${Date.now() - t0} ms`,
    );
    // long chains (the panels' button): 8 samples in the sampling worker, from the press (the worker's first
    // request also starts its backend and loads the model) to the first state drawn and to the last
    if (backend === 'wasm')
      for (const e of models) {
        const dims = loadCheckpoint(`pretrained:${e.name}`).config.spec.shape.reduce((a, b) => a * b, 1);
        if (e.taxonomy.sampling !== 'iterative' || dims <= 16 || (only && !only.includes(e.name))) continue;
        const o = e.taxonomy.conditional ? { seed: 1, label: 3, frames: 28 } : { seed: 1, frames: 28 };
        const r = await page.evaluate(([m, oo]) => playground.sampleLive(m, 8, oo), [e.name, o] as const);
        console.log(
          `  ${e.name} (worker, first press): first state drawn at ${r.frames[0]!.at.toFixed(0)} ms, ` +
            `8 samples at ${r.doneAt.toFixed(0)} ms (sampler ${r.seconds.toFixed(2)} s)`,
        );
      }
    for (const e of models) {
      if (only && !only.includes(e.name)) continue;
      const n = nFor(e.data, e.taxonomy.sampling === 'iterative', e.kind);
      // webgl: only where wasm took under 5 s (software WebGL is 10-20x slower per op here)
      if (backend === 'webgl' && !(Number(rows.get(e.name)?.wasmSeconds) < 5)) continue;
      const o = e.taxonomy.conditional ? { seed: 1, label: 3 } : { seed: 1 };
      await page.evaluate(([m, k, oo]) => playground.sample(m, k, oo), [e.name, Math.min(n, 2), o] as const);
      const r = await page.evaluate(([m, k, oo]) => playground.sample(m, k, oo), [e.name, n, o] as const);
      const row = rows.get(e.name) ?? { n: String(n) };
      row[backend] = rate(n, r.seconds);
      if (backend === 'wasm') row.wasmSeconds = String(r.seconds);
      rows.set(e.name, row);
      console.log(`  ${e.name}: ${n} samples in ${r.seconds.toFixed(2)} s on ${st.backend}`);
    }
    await page.close();
  }
  await browser.close();
  await server.close();
  const nodeBackend = await initBackend(undefined, { quiet: true });
  for (const e of models) {
    if (only && !only.includes(e.name)) continue;
    const ck = loadCheckpoint(`pretrained:${e.name}`);
    const n = Number(rows.get(e.name)!.n);
    // the sampling defaults the page uses (config.json's pretrained.sample, e.g. 20 DDIM steps)
    const dflt = (ck.config as { pretrained?: { sample?: { steps?: number; sampler?: string } } }).pretrained
      ?.sample;
    const o = { ...(dflt ?? {}), ...(e.taxonomy.conditional ? { seed: 1, label: 3 } : { seed: 1 }) };
    ck.model.sample(Math.min(n, 2), o).dispose();
    const t = performance.now();
    const x = ck.model.sample(n, o);
    await x.data();
    x.dispose();
    rows.get(e.name)!.node = rate(n, (performance.now() - t) / 1000);
    ck.model.dispose();
  }
  console.log(
    `\n| model | taxonomy | n | wasm samples/s | webgl samples/s | Node ${nodeBackend} samples/s |`,
  );
  console.log('|---|---|---|---|---|---|');
  for (const e of models) {
    const r = rows.get(e.name);
    if (!r) continue;
    console.log(
      `| ${e.name} | ${e.taxonomy.density} / ${e.taxonomy.sampling} | ${r.n} | ${r.wasm} | ${r.webgl ?? 'not run'} | ${r.node} |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

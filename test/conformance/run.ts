// Conformance: tfjs-core's own published jasmine op suite (dist/tests.js) against the 'torch' backend,
// the way tfjs-backend-cpu runs it (jasmine_util.setTestEnvs + setupTestFilters).
// Prints failures, then `N passed, N failed, N skipped`; exits non-zero on failures, and when the torch
// backend is unavailable (this suite is its correctness check).
// Usage: node dist/test/conformance/run.js [substring-filter]
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { hookTfjsCoreEsm, registerAllGradients } from '../../src/backend/gradients.js';
import { fallbackCounts, registerTorch } from '../../src/backend/torch/index.js';
import { EXCLUSIONS } from './exclusions.js';

const require = createRequire(import.meta.url);
const dist = (f: string) => pathToFileURL(require.resolve('@tensorflow/tfjs-core/dist/' + f)).href;

interface SpecResult {
  fullName: string;
  status: string;
  failedExpectations: { message: string }[];
}

async function main(): Promise<number> {
  const err = registerTorch();
  if (err !== null) {
    // this suite is the torch backend's correctness check: without the backend it has not passed
    console.log(`conformance failed: the torch backend is unavailable (${err})`);
    console.log('0 passed, 0 failed, 0 skipped');
    return 1;
  }
  const only = process.argv[2];
  const Jasmine = require('jasmine');
  const runner = new Jasmine();
  runner.exitOnCompletion = false;
  runner.loadConfig({ spec_files: [], random: false });
  runner.jasmine.DEFAULT_TIMEOUT_INTERVAL = 30000;

  hookTfjsCoreEsm();
  await registerAllGradients();
  await import(dist('public/chained_ops/register_all_chained_ops.js'));
  // jasmine_util.js is ESM that calls require('jasmine-core/...'): give it a global require.
  (globalThis as { require?: NodeRequire }).require = require;
  const ju = await import(dist('jasmine_util.js'));
  ju.setTestEnvs([{ name: 'torch', backendName: 'torch', isDataSync: true }]);
  const excluded = new Map<string, string>();
  ju.setupTestFilters([], (name: string) => {
    if (only !== undefined && !name.includes(only)) return false;
    const ex = EXCLUSIONS.find((e) => name.includes(e.match));
    if (ex) excluded.set(name, ex.reason);
    return ex === undefined;
  });
  process.on('unhandledRejection', (e) => {
    throw e;
  });

  let passed = 0;
  let skipped = 0;
  const failed: SpecResult[] = [];
  runner.clearReporters();
  runner.addReporter({
    specDone(r: SpecResult) {
      if (r.status === 'passed') passed++;
      else if (r.status === 'failed') failed.push(r);
      else skipped++;
    },
  });
  await import(dist('tests.js'));
  const t0 = Date.now();
  await runner.execute();
  for (const f of failed) {
    const msg = (f.failedExpectations[0]?.message ?? '').split('\n')[0].slice(0, 200);
    console.log(`FAIL ${f.fullName}\n     ${msg}`);
  }
  const reasons = new Map<string, number>();
  for (const r of excluded.values()) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  for (const [r, n] of reasons) console.log(`excluded ${n}: ${r}`);
  const fb = [...fallbackCounts].sort((p, q) => q[1] - p[1]).map(([k, n]) => `${k}(${n})`);
  console.log(`kernels run on the cpu fallback: ${fb.join(' ') || 'none'}`);
  console.log(`time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed.length} failed, ${skipped} skipped`);
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);

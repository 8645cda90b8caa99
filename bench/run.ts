// `npm run bench`: every workload on every tfjs backend (one child process each, bench/worker.ts) and on
// PyTorch (bench/reference.py), in one run, as one markdown table. See docs/bench.md.
//   node dist/bench/run.js [--workloads W1,W2,G,U,D,add] [--backends torch,wasm] [--steps N] [--warmup K]
//                          [--slow-steps N] [--rounds R] [--quick] [--blas openmp|system] [--threads N]
//                          [--bf16] [--out runs/bench-latest.md]
// --bf16 adds a second table in the same run: the torch backend's bf16 precision policy (--precision bf16,
// src/backend/torch/precision.ts) against PyTorch under torch.autocast('cpu', torch.bfloat16), per training
// workload (W1, W2, G, U), each with its speedup over fp32; the fp32 table is unchanged.
// With R rounds, the torch backend and PyTorch are measured R times each, alternating (torch first in odd rounds,
// PyTorch first in even ones), so that a slow period of a shared machine hits both sides; each engine's time is
// the median over all its rounds' steps. The slow backends (wasm, cpu) run in round 1 only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/core/model.js';
import { median, ROOT, torchAddonBuilt, type WorkerResult } from './worker.js';
import { WORKLOADS } from './workloads.js';
import { U_ARCH } from './unet.js';
import { cpuBf16 } from '../src/backend/torch/precision.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ALL_WORKLOADS = ['W1', 'W2', 'G', 'U', 'D', 'add'];
const ALL_BACKENDS = ['torch', 'wasm', 'cpu'];
/** the training workloads of the bf16 table */
const BF16_WORKLOADS = ['W1', 'W2', 'G', 'U'];
/** the bf16 runs' backend name in results */
const TORCH_BF16 = 'torch-bf16';
const ROW_LABEL: Record<string, string> = {
  W1: 'W1 MLP VAE step (ms)',
  W2: 'W2 conv step (ms)',
  G: 'G Glow step (ms)',
  U: 'U U-Net training step (ms)',
  D: 'D DDIM sampling (images/s)',
  add: 'per-op small add (µs)',
};
/** relative tolerance for the step-1/step-2 loss agreement check */
const LOSS_RTOL = 1e-3;
/** conv training on the JS/wasm backends takes tens of seconds per step: fewer steps there */
const SLOW = (backend: string, workload: string) =>
  (workload === 'W2' || workload === 'G' || workload === 'U' || workload === 'D') &&
  (backend === 'wasm' || backend === 'cpu');

interface Options {
  workloads: string[];
  backends: string[];
  steps: number;
  warmup: number;
  /** warm up for at least this many seconds too (every engine; slow cells: 0) */
  warmupSec: number;
  slowSteps: number;
  /** intra-op threads of the torch backend and PyTorch; 0 = all cores */
  threads: number;
  /** alternating torch / PyTorch measurement rounds */
  rounds: number;
  slowWarmup: number;
  quick: boolean;
  out: string;
  /** 'openmp': put the OpenMP OpenBLAS first on LD_LIBRARY_PATH for torch and PyTorch; 'system': leave as is */
  blas: 'openmp' | 'system';
  /** also measure torch bf16 vs PyTorch bf16 autocast (second table) */
  bf16: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    workloads: ALL_WORKLOADS,
    backends: ['torch', 'wasm'],
    steps: 20,
    warmup: 3,
    warmupSec: 2,
    slowSteps: 2,
    threads: 0,
    rounds: 3,
    slowWarmup: 1,
    quick: false,
    out: path.join(ROOT, 'runs', 'bench-latest.md'),
    blas: 'openmp',
    bf16: false,
  };
  let steps: number | undefined;
  let warmup: number | undefined;
  let slowSteps: number | undefined;
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min)
      throw new UserError(`${flag} needs an integer >= ${min}`);
    return n;
  };
  const list = (flag: string, v: string | undefined, allowed: string[]): string[] => {
    const xs = (v ?? '').split(',').filter((s) => s.length > 0);
    const bad = xs.filter((x) => !allowed.includes(x));
    if (xs.length === 0 || bad.length > 0)
      throw new UserError(`${flag}: unknown '${bad.join(',')}' (choose from ${allowed.join(',')})`);
    return xs;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') o.quick = true;
    else if (a === '--bf16') o.bf16 = true;
    else if (a === '--workloads') o.workloads = list(a, argv[++i], ALL_WORKLOADS);
    else if (a === '--backends') o.backends = list(a, argv[++i], ALL_BACKENDS);
    else if (a === '--steps') steps = int(a, argv[++i], 1);
    else if (a === '--warmup') warmup = int(a, argv[++i], 0);
    else if (a === '--warmup-sec') {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new UserError('--warmup-sec needs a number >= 0');
      o.warmupSec = v;
    } else if (a === '--slow-steps') slowSteps = int(a, argv[++i], 1);
    else if (a === '--threads') o.threads = int(a, argv[++i], 1);
    else if (a === '--rounds') o.rounds = int(a, argv[++i], 1);
    else if (a === '--out') o.out = path.resolve(argv[++i] ?? '');
    else if (a === '--blas') {
      const v = argv[++i];
      if (v !== 'openmp' && v !== 'system') throw new UserError('--blas needs openmp or system');
      o.blas = v;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: node dist/bench/run.js [--workloads W1,W2,G,U,D,add] [--backends torch,wasm[,cpu]] [--steps N]\n' +
          '       [--warmup K] [--warmup-sec S] [--slow-steps N] [--rounds R] [--quick] [--blas openmp|system] [--threads N]\n' +
          '       [--bf16] [--out FILE]   (see docs/bench.md; --bf16: docs/bf16.md)\n',
      );
      process.exit(0);
    } else throw new UserError(`unknown flag '${a}' (try --help)`);
  }
  if (o.quick) {
    o.rounds = 1;
    o.steps = 5;
    o.warmup = 1;
    o.warmupSec = 0;
    o.slowSteps = 1;
  }
  o.steps = steps ?? o.steps;
  o.warmup = warmup ?? o.warmup;
  o.slowSteps = slowSteps ?? o.slowSteps;
  return o;
}

/** Run a command, return its stdout's last JSON line (stderr is kept for error messages). */
function runJson(
  cmd: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ json: unknown; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ json: null, error: e.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (line) {
        try {
          resolve({ json: JSON.parse(line) });
          return;
        } catch {
          /* fall through */
        }
      }
      const tail = err.trim().split('\n').slice(-3).join(' | ');
      resolve({ json: null, error: `exit ${code ?? signal}: ${tail || 'no output'}` });
    });
  });
}

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function runWorker(
  backend: string,
  workload: string,
  o: Options,
  precision: 'fp32' | 'bf16' = 'fp32',
): Promise<WorkerResult> {
  if (backend === 'torch' && !torchAddonBuilt())
    return { backend, workload, status: 'n/a', note: 'n/a (addon not built)' };
  const slow = SLOW(backend, workload);
  const steps = slow ? o.slowSteps : o.steps;
  const warmup = slow ? Math.min(o.warmup, o.slowWarmup) : o.warmup;
  const args = [path.join(HERE, 'worker.js'), '--backend', backend, '--workload', workload];
  args.push('--steps', String(steps), '--warmup', String(warmup));
  if (!slow && o.warmupSec > 0) args.push('--warmup-sec', String(o.warmupSec));
  if (o.threads > 0 && backend === 'torch') args.push('--threads', String(o.threads));
  if (backend === 'wasm' && (workload === 'W2' || workload === 'G')) args.push('--shim');
  if (precision === 'bf16') args.push('--precision', 'bf16');
  const label = precision === 'bf16' ? TORCH_BF16 : backend;
  log(`${label} ${workload}: ${warmupText(warmup, slow ? 0 : o.warmupSec)} + ${steps} steps ...`);
  const t0 = Date.now();
  const env = backend === 'torch' ? libtorchEnv(o) : process.env;
  const { json, error } = await runJson(process.execPath, args, 60 * 60 * 1000, env);
  const r = (json as WorkerResult | null) ?? { backend, workload, status: 'error', note: error };
  if (precision === 'bf16') r.backend = TORCH_BF16;
  log(
    `${label} ${workload}: ${r.status === 'ok' ? fmt(r.median!) + ' ' + r.unit : r.note} (${Date.now() - t0} ms)`,
  );
  return r;
}

interface PyOut {
  torch: string;
  threads: number;
  numpy: string;
  blas: string[];
  results: Record<string, WorkerResult>;
}

async function runPython(o: Options, autocast = false): Promise<PyOut | string> {
  const ws = autocast ? o.workloads.filter((w) => BF16_WORKLOADS.includes(w)) : o.workloads;
  if (ws.length === 0) return 'no workloads';
  const args = [path.join(ROOT, 'bench', 'reference.py'), '--workloads', ws.join(',')];
  if (autocast) args.push('--autocast');
  args.push('--steps', String(o.steps), '--warmup', String(o.warmup));
  if (o.warmupSec > 0) args.push('--warmup-sec', String(o.warmupSec));
  if (o.threads > 0) args.push('--threads', String(o.threads));
  log(
    `PyTorch${autocast ? ' bf16 autocast' : ''} ${ws.join(',')}: ${warmupText(o.warmup, o.warmupSec)} + ${o.steps} steps ...`,
  );
  const { json, error } = await runJson('/usr/bin/python3', args, 60 * 60 * 1000, libtorchEnv(o));
  return (json as PyOut | null) ?? `n/a (python: ${error})`;
}

/** "; warm-up steps taken in round 1: W1 torch 146, PyTorch 179; ...", or "" when nothing was measured */
function warmupTaken(results: WorkerResult[], py: PyOut | string): string {
  const parts: string[] = [];
  for (const w of Object.keys(WORKLOADS)) {
    const t = results.find((r) => r.backend === 'torch' && r.workload === w && r.status === 'ok');
    const p = typeof py === 'string' ? undefined : py.results[w];
    const ts = t?.info?.warmup;
    const ps = p?.status === 'ok' ? (p as unknown as { warmup?: number }).warmup : undefined;
    if (typeof ts === 'number' || typeof ps === 'number')
      parts.push(`${w} torch ${ts ?? 'n/a'}, PyTorch ${ps ?? 'n/a'}`);
  }
  return parts.length > 0 ? `; warm-up steps taken in round 1: ${parts.join('; ')}` : '';
}

/** "3 warm-up steps" or "warm-up >= 3 steps and 2 s" */
function warmupText(steps: number, sec: number): string {
  return sec > 0 ? `warm-up >= ${steps} steps and ${sec} s` : `${steps} warm-up steps`;
}

function fmt(x: number): string {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** a table cell: the median time, or for D (DDIM sampling) images per second */
function show(workload: string, median: number): string {
  return workload === 'D' ? fmt((U_ARCH.batch * 1000) / median) : fmt(median);
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

function machineLine(): string {
  let model = os.cpus()[0]?.model ?? '?';
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1]!.trim();
  } catch {
    /* not Linux */
  }
  const load = os.loadavg()[0]!;
  const cores = os.availableParallelism();
  const busy =
    load > 0.5 * cores ? ` — WARNING: machine busy (load ${load.toFixed(1)}), timings are noisy` : '';
  return `${cores} cores, ${model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load avg ${load.toFixed(2)}${busy}`;
}

const OPENMP_DIR = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

function blasAlternative(): string {
  const q = sh('update-alternatives', ['--query', 'libblas.so.3-x86_64-linux-gnu']);
  return /^Value:\s*(.*)$/m.exec(q)?.[1] ?? 'unknown';
}

/**
 * Environment for the libtorch users (torch worker, PyTorch). With --blas openmp (default) and the OpenMP
 * OpenBLAS installed but not selected by update-alternatives, put its directory first on LD_LIBRARY_PATH so
 * both load it (DEVELOPERS.md: libopenblas0-openmp is required for fast matmuls).
 */
function blasEnv(o: Options): NodeJS.ProcessEnv {
  if (
    o.blas !== 'openmp' ||
    blasAlternative().includes('openmp') ||
    !existsSync(path.join(OPENMP_DIR, 'libblas.so.3'))
  )
    return process.env;
  const prev = process.env.LD_LIBRARY_PATH;
  return { ...process.env, LD_LIBRARY_PATH: prev ? `${OPENMP_DIR}:${prev}` : OPENMP_DIR };
}

/**
 * OpenMP wait policy of both libtorch users. The torch backend defaults to PASSIVE (src/backend/torch/
 * native.ts: spinning workers are 30x slower on a busy machine); PyTorch gets the same setting, so the
 * two sides differ only in the code being compared. A value set by the user applies to both.
 */
const OMP_WAIT = process.env.OMP_WAIT_POLICY ?? 'PASSIVE';

function libtorchEnv(o: Options): NodeJS.ProcessEnv {
  return { ...blasEnv(o), OMP_WAIT_POLICY: OMP_WAIT };
}

/** Which BLAS is selected and which each libtorch user actually loaded; a warning when OpenMP OpenBLAS is absent. */
function blasLine(
  o: Options,
  py: PyOut | string,
  results: WorkerResult[],
): { line: string; warning?: string } {
  const value = blasAlternative();
  const openmp = sh('dpkg-query', ['-W', '-f=${Status}', 'libopenblas0-openmp']).includes(
    'install ok installed',
  );
  const forced = blasEnv(o) !== process.env;
  const torchBlas = results.find((r) => r.backend === 'torch' && r.status === 'ok')?.info?.blas as
    string[] | undefined;
  const loaded = [
    typeof py === 'string' ? '' : `PyTorch loaded ${py.blas.join(', ') || '?'}`,
    torchBlas ? `torch backend loaded ${torchBlas.join(', ') || 'no BLAS'}` : '',
  ].filter((x) => x);
  const line =
    `libblas.so.3 -> ${value}; libopenblas0-openmp ${openmp ? 'installed' : 'NOT installed'}` +
    (forced ? `; torch and PyTorch run with LD_LIBRARY_PATH=${OPENMP_DIR} (--blas system to disable)` : '') +
    (loaded.length ? `; ${loaded.join('; ')}` : '') +
    `; OMP_WAIT_POLICY=${OMP_WAIT} for both`;
  if (!openmp)
    return {
      line,
      warning:
        'libopenblas0-openmp is not installed (apt-get install libopenblas0-openmp): matmuls will be slow',
    };
  if (!value.includes('openmp') && !forced)
    return {
      line,
      warning:
        'libblas.so.3 does not point to the OpenMP OpenBLAS; select it with: update-alternatives --set ' +
        `libblas.so.3-x86_64-linux-gnu ${OPENMP_DIR}/libblas.so.3`,
    };
  return { line };
}

function versionsLine(py: PyOut | string, results: WorkerResult[]): string {
  const pkg = (name: string) => {
    try {
      return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as any)
        .version as string;
    } catch {
      return '?';
    }
  };
  const wasmInfo = results.find((r) => r.backend === 'wasm' && r.info)?.info;
  const wasmNote = wasmInfo ? ` (SIMD ${wasmInfo.simd ? 'on' : 'off'}, ${wasmInfo.threads} thread(s))` : '';
  const torchInfo = results.find((r) => r.backend === 'torch' && r.info)?.info;
  const torchThreads = torchInfo?.threads !== undefined ? `, ${torchInfo.threads} thread(s)` : '';
  const libtorch = process.env.LIBTORCH
    ? `LIBTORCH=${process.env.LIBTORCH}`
    : sh('dpkg-query', ['-W', '-f=${Version}', 'libtorch-dev']) || 'not installed';
  const pyv = typeof py === 'string' ? 'n/a' : `${py.torch} (${py.threads} threads, numpy ${py.numpy})`;
  return (
    `node ${process.version}; tfjs-core ${pkg('@tensorflow/tfjs-core')}; tfjs-backend-wasm ` +
    `${pkg('@tensorflow/tfjs-backend-wasm')}${wasmNote}; libtorch (torch backend${torchThreads}) ${libtorch}; PyTorch ${pyv}`
  );
}

/** Pool a round's times into the engine's result (first round: as is); `rounds` keeps each round's median. */
function mergeInto(prev: WorkerResult | undefined, r: WorkerResult): WorkerResult {
  if (r.status !== 'ok') return prev?.status === 'ok' ? prev : r;
  if (!prev || prev.status !== 'ok') return { ...r, rounds: [r.median!] };
  const times = [...prev.times!, ...r.times!];
  return {
    ...prev,
    times,
    median: median(times),
    mean: times.reduce((a, b) => a + b, 0) / times.length,
    rounds: [...(prev.rounds ?? []), r.median!],
    tensorLeak: Math.max(prev.tensorLeak ?? 0, r.tensorLeak ?? 0),
  };
}

function mergeRound(results: WorkerResult[], r: WorkerResult): void {
  const i = results.findIndex((x) => x.backend === r.backend && x.workload === r.workload);
  if (i < 0) results.push(mergeInto(undefined, r));
  else results[i] = mergeInto(results[i], r);
}

function mergePy(prev: PyOut | string, next: PyOut | string): PyOut | string {
  if (typeof next === 'string') return prev;
  const out: PyOut =
    typeof prev === 'string' ? { ...next, results: {} } : { ...prev, results: { ...prev.results } };
  for (const [w, r] of Object.entries(next.results))
    out.results[w] = mergeInto(typeof prev === 'string' ? undefined : prev.results[w], r);
  return out;
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);
}

/**
 * The bf16 table: per training workload, torch bf16 and PyTorch autocast times, each one's speedup over its
 * own fp32 time in the same run, and torch bf16 / PyTorch autocast (lower is faster); or why it is absent.
 */
function bf16Section(
  o: Options,
  cpu: { flags: string[]; source: string },
  measured: boolean,
  workloads: string[],
  results: WorkerResult[],
  pyGet: (w: string) => WorkerResult | undefined,
  pyBf16Get: (w: string) => WorkerResult | undefined,
): string[] {
  const title = '## bf16 (torch backend --precision bf16 vs PyTorch torch.autocast("cpu", torch.bfloat16))';
  if (cpu.flags.length === 0)
    return [
      '',
      title,
      '',
      `This CPU reports no bf16 support (no avx512_bf16 or amx_bf16 in ${cpu.source}): the torch backend refuses ` +
        '--precision bf16 here (auto runs fp32), so there are no bf16 rows. On a CPU with AVX512-BF16 or AMX ' +
        'oneDNN runs bf16 matmuls and convolutions natively.',
    ];
  if (!measured)
    return ['', title, '', `not measured (needs the torch backend and one of ${BF16_WORKLOADS.join(', ')})`];
  const ok = (r: WorkerResult | undefined) => (r?.status === 'ok' ? r.median! : undefined);
  const x = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : 'n/a';
  const head = [
    'workload',
    'torch fp32',
    'torch bf16',
    'torch speedup',
    'PyTorch fp32',
    'PyTorch autocast',
    'PyTorch speedup',
    'torch bf16 ×PyTorch autocast',
  ];
  const rows: string[][] = [];
  const losses: string[] = [];
  for (const w of workloads) {
    const t32 = ok(results.find((r) => r.backend === 'torch' && r.workload === w));
    const tb = results.find((r) => r.backend === TORCH_BF16 && r.workload === w);
    const p32 = ok(pyGet(w));
    const pb = pyBf16Get(w);
    const cell = (v: number | undefined, r?: WorkerResult) => (v !== undefined ? fmt(v) : (r?.note ?? 'n/a'));
    rows.push([
      ROW_LABEL[w] ?? w,
      cell(t32),
      cell(ok(tb), tb),
      x(t32, ok(tb)),
      cell(p32),
      cell(ok(pb), pb),
      x(p32, ok(pb)),
      x(ok(tb), ok(pb)),
    ]);
    const l = (r: WorkerResult | undefined) => r?.losses?.map((v) => v.toPrecision(6)).join(', ') ?? 'n/a';
    losses.push(`${w} step-1, step-2 losses: torch bf16 ${l(tb)} | PyTorch autocast ${l(pb)}`);
  }
  const table = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  return [
    '',
    title,
    '',
    `CPU bf16 support: ${cpu.flags.join(', ')} (${cpu.source}). Same steps, warm-up and rounds as the fp32 ` +
      'table, in the same run; speedup = fp32 time / bf16 time (higher is better); ×PyTorch autocast = ' +
      'torch bf16 time / PyTorch autocast time (lower is faster; target <= 1.1×).' +
      (o.threads > 0 ? ` ${o.threads} thread(s).` : ''),
    '',
    table,
    '',
    'bf16 losses (they differ from fp32 by the bf16 rounding; informational):',
    '',
    ...losses.map((l) => `- ${l}`),
  ];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  // sequentially: one process at a time so runs do not compete for cores; rounds alternate the two sides
  const results: WorkerResult[] = [];
  let py: PyOut | string = 'not run';
  let pyBf16: PyOut | string = 'not run';
  const cpu = cpuBf16();
  const bf16Workloads = o.workloads.filter((w) => BF16_WORKLOADS.includes(w));
  const bf16 = o.bf16 && cpu.flags.length > 0 && o.backends.includes('torch') && bf16Workloads.length > 0;
  for (let round = 0; round < o.rounds; round++) {
    const runTfjs = async () => {
      for (const w of o.workloads)
        for (const b of o.backends)
          if (round === 0 || b === 'torch') mergeRound(results, await runWorker(b, w, o));
      if (bf16) for (const w of bf16Workloads) mergeRound(results, await runWorker('torch', w, o, 'bf16'));
    };
    const runPy = async () => {
      const p = await runPython(o);
      py = mergePy(py, p);
      if (bf16) pyBf16 = mergePy(pyBf16, await runPython(o, true));
    };
    if (o.rounds > 1) log(`round ${round + 1} of ${o.rounds}`);
    if (round % 2 === 0) {
      await runTfjs();
      await runPy();
    } else {
      await runPy();
      await runTfjs();
    }
  }
  const get = (b: string, w: string) => results.find((r) => r.backend === b && r.workload === w);
  const pyGet = (w: string): WorkerResult | undefined =>
    typeof py === 'string' ? { backend: 'pytorch', workload: w, status: 'n/a', note: py } : py.results[w];

  // the table
  const warnings: string[] = [];
  const footnotes = new Set<string>();
  const head = ['workload', ...o.backends.flatMap((b) => [`${b}`, `${b} ×PyTorch`]), 'PyTorch'];
  const rows: string[][] = [];
  for (const w of o.workloads) {
    const ref = pyGet(w);
    const refOk = ref?.status === 'ok' ? ref.median! : undefined;
    const row = [ROW_LABEL[w] ?? w];
    for (const b of o.backends) {
      const r = get(b, w);
      if (!r || r.status !== 'ok') {
        row.push(r?.note ?? 'n/a', '');
        continue;
      }
      let cell = show(w, r.median!);
      if (b === 'wasm' && r.info?.shimmed) {
        cell += ' †';
        footnotes.add(
          '† tfjs-backend-wasm has no Conv2DBackpropFilter kernel (the plain run fails with "Kernel ' +
            "'Conv2DBackpropFilter' not registered for backend 'wasm'\"); the bench registers a shim that runs " +
            "wasm's own Conv3DBackpropFilterV2 on depth-1 views, so all arithmetic stays in wasm.",
        );
      }
      if (SLOW(b, w)) {
        cell += ' ‡';
        footnotes.add(
          `‡ median of ${o.slowSteps} step(s) after ${Math.min(o.warmup, o.slowWarmup)} warm-up (tens of seconds per step on this backend).`,
        );
      }
      row.push(cell, refOk ? `${(r.median! / refOk).toFixed(2)}×` : '');
    }
    row.push(ref?.status === 'ok' ? show(w, ref.median!) : (ref?.note ?? 'n/a'));
    rows.push(row);
  }
  const table = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const bf16Md = o.bf16
    ? bf16Section(o, cpu, bf16, bf16Workloads, results, pyGet, (w) =>
        typeof pyBf16 === 'string' ? undefined : pyBf16.results[w],
      )
    : [];

  // per-round ratios: how much the ratio moves between rounds on this machine
  const roundLines: string[] = [];
  for (const w of o.workloads) {
    const t = get('torch', w)?.rounds;
    const p = pyGet(w)?.rounds;
    if (!t || !p || t.length < 2) continue;
    const ratios = t.slice(0, p.length).map((v, i) => (v / p[i]!).toFixed(2) + '×');
    roundLines.push(
      `${w}: torch ${t.map(fmt).join(', ')}; PyTorch ${p.map(fmt).join(', ')}; ratio ${ratios.join(', ')}`,
    );
  }

  // correctness: same seeds and same initial weights everywhere, so step-1/step-2 losses must agree
  const checks: string[] = [];
  for (const w of o.workloads.filter((x) => x !== 'add')) {
    const have: [string, number[]][] = [];
    for (const b of o.backends) {
      const r = get(b, w);
      if (r?.status === 'ok' && r.losses) have.push([b, r.losses]);
    }
    const ref = pyGet(w);
    if (ref?.status === 'ok' && ref.losses) have.push(['PyTorch', ref.losses]);
    if (have.length < 2) continue;
    const parts = have.map(([b, l]) => `${b} ${l.map((v) => v.toPrecision(7)).join(', ')}`);
    let ok = true;
    for (let i = 1; i < have.length; i++)
      for (let s = 0; s < Math.min(have[0]![1].length, have[i]![1].length); s++) {
        const d = relDiff(have[0]![1][s]!, have[i]![1][s]!);
        if (d > LOSS_RTOL) {
          ok = false;
          warnings.push(
            `${w}: step-${s + 1} loss of ${have[i]![0]} differs from ${have[0]![0]} by ${d.toExponential(1)} (relative)`,
          );
        }
      }
    checks.push(
      `${w} step-1, step-2 losses: ${parts.join(' | ')} — ${ok ? 'agree' : 'DISAGREE'} (rtol ${LOSS_RTOL})`,
    );
  }
  const torchW = results.filter((r) => r.backend === 'torch' && r.status === 'ok');
  if (o.backends.includes('torch') && torchW.length === 0)
    warnings.push(
      'torch backend not measured: ' + (results.find((r) => r.backend === 'torch')?.note ?? 'n/a'),
    );
  for (const r of results)
    if (r.status === 'ok' && r.tensorLeak)
      warnings.push(`${r.backend} ${r.workload}: ${r.tensorLeak} tensors leaked per run`);
  for (const r of results)
    if (r.status === 'error') warnings.push(`${r.backend} ${r.workload} failed: ${r.note}`);

  const blas = blasLine(o, py, results);
  if (blas.warning) warnings.push(blas.warning);
  const stepsNote =
    `median time per training step (forward, backward, Adam update, loss read back) over ${o.steps} steps ` +
    `after ${warmupText(o.warmup, o.warmupSec)} (the same rule for every engine${warmupTaken(results, py)})${o.rounds > 1 ? `, in each of ${o.rounds} alternating rounds (torch backend and PyTorch; pooled)` : ''}; ×PyTorch = backend time / PyTorch time (lower is faster)`;
  const md = [
    `# genmodels backend benchmark — ${new Date().toISOString()}`,
    '',
    `- machine: ${machineLine()}`,
    `- versions: ${versionsLine(py, results)}`,
    `- BLAS: ${blas.line}`,
    `- ${stepsNote}`,
    `- workloads: ${Object.entries(WORKLOADS)
      .map(([k, v]) => `${k} = ${v}`)
      .join('; ')}`,
    '',
    table,
    '',
    ...[...footnotes].map((f) => f + '  '),
    ...bf16Md,
    ...(roundLines.length
      ? ['', `Per-round medians (${o.rounds} alternating rounds; the table pools all rounds):`, '']
      : []),
    ...roundLines.map((l) => `- ${l}`),
    ...(checks.length
      ? ['', 'Loss check (identical initial weights, data and noise on every engine):', '']
      : []),
    ...checks.map((c) => `- ${c}`),
    ...(warnings.length ? ['', ...warnings.map((w) => `**WARNING**: ${w}  `)] : []),
    '',
    `(bench took ${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    '',
  ].join('\n');
  process.stdout.write('\n' + md);
  mkdirSync(path.dirname(o.out), { recursive: true });
  writeFileSync(o.out + '.tmp', md);
  renameSync(o.out + '.tmp', o.out);
  const raw = {
    options: o,
    results,
    pytorch: py,
    ...(o.bf16 ? { pytorchAutocast: pyBf16, cpuBf16: cpu } : {}),
  };
  writeFileSync(o.out.replace(/\.md$/, '') + '.json', JSON.stringify(raw, null, 1) + '\n');
  log(`wrote ${path.relative(process.cwd(), o.out)} (+ .json)`);
}

main().catch((e: unknown) => {
  if (e instanceof UserError) {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
});

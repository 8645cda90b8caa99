// The torch backend's precision policy, like PyTorch's CPU autocast (torch.autocast('cpu', torch.bfloat16)):
// tfjs tensors stay float32; under 'bf16' the matmul and convolution kernels (and their gradient kernels) cast
// their float32 inputs to bfloat16, run in bf16 (oneDNN accumulates in fp32) and return float32. Every other
// kernel (reductions, softmax / log-sum-exp, losses, normalization statistics, the optimizer's update of the
// fp32 master weights) is untouched. Evaluation runs in fp32 (src/eval/evaluate.ts) whatever the training
// precision. No node: imports here: src/eval uses this module in the browser too.
import { UserError } from '../../core/model.js';

/** What the user asks for. */
export type PrecisionSetting = 'fp32' | 'bf16' | 'auto';
/** What the kernels run. */
export type Precision = 'fp32' | 'bf16';
export const PRECISIONS: PrecisionSetting[] = ['fp32', 'bf16', 'auto'];

/** The CPU's bf16 capability: the cpuinfo flags that give oneDNN bf16 kernels (empty: none). */
export interface CpuBf16 {
  flags: string[];
  /** where the answer came from, e.g. '/proc/cpuinfo' */
  source: string;
}

/** The bf16 flags (avx512_bf16, amx_bf16) of a /proc/cpuinfo text. */
export function bf16Flags(cpuinfo: string): string[] {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  if (line === undefined) return [];
  const flags = new Set(
    line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/),
  );
  return ['avx512_bf16', 'amx_bf16'].filter((f) => flags.has(f));
}

type FsLike = { readFileSync(p: string, enc: 'utf8'): string };
type ProcLike = { getBuiltinModule?: (id: string) => unknown; env?: Record<string, string | undefined> };
/** /proc/cpuinfo, or the file GENMODELS_CPUINFO names (a CPU without bf16 is tested that way) */
function defaultProbe(): CpuBf16 {
  const proc = (globalThis as { process?: ProcLike }).process;
  const fs = proc?.getBuiltinModule?.('node:fs') as FsLike | undefined;
  const file = proc?.env?.GENMODELS_CPUINFO || '/proc/cpuinfo';
  try {
    if (fs !== undefined) return { flags: bf16Flags(fs.readFileSync(file, 'utf8')), source: file };
  } catch {
    // not Linux: no cpuinfo to read
  }
  return { flags: [], source: `no ${file}` };
}
let probe: () => CpuBf16 = defaultProbe;
let probed: CpuBf16 | undefined;

/** The CPU's bf16 support (cached). */
export function cpuBf16(): CpuBf16 {
  return (probed ??= probe());
}
/** Replace the CPU check (tests); undefined restores /proc/cpuinfo. */
export function setCpuProbe(p: (() => CpuBf16) | undefined): void {
  probe = p ?? defaultProbe;
  probed = undefined;
}

/** A setting from a flag or GENMODELS_PRECISION ('' / undefined: undefined). */
export function precisionSetting(v: unknown, what = '--precision'): PrecisionSetting | undefined {
  if (v === undefined || v === '') return undefined;
  if (!PRECISIONS.includes(v as PrecisionSetting))
    throw new UserError(`${what} must be fp32, bf16 or auto, got '${String(v)}'`);
  return v as PrecisionSetting;
}

/**
 * The precision a setting gives: 'auto' is bf16 for training on a CPU that reports bf16 support, else fp32;
 * 'bf16' on a CPU without it (or off the torch backend) is a UserError.
 */
export function resolvePrecision(
  setting: PrecisionSetting,
  opts: { training: boolean; backend: string },
): Precision {
  if (setting === 'fp32') return 'fp32';
  const cpu = cpuBf16();
  if (setting === 'auto')
    return opts.training && opts.backend === 'torch' && cpu.flags.length > 0 ? 'bf16' : 'fp32';
  if (opts.backend !== 'torch')
    throw new UserError(`precision bf16 needs the torch backend (in use: ${opts.backend}); use fp32`);
  if (cpu.flags.length === 0)
    throw new UserError(
      `precision bf16 needs a CPU with bf16 support (avx512_bf16 or amx_bf16; none in ${cpu.source}); use fp32 or auto`,
    );
  return 'bf16';
}

let active: Precision = 'fp32';
/** The precision the torch backend's matmul and convolution kernels run now. */
export function precision(): Precision {
  return active;
}
export function setPrecision(p: Precision): void {
  active = p;
}
/** Run fn (sync or async) at precision p, then restore the previous one. */
export async function withPrecision<R>(p: Precision, fn: () => R | Promise<R>): Promise<R> {
  const before = active;
  active = p;
  try {
    return await fn();
  } finally {
    active = before;
  }
}

/**
 * Under 'bf16' each float32 tensor is cast to bf16 once: the copy is kept on the tensor's dataId
 * (TorchBackend.derived) and reused by every later kernel of the policy that reads it (a weight by the forward
 * and both gradient kernels, an activation by the forward and the weight gradient, dy by both gradient kernels),
 * like autocast's cache of leaf casts. The copy is freed with the tensor, and dropped when the tensor is written
 * in place (the fused Adam update of a weight). GENMODELS_BF16_CACHE=0 (or setBf16Cache(false)) casts on every
 * call instead (the results are the same bit for bit; the tests compare both).
 */
let cacheOn = (globalThis as { process?: ProcLike }).process?.env?.GENMODELS_BF16_CACHE !== '0';
export function bf16Cache(): boolean {
  return cacheOn;
}
export function setBf16Cache(on: boolean): void {
  cacheOn = on;
}

/**
 * Matmuls of at most this many multiply-adds stay fp32 under 'bf16' (kernels-conv.ts): there ATen 1.13's oneDNN
 * bf16 matmul, ~35-60 us per call whatever its size, is slower than fp32 (docs/bf16.md, bench/bf16_micro.py mm).
 */
export const BF16_MATMUL_MIN_MACS = 1 << 21;
let matmulMin = BF16_MATMUL_MIN_MACS;
export function bf16MatmulMinMacs(): number {
  return matmulMin;
}
/** Change the bound (bench/bf16_ab.ts compares bounds in one process); undefined restores the default. */
export function setBf16MatmulMinMacs(n: number | undefined): void {
  matmulMin = n ?? BF16_MATMUL_MIN_MACS;
}

/** One line for `genmodels info` and the run header. */
export function describePrecision(p: Precision): string {
  const cpu = cpuBf16();
  const support =
    cpu.flags.length > 0 ? `cpu has ${cpu.flags.join(', ')}` : `no bf16 support in ${cpu.source}`;
  return `${p === 'bf16' ? 'bf16 matmul/conv (autocast), fp32 elsewhere' : 'fp32'}; ${support}`;
}

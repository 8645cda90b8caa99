// PyTorch as the numeric reference: run a Python snippet with /usr/bin/python3 (Debian python3-torch),
// pass inputs as JSON on stdin, read JSON from stdout.
//
// The snippet sees `inp` (the decoded input), `torch`, `math`, helpers `T(list)` -> float64 tensor and
// `L(tensor)` -> nested list, and must assign `out` (anything json.dumps accepts).
import { spawnSync } from 'node:child_process';

const PYTHON = process.env.GENMODELS_PYTHON ?? '/usr/bin/python3';

const PRELUDE = `
import json, sys, math
import torch
torch.set_default_dtype(torch.float64)
inp = json.loads(sys.stdin.read())
def T(a, dtype=torch.float64):
    return torch.tensor(a, dtype=dtype)
def L(t):
    return t.detach().tolist()
`;

let cachedReason: string | null | undefined;

/** Why torch cannot be used here, or null when it can (checked once per process). */
export function torchUnavailable(): string | null {
  if (cachedReason !== undefined) return cachedReason;
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) cachedReason = `PyTorch reference unavailable: cannot run ${PYTHON} (${r.error.message})`;
  else if (r.status !== 0) cachedReason = `PyTorch reference unavailable: 'import torch' failed in ${PYTHON}`;
  else cachedReason = null;
  return cachedReason;
}

/** Run `script` with `input`; returns the snippet's `out`. Throws with Python's stderr on failure. */
export function torchRun<T = unknown>(script: string, input: unknown): T {
  const code = `${PRELUDE}\n${script}\nprint(json.dumps(out))\n`;
  const r = spawnSync(PYTHON, ['-c', code], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 300_000,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  // Python writes non-finite floats as bare NaN / Infinity / -Infinity, which JSON.parse rejects
  const text = lines[lines.length - 1]!.replace(/(-?Infinity|NaN)(?=[,\]\}\s])/g, '"$1"');
  return JSON.parse(text, (_k, v: unknown) =>
    typeof v === 'string' && /^(-?Infinity|NaN)$/.test(v) ? Number(v) : v,
  ) as T;
}

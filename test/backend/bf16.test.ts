// The torch backend's bf16 precision policy (src/backend/torch/precision.ts), like PyTorch's CPU autocast:
// - each kernel in the policy (MatMul/BatchMatMul, _FusedMatMul, Conv2D, FusedConv2D, the fused conv + bias,
//   and their gradient kernels) equals the fp32 kernel run on bf16-rounded inputs (rounded to nearest even,
//   as c10::BFloat16) up to bf16 rounding of the result and partial sums, and its fp32 result within the bound
//   2^-7 (|a| |b|) + 2^-8 |y|; gradients included;
// - kernels outside the policy are bit-identical to fp32, and evaluation runs fp32 under a bf16 policy;
// - the CPU check: bf16 is refused (one line) without avx512_bf16 / amx_bf16, and auto falls back to fp32.
// The kernel tests need the addon; the policy tests do not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../src/core/model.js';
import { initBackend } from '../../src/backend/index.js';
import { loadAddon } from '../../src/backend/torch/native.js';
import {
  bf16Flags,
  cpuBf16,
  precision,
  resolvePrecision,
  setCpuProbe,
  setPrecision,
  withPrecision,
} from '../../src/backend/torch/precision.js';
import { conv2dBias } from '../../src/ops/conv.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { DiagGauss, VEC_SPEC, fakeDataset } from '../train/tiny.js';
import { rand } from '../util/rand.js';

const skip = loadAddon() === null ? 'torch addon not built (npm run build:native)' : false;
const WITH = () => ({ flags: ['avx512_bf16'], source: 'test' });
const WITHOUT = () => ({ flags: [], source: 'test cpuinfo' });

/** float32 values rounded to bfloat16 (round to nearest even, as c10::BFloat16; no NaNs here) */
function bf16(a: Float32Array): Float32Array {
  const u = new Uint32Array(Float32Array.from(a).buffer);
  for (let i = 0; i < u.length; i++) {
    const x = u[i]!;
    u[i] = ((x + 0x7fff + ((x >>> 16) & 1)) & 0xffff0000) >>> 0;
  }
  return new Float32Array(u.buffer);
}

interface PolicyCase {
  name: string;
  shapes: number[][];
  f: (xs: tf.Tensor[]) => tf.Tensor;
  /** the input that is a bias of the last axis (_FusedMatMul adds it in fp32, after the bf16 rounding) */
  bias?: number;
}
const same = { strides: 1, pad: 'same' as const };
const CASES: PolicyCase[] = [
  {
    name: 'MatMul 2-D (mm)',
    shapes: [
      [129, 131],
      [131, 127],
    ],
    f: ([a, b]) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
  },
  {
    name: 'BatchMatMul transposeB',
    shapes: [
      [3, 65, 97],
      [3, 129, 97],
    ],
    f: ([a, b]) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, false, true),
  },
  {
    name: '_FusedMatMul + bias',
    shapes: [[131, 129], [129, 127], [127]],
    f: ([a, b, c]) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c }),
    bias: 2,
  },
  {
    name: 'Conv2D 3x3 same',
    shapes: [
      [2, 9, 9, 3],
      [3, 3, 3, 5],
    ],
    f: ([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, same.strides, same.pad),
  },
  {
    name: 'Conv2D 3x3 stride 2 same (asymmetric padding)',
    shapes: [
      [2, 8, 8, 4],
      [3, 3, 4, 6],
    ],
    f: ([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
  },
  {
    name: 'FusedConv2D + bias',
    shapes: [[2, 7, 7, 3], [3, 3, 3, 4], [4]],
    f: ([x, w, c]) =>
      tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: c }),
  },
  {
    name: 'fused conv2dBias (kernels-fused.ts)',
    shapes: [[2, 7, 7, 6], [3, 3, 6, 5], [5]],
    f: ([x, w, c]) => conv2dBias(x as tf.Tensor4D, w as tf.Tensor4D, c as tf.Tensor1D, 1, 'same'),
  },
];

/** value and gradients of loss = sum(f(xs) * r) (so dy = r exactly), flat */
function valueAndGrads(c: PolicyCase, inputs: Float32Array[], r: Float32Array): Float32Array[] {
  return tf.tidy(() => {
    const xs = inputs.map((v, i) => tf.tensor(v, c.shapes[i]));
    const y = c.f(xs);
    const rt = tf.tensor(r, y.shape);
    const grads = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(c.f(ts), rt)))(xs);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}
/** the error scale of each output: the op and its gradients on |inputs|, |r| (sum of |terms| per element) */
function magnitudes(c: PolicyCase, inputs: Float32Array[], r: Float32Array): Float32Array[] {
  return valueAndGrads(
    c,
    inputs.map((v) => v.map(Math.abs)),
    r.map(Math.abs),
  );
}

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= initBackend('torch', { quiet: true, precision: 'fp32' }).then(() => undefined));

for (const c of CASES) {
  test(
    `bf16 policy: ${c.name} (value and gradients) is the fp32 kernel on bf16-rounded inputs`,
    { skip },
    async () => {
      await setup();
      const inputs = c.shapes.map((s, i) =>
        rand(
          s.reduce((p, q) => p * q, 1),
          7 + 13 * i,
        ),
      );
      const outSize = tf.tidy(() => c.f(inputs.map((v, i) => tf.tensor(v, c.shapes[i]))).size);
      const r = rand(outSize, 99, -1, 1);
      const fp32 = valueAndGrads(c, inputs, r);
      const mag = magnitudes(c, inputs, r);
      const emulated = valueAndGrads(c, inputs.map(bf16), bf16(r)); // fp32 kernels on bf16 inputs
      setPrecision('bf16');
      let low: Float32Array[];
      try {
        low = valueAndGrads(c, inputs, r);
      } finally {
        setPrecision('fp32');
      }
      const names = ['value', ...c.shapes.map((_, i) => `d input ${i}`)];
      let differs = false;
      for (let k = 0; k < fp32.length; k++) {
        for (let i = 0; i < fp32[k]!.length; i++) {
          const [l, e, f, m] = [low[k]![i]!, emulated[k]![i]!, fp32[k]![i]!, mag[k]![i]!];
          if (l !== f) differs = true;
          // the bf16 rounding of the result (2^-8 relative: a bias added after the rounding may cancel the
          // rounded part, |y - bias| <= |y| + |bias|) and oneDNN's partial sums (measured up to 2^-9 |a| |b|;
          // PyTorch's own bf16 mm shows the same)
          const bv = c.bias !== undefined && k === 0 ? inputs[c.bias]![i % inputs[c.bias]!.length]! : 0;
          const tightTol = 2 ** -8 * (Math.abs(e) + Math.abs(bv) + m) + 1e-6;
          assert.ok(
            Math.abs(l - e) <= tightTol,
            `${names[k]}[${i}]: bf16 ${l} vs emulated ${e} (tol ${tightTol})`,
          );
          // inputs rounded (2^-8 each, products 2^-7) and the result rounded (2^-8)
          const boundTol = 2 ** -7 * m + 2 ** -8 * Math.abs(f) + 1e-5 * m + 1e-6;
          assert.ok(
            Math.abs(l - f) <= boundTol,
            `${names[k]}[${i}]: bf16 ${l} vs fp32 ${f} (bound ${boundTol})`,
          );
        }
      }
      assert.ok(differs, 'the bf16 policy changed the result (it ran in bf16)');
    },
  );
}

test(
  'bf16 policy: kernels outside it are bit-identical to fp32 (values and gradients)',
  { skip },
  async () => {
    await setup();
    const x = rand(2 * 6 * 6 * 4, 3);
    const dw = rand(3 * 3 * 4 * 2, 4);
    const v = rand(5 * 11, 5);
    const ints = Int32Array.from(rand(12, 6, -5, 5), Math.round);
    const run = () =>
      tf.tidy(() => {
        const xt = tf.tensor4d(x, [2, 6, 6, 4]);
        const w = tf.tensor4d(dw, [3, 3, 4, 2]);
        const vt = tf.tensor2d(v, [5, 11]);
        const loss = (xi: tf.Tensor, vi: tf.Tensor) => {
          const dep = tf.depthwiseConv2d(xi as tf.Tensor4D, w, 1, 'same'); // depthwise: outside the policy
          const pooled = tf.avgPool(tf.relu(dep) as tf.Tensor4D, 2, 2, 'valid');
          const lse = tf.logSumExp(vi, 1);
          const soft = tf.softmax(vi);
          return tf.add(tf.add(tf.mean(pooled), tf.sum(lse)), tf.sum(tf.mul(soft, tf.sigmoid(vi))));
        };
        const [gx, gv] = tf.grads(loss)([xt, vt]);
        const ein = tf.einsum('ij,kj->ik', vt, vt); // einsum: outside the policy
        const intMm = tf.matMul(tf.tensor2d(ints, [3, 4], 'int32'), tf.tensor2d(ints, [4, 3], 'int32'));
        // float matmuls up to BF16_MATMUL_MIN_MACS multiply-adds stay fp32 (faster there)
        const tiny = tf.grads((p: tf.Tensor) => tf.sum(tf.matMul(p as tf.Tensor2D, tf.transpose(vt))))([vt]);
        const m = tf.tensor2d(rand(128 * 128, 9), [128, 128]); // 128^3 = 2^21
        const mid = tf.grads((p: tf.Tensor) => tf.sum(tf.matMul(p as tf.Tensor2D, m)))([m]);
        return [loss(xt, vt), gx!, gv!, ein, intMm, tiny[0]!, mid[0]!].map((t) => Array.from(t.dataSync()));
      });
    const fp32 = run();
    setPrecision('bf16');
    let low;
    try {
      low = run();
    } finally {
      setPrecision('fp32');
    }
    assert.deepEqual(low, fp32);
  },
);

test('bf16 policy: evaluation runs fp32 whatever the training precision', { skip }, async () => {
  await setup();
  // a density whose log-likelihood goes through a matmul in the policy (64 x 512 x 128 multiply-adds, above
  // BF16_MATMUL_MIN_MACS): x W1 W2 W3, then a diagonal Gaussian
  const W1 = tf.tensor2d(rand(3 * 512, 11, -1, 1), [3, 512]);
  const W2 = tf.tensor2d(rand(512 * 128, 12, -0.1, 0.1), [512, 128]);
  const W3 = tf.tensor2d(rand(128 * 3, 13, -0.2, 0.2), [128, 3]);
  class Mixed extends DiagGauss {
    override logProb(x: tf.Tensor): tf.Tensor1D {
      return tf.tidy(() => super.logProb(tf.matMul(tf.matMul(tf.matMul(x as tf.Tensor2D, W1), W2), W3)));
    }
  }
  const model = new Mixed(VEC_SPEC, {}, 4);
  const ds = fakeDataset(20, 64);
  const nats = async () => (await evaluate(model, ds, { split: 'test' })).metrics[0]!.nats;
  const fp32 = await nats();
  setPrecision('bf16');
  try {
    const x = tf.tensor2d(ds.test.x, [64, 3]);
    const direct = [
      await withPrecision('fp32', () => model.logProb(x).data()),
      await model.logProb(x).data(),
    ];
    x.dispose();
    assert.notDeepEqual(
      Array.from(direct[0]!),
      Array.from(direct[1]!),
      'the model itself is affected by bf16',
    );
    assert.equal(await nats(), fp32, 'evaluate() ran in fp32');
    assert.equal(precision(), 'bf16', 'and restored the policy after');
  } finally {
    setPrecision('fp32');
    model.dispose();
    tf.dispose([W1, W2, W3]);
  }
});

test('cpu check: bf16 flags from cpuinfo; bf16 refused without them, auto falls back to fp32', async () => {
  const info = (flags: string) => `processor\t: 0\nmodel name\t: X\nflags\t\t: fpu sse2 ${flags} avx2\n\n`;
  assert.deepEqual(bf16Flags(info('avx512f avx512_bf16 avx512_vnni')), ['avx512_bf16']);
  assert.deepEqual(bf16Flags(info('amx_tile amx_bf16 avx512_bf16')), ['avx512_bf16', 'amx_bf16']);
  assert.deepEqual(bf16Flags(info('avx512f avx512_vnni')), []);
  assert.deepEqual(bf16Flags('no flags line'), []);
  try {
    setCpuProbe(WITHOUT);
    assert.deepEqual(cpuBf16().flags, []);
    assert.equal(resolvePrecision('auto', { training: true, backend: 'torch' }), 'fp32');
    assert.equal(resolvePrecision('fp32', { training: true, backend: 'torch' }), 'fp32');
    assert.throws(
      () => resolvePrecision('bf16', { training: true, backend: 'torch' }),
      (e: Error) =>
        e instanceof UserError &&
        /needs a CPU with bf16 support/.test(e.message) &&
        !e.message.includes('\n'),
    );
    setCpuProbe(WITH);
    assert.equal(resolvePrecision('auto', { training: true, backend: 'torch' }), 'bf16');
    assert.equal(
      resolvePrecision('auto', { training: false, backend: 'torch' }),
      'fp32',
      'auto: training only',
    );
    assert.equal(resolvePrecision('auto', { training: true, backend: 'wasm' }), 'fp32');
    assert.equal(resolvePrecision('bf16', { training: false, backend: 'torch' }), 'bf16');
    assert.throws(() => resolvePrecision('bf16', { training: true, backend: 'cpu' }), UserError);
  } finally {
    setCpuProbe(undefined);
  }
});

test(
  'initBackend: precision option and GENMODELS_PRECISION, refused and auto on a CPU without bf16',
  { skip },
  async () => {
    try {
      setCpuProbe(WITHOUT);
      await assert.rejects(
        initBackend('torch', { quiet: true, precision: 'bf16', training: true }),
        UserError,
      );
      await initBackend('torch', { quiet: true, precision: 'auto', training: true });
      assert.equal(precision(), 'fp32');
      setCpuProbe(WITH);
      await initBackend('torch', { quiet: true, precision: 'auto', training: true });
      assert.equal(precision(), 'bf16');
      process.env.GENMODELS_PRECISION = 'bf16';
      await initBackend('torch', { quiet: true });
      assert.equal(precision(), 'bf16', 'from the environment');
      process.env.GENMODELS_PRECISION = 'fp16';
      await assert.rejects(
        initBackend('torch', { quiet: true }),
        /GENMODELS_PRECISION must be fp32, bf16 or auto/,
      );
    } finally {
      delete process.env.GENMODELS_PRECISION;
      setCpuProbe(undefined);
      await initBackend('torch', { quiet: true, precision: 'fp32' });
    }
  },
);

test(
  'genmodels train --precision bf16 on a CPU without bf16: one-line error, exit 2, nothing written',
  { skip },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bf16-'));
    const cpuinfo = path.join(dir, 'cpuinfo');
    fs.writeFileSync(cpuinfo, 'processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n');
    const out = path.join(dir, 'run');
    const main = path.resolve(import.meta.dirname, '../../src/cli/main.js');
    const args = [
      main,
      'train',
      'vae',
      '--data',
      'moons',
      '--epochs',
      '1',
      '--out',
      out,
      '--precision',
      'bf16',
    ];
    const r = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      env: { ...process.env, GENMODELS_CPUINFO: cpuinfo, GENMODELS_THREADS: '1' },
    });
    const written = fs.existsSync(out);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(written, false, 'no run directory left behind');
    assert.match(r.stderr, /^genmodels: error: precision bf16 needs a CPU with bf16 support .*\n$/);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
  },
);

test(
  'bf16 policy: no native tensor is left behind by the casts (a conv + matmul step, 3 times)',
  { skip },
  async () => {
    await setup();
    const x = tf.tensor4d(rand(4 * 8 * 8 * 3, 1), [4, 8, 8, 3]);
    const w = tf.variable(tf.tensor4d(rand(3 * 3 * 3 * 16, 2, -0.3, 0.3), [3, 3, 3, 16]));
    const v = tf.variable(tf.tensor2d(rand(16 * 1024, 3, -0.3, 0.3), [16, 1024])); // 4.2M MACs: bf16
    const native = () =>
      (tf.engine().backend as unknown as { N: { stats(): { tensors: number } } }).N.stats().tensors;
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const h = tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, 'same'));
          return tf.sum(tf.matMul(tf.reshape(h, [-1, 16]) as tf.Tensor2D, v as tf.Tensor2D));
        });
        Object.values(grads).forEach((g) => g.dataSync());
      });
    setPrecision('bf16');
    try {
      step();
      const before = [tf.memory().numTensors, native()];
      step();
      step();
      assert.deepEqual([tf.memory().numTensors, native()], before);
    } finally {
      setPrecision('fp32');
      [x, w, v].forEach((t) => t.dispose());
    }
  },
);

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '/work/wt/overhead/dist/src/backend/index.js';
await initBackend('torch', { quiet: true, threads: 1 });
const b = tf.backend(); const N = b.N;
const cb = N.op('aten::convolution_backward', '');
const perm = N.op('aten::permute', ''); const cont = N.op('aten::contiguous', '');
for (const [H, ci, co, k] of [[14, 8, 64, 3], [14, 64, 64, 1], [14, 64, 8, 3], [7, 16, 64, 3]]) {
  const x = tf.randomNormal([16, H, H, ci]); const w = tf.randomNormal([k, k, ci, co]); const dy = tf.randomNormal([16, H, H, co]);
  const nchw = (t) => N.call(cont, N.call(perm, b.t(t), [0, 3, 1, 2]), 2);
  const X = nchw(x), DY = nchw(dy), W = N.call(perm, b.t(w), [3, 2, 0, 1]);
  const p = (k - 1) / 2;
  const run = (m) => { const r = N.call(cb, DY, X, W, null, [1, 1], [p, p], [1, 1], false, [0, 0], 1, m); for (const t of r) if (t !== null) N.dispose(t); };
  const time = (f) => { for (let i = 0; i < 5; i++) f(); const ts = []; for (let j = 0; j < 7; j++) { const t0 = performance.now(); for (let i = 0; i < 10; i++) f(); ts.push((performance.now() - t0) / 10); } ts.sort((a, c) => a - c); return ts[3].toFixed(3); };
  for (let rep = 0; rep < 2; rep++)
  console.log(H, ci, co, k, 'two calls', time(() => { run([true, false, false]); run([false, true, false]); }), 'one call', time(() => run([true, true, false])), 'one+bias', time(() => run([true, true, true])));
}

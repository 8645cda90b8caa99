import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '/work/wt/overhead/dist/src/backend/index.js';
await initBackend('torch', { quiet: true, threads: 1 });
const per = (n, f) => { for (let i = 0; i < n; i++) f(); const r = []; for (let k = 0; k < 7; k++) { const t0 = performance.now(); for (let i = 0; i < n; i++) f(); r.push((performance.now() - t0) * 1e3 / n); } r.sort((a, b) => a - b); return r[3].toFixed(2); };
const out = [];
for (let rep = 0; rep < 3; rep++) {
  for (const be of ['torch', 'cpu']) {
    await tf.setBackend(be);
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2]), b = tf.tensor2d([5, 6, 7, 8], [2, 2]);
    out.push(`${be} tf.add ${per(20000, () => tf.add(a, b).dispose())}`);
    if (be === 'torch') { const B = tf.backend(); const N = B.N; const h = N.op('aten::add', 'Tensor'); const ta = B.t(a), tb = B.t(b);
      out.push(`  N.call add+dispose ${per(50000, () => N.dispose(N.call(h, ta, tb)))}`);
      out.push(`  kernelFunc ${per(20000, () => { const r = tf.getKernel('Add','torch').kernelFunc({inputs:{a,b},backend:B,attrs:{}}); B.disposeData(r.dataId); })}`);
    }
    tf.dispose([a, b]);
  }
}
console.log(out.join('\n'));

// Fused operations with hand-written gradients. A backend may register one kernel for the whole forward pass
// and one for the whole backward pass (the torch backend does: src/backend/torch/kernels.ts, `fusedKernels`);
// on any other backend the same math runs as plain tfjs ops. Either way autodiff sees one node, so the
// backward pass is the short closed form instead of the derivative of every op in the composite.
import * as tf from '@tensorflow/tfjs-core';

/** Kernel names a backend may register (inputs and outputs as documented on each function). */
export const FUSED = {
  /** inputs {logits, x} -> elementwise sigmoid cross-entropy */
  sigmoidCE: 'GenmodelsSigmoidCE',
  /** inputs {dy, logits, x} -> [d/dlogits, d/dx] */
  sigmoidCEGrad: 'GenmodelsSigmoidCEGrad',
} as const;

function fusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

const sigmoidCEFused = tf.customGrad((logits: tf.Tensor | tf.GradSaveFunc, x, save) => {
  const l = logits as tf.Tensor;
  const t = x as tf.Tensor;
  (save as tf.GradSaveFunc)([l, t]);
  // stable form: max(l, 0) - l x + log(1 + exp(-|l|))
  const value = fusedKernel(FUSED.sigmoidCE)
    ? (tf.engine().runKernel(FUSED.sigmoidCE, { logits: l, x: t }) as tf.Tensor)
    : tf.add(tf.sub(tf.relu(l), tf.mul(l, t)), tf.log1p(tf.exp(tf.neg(tf.abs(l)))));
  const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [ls, xs] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    if (fusedKernel(FUSED.sigmoidCEGrad))
      return tf.engine().runKernel(FUSED.sigmoidCEGrad, { dy: g, logits: ls, x: xs }) as tf.Tensor[];
    // d/dl = sigmoid(l) - x,  d/dx = -l
    return [tf.mul(g, tf.sub(tf.sigmoid(ls), xs)), tf.mul(g, tf.neg(ls))];
  };
  return { value, gradFunc };
}) as (logits: tf.Tensor, x: tf.Tensor) => tf.Tensor;

/**
 * Elementwise binary cross-entropy with logits, -[x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))]
 * = softplus(l) - l x, for targets x in [0, 1]; broadcasts like tf.add. Gradients: sigmoid(l) - x and -l.
 */
export function sigmoidCrossEntropy(logits: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let l = logits.dtype === 'float32' ? logits : tf.cast(logits, 'float32');
    let t = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    if (!tf.util.arraysEqual(l.shape, t.shape)) {
      const shape = tf.backend_util.assertAndGetBroadcastShape(l.shape, t.shape);
      l = tf.broadcastTo(l, shape);
      t = tf.broadcastTo(t, shape);
    }
    return sigmoidCEFused(l, t);
  });
}

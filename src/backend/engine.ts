// One change to tfjs-core's engine, for every backend: how a kernel's saved tensors are kept for its gradient.
//
// tfjs keeps each tensor a gradient needs by cloning it (`saveTensorsForBackwardMode`): a full
// `runKernel('Identity')` plus a tape node for the clone, so that a second-order gradient can flow back
// through it. With one tape (gradientDepth 1) no recorded op ever consumes a saved clone (gradient
// functions run after the tape has ended), so the tape node and the kernel launch buy nothing: here the
// clone is a new tensor on the same data (what the Identity kernel of every backend returns), kept the same
// way. Nested gradients (depth >= 2: WGAN-GP's penalty, tf.grad of tf.grad) keep tfjs's own clone.
// Measurements: docs/backend.md ("Overhead").
import * as tf from '@tensorflow/tfjs-core';

interface EngineInternals {
  state: {
    gradientDepth: number;
    tensorInfo: { get(dataId: object): { backend: tf.KernelBackend } | undefined };
  };
  backend: tf.KernelBackend;
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor;
  clone(x: tf.Tensor): tf.Tensor;
  genmodelsTuned?: boolean;
}

/** Install the light clone once per process (GENMODELS_ENGINE_TUNING=0 leaves the engine as tfjs ships it). */
export function tuneEngine(): void {
  const e = tf.engine() as unknown as EngineInternals;
  const off = typeof process !== 'undefined' && process.env?.GENMODELS_ENGINE_TUNING === '0'; // Node only
  if (e.genmodelsTuned || off) return;
  // engine.clone is tfjs's internal clone for saved tensors: kernels' (saveTensorsForBackwardMode) and
  // custom gradients' (customGrad's save), each followed by keep()
  const original = e.clone;
  if (typeof original !== 'function' || typeof e.makeTensorFromTensorInfo !== 'function') return;
  e.clone = function (this: EngineInternals, t: tf.Tensor): tf.Tensor {
    if (this.state.gradientDepth !== 1) return original.call(this, t);
    const owner = this.state.tensorInfo.get(t.dataId)?.backend;
    // data on another backend: tfjs's clone moves it first
    if (owner !== this.backend) return original.call(this, t);
    const copy = this.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
    owner.incRef(t.dataId);
    return copy;
  };
  e.genmodelsTuned = true;
}

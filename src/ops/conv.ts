// A 2-D convolution with bias as one fused op (NHWC, HWIO filter): y = conv(x, w) + b. On a backend that
// registers the kernels (torch: src/backend/torch/kernels-fused.ts) the forward pass is one convolution with
// the bias inside it and the backward pass one kernel for all three gradients (dx, dw, db: one ATen
// convolution_backward); elsewhere it is tf.conv2d + tf.add under autodiff. A test checks the
// fused form against the composite, values and gradients (in test/ops/norm-flow.test.ts).
import * as tf from '@tensorflow/tfjs-core';

export const FUSED_CONV = {
  /** {x, filter, bias}, attrs {strides, pad, dataFormat, dilations} -> conv2d(x, filter) + bias */
  conv: 'GenmodelsConv2D',
  /** {dy, x, filter}, same attrs -> [dx, dfilter, dbias] */
  convGrad: 'GenmodelsConv2DGrad',
} as const;

const fused = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/**
 * conv2d(x, w, stride, pad) + b for NHWC x [n, h, w, cin], w [k, k, cin, cout], b [cout]. Gradients: the
 * convolution's input and filter gradients, and db = sum of dy over n, h, w. All three are computed together
 * (a gradient nobody asks for, e.g. dx of a network's first layer, is computed and dropped).
 */
export function conv2dBias(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D,
  stride: number,
  pad: 'same' | 'valid',
): tf.Tensor4D {
  if (x.dtype !== 'float32' || !fused(FUSED_CONV.conv))
    return tf.tidy(() => tf.add(tf.conv2d(x, w, stride, pad), b));
  const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', dilations: [1, 1] };
  const f = tf.customGrad((xi: tf.Tensor | tf.GradSaveFunc, wi, bi, save) => {
    const [xt, wt, bt] = [xi as tf.Tensor, wi as tf.Tensor, bi as tf.Tensor];
    (save as tf.GradSaveFunc)([xt, wt]);
    return {
      value: tf.engine().runKernel(FUSED_CONV.conv, { x: xt, filter: wt, bias: bt }, attrs) as tf.Tensor,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [xs, ws]: tf.Tensor[]) =>
        tf
          .engine()
          .runKernel(FUSED_CONV.convGrad, { dy: dy as tf.Tensor, x: xs!, filter: ws! }, attrs) as tf.Tensor[],
    };
  }) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  return f(x, w, b) as tf.Tensor4D;
}

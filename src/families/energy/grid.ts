// The density of a 2-D energy model on a grid: p(x_ij) = exp(-E(x_ij)) / Z_grid with
// Z_grid = sum_ij exp(-E(x_ij)) dA, the midpoint rule over the grid's box (dA the cell area). This is the
// model's density conditioned on the box, up to the quadrature error of the midpoint rule (which vanishes as
// the cells shrink for a smooth energy); mass outside the box is not represented.
import * as tf from '@tensorflow/tfjs-core';

export interface GridDensity {
  /** n * n densities, row j = y index from the bottom, i = x index (the layout of the training loop's heatmap) */
  density: Float32Array;
  n: number;
  xRange: [number, number];
  yRange: [number, number];
  /** log Z_grid */
  logZ: number;
}

/** cell centers of an n x n grid over the box, interleaved (x, y), row j = y index */
export function gridPoints(xRange: [number, number], yRange: [number, number], n: number): Float32Array {
  const g = new Float32Array(n * n * 2);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      g[2 * (j * n + i)] = xRange[0] + ((i + 0.5) * (xRange[1] - xRange[0])) / n;
      g[2 * (j * n + i) + 1] = yRange[0] + ((j + 0.5) * (yRange[1] - yRange[0])) / n;
    }
  return g;
}

export function gridDensity(
  energy: (x: tf.Tensor2D) => tf.Tensor1D,
  xRange: [number, number],
  yRange: [number, number],
  n: number,
): GridDensity {
  const cell = ((xRange[1] - xRange[0]) * (yRange[1] - yRange[0])) / (n * n);
  const [p, lse] = tf.tidy(() => {
    const negE = tf.neg(energy(tf.tensor2d(gridPoints(xRange, yRange, n), [n * n, 2])));
    const lse = tf.logSumExp(negE);
    return [tf.div(tf.exp(tf.sub(negE, lse)), cell), lse];
  });
  const density = p.dataSync() as Float32Array;
  const logZ = lse.dataSync()[0]! + Math.log(cell);
  tf.dispose([p, lse]);
  return { density: Float32Array.from(density), n, xRange, yRange, logZ };
}

// Adversarial losses, written on discriminator logits l = logit D(x) (D(x) = sigmoid(l)), as minimized by the
// training loop.
//   Goodfellow et al. 2014, eq. 1: min_G max_D E_x[log D(x)] + E_z[log(1 - D(G(z)))].
//     discriminator: minimize -E[log D(x)] - E[log(1 - D(G(z)))] = E[softplus(-l_real)] + E[softplus(l_fake)];
//       with one-sided label smoothing s (Salimans et al. 2016, §3.4) the real target is 1 - s:
//       E[(1 - s) softplus(-l_real) + s softplus(l_real)] + E[softplus(l_fake)]
//     generator, minimax:        minimize  E[log(1 - D(G(z)))]   = -E[softplus(l_fake)]
//       (saturates: its gradient vanishes when D confidently rejects the samples, as early in training)
//     generator, non-saturating (§3): maximize E[log D(G(z))], i.e. minimize E[softplus(-l_fake)]
//   WGAN-GP (Gulrajani et al. 2017, eq. 3 and Alg. 1), D a critic with unbounded output l:
//     critic:    E[l_fake] - E[l_real] + lambda E[(||grad_xhat D(xhat)||_2 - 1)^2],
//                xhat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per example
//     generator: -E[l_fake]
import * as tf from '@tensorflow/tfjs-core';

export type GanLoss = 'minimax' | 'non-saturating' | 'wgan-gp';

export function discriminatorLoss(
  loss: GanLoss,
  lReal: tf.Tensor1D,
  lFake: tf.Tensor1D,
  smoothing = 0,
): tf.Scalar {
  return tf.tidy(() => {
    if (loss === 'wgan-gp') return tf.sub(tf.mean(lFake), tf.mean(lReal)) as tf.Scalar;
    let real = tf.softplus(tf.neg(lReal));
    if (smoothing > 0) real = tf.add(tf.mul(1 - smoothing, real), tf.mul(smoothing, tf.softplus(lReal)));
    return tf.add(tf.mean(real), tf.mean(tf.softplus(lFake))) as tf.Scalar;
  });
}

export function generatorLoss(loss: GanLoss, lFake: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    switch (loss) {
      case 'minimax':
        return tf.neg(tf.mean(tf.softplus(lFake))) as tf.Scalar;
      case 'non-saturating':
        return tf.mean(tf.softplus(tf.neg(lFake))) as tf.Scalar;
      case 'wgan-gp':
        return tf.neg(tf.mean(lFake)) as tf.Scalar;
    }
  });
}

/**
 * The gradient penalty E[(||grad_xhat D(xhat)||_2 - 1)^2] at random interpolates of real and fake batches.
 * Differentiable with respect to D's weights (a gradient of a gradient).
 */
export function gradientPenalty(
  critic: (x: tf.Tensor) => tf.Tensor1D,
  real: tf.Tensor,
  fake: tf.Tensor,
  seed: number,
): tf.Scalar {
  return tf.tidy(() => {
    const n = real.shape[0]!;
    const eps = tf.randomUniform([n, ...real.shape.slice(1).map(() => 1)], 0, 1, 'float32', seed);
    const xHat = tf.add(tf.mul(eps, real), tf.mul(tf.sub(1, eps), fake));
    const g = tf.grad((x: tf.Tensor) => tf.sum(critic(x)))(xHat);
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(tf.reshape(g, [n, -1])), 1), 1e-12));
    return tf.mean(tf.square(tf.sub(norm, 1))) as tf.Scalar;
  });
}

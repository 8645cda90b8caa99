// Distributions vs PyTorch (float64 reference): log-probabilities, entropies, KL divergences.
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/core/rng.js';
import {
  Bernoulli,
  Categorical,
  DiscretizedLogistic,
  Logistic,
  MixtureDiscretizedLogistic,
  Normal,
} from '../../src/distributions/index.js';
import { torchRun, torchUnavailable } from '../util/torchref.js';
import { assertClose, normals, setupBackend, uniforms, values } from './helpers.js';

const skip = torchUnavailable() ?? false;

const rng = new Rng(1234);
const N = 64;
const K = 5;
const inp = {
  mu: normals(rng, N, 2),
  ls: normals(rng, N, 0.7),
  mu2: normals(rng, N, 2),
  ls2: normals(rng, N, 0.7),
  x: normals(rng, N, 3),
  // Bernoulli: moderate and extreme logits
  bl: [...normals(rng, N - 6, 3), 30, -30, 60, -60, 0, 1e-3],
  bl2: normals(rng, N, 3),
  bx: uniforms(rng, N, 0, 1).map((u) => (u < 0.5 ? 0 : 1)),
  cl: normals(rng, N * K, 2),
  cl2: normals(rng, N * K, 2),
  cx: uniforms(rng, N, 0, K).map(Math.floor),
  // discretized logistic on the 8-bit grid, edges included
  dmu: uniforms(rng, N, -0.2, 1.2),
  dls: uniforms(rng, N, -5, 0),
  dx: [0, 1, 1 / 255, 254 / 255, ...uniforms(rng, N - 4, 0, 256).map((u) => Math.floor(u) / 255)],
  mlogit: normals(rng, N * K, 1.5),
  mmu: uniforms(rng, N * K, -0.1, 1.1),
  mls: uniforms(rng, N * K, -5, -1),
};

const SCRIPT = `
D = torch.distributions
mu, ls, mu2, ls2, x = T(inp['mu']), T(inp['ls']), T(inp['mu2']), T(inp['ls2']), T(inp['x'])
n1, n2 = D.Normal(mu, ls.exp()), D.Normal(mu2, ls2.exp())
out = {}
out['normal_logp'] = L(n1.log_prob(x))
out['normal_ent'] = L(n1.entropy())
out['normal_kl'] = L(D.kl_divergence(n1, n2))
b1, b2 = D.Bernoulli(logits=T(inp['bl'])), D.Bernoulli(logits=T(inp['bl2']))
out['bern_logp'] = L(b1.log_prob(T(inp['bx'])))
out['bern_ent'] = L(b1.entropy())
out['bern_kl'] = L(D.kl_divergence(b1, b2))
n = len(inp['cx'])
c1, c2 = D.Categorical(logits=T(inp['cl']).reshape(n, -1)), D.Categorical(logits=T(inp['cl2']).reshape(n, -1))
out['cat_logp'] = L(c1.log_prob(T(inp['cx'], torch.long)))
out['cat_ent'] = L(c1.entropy())
out['cat_kl'] = L(D.kl_divergence(c1, c2))
logistic = D.TransformedDistribution(D.Uniform(torch.zeros(n), torch.ones(n)),
    [D.transforms.SigmoidTransform().inv, D.transforms.AffineTransform(mu, ls.exp())])
out['logistic_logp'] = L(logistic.log_prob(x))
def disc_logp(x, m, s, levels=256):
    # PixelCNN++ bins on [0,1], cdf differences in float64
    # (above the mean, the difference of survival functions avoids 1 - 1 cancellation)
    h = 0.5 / (levels - 1)
    a, b = (x + h - m) / s, (x - h - m) / s
    mid = torch.where(x > m, torch.sigmoid(-b) - torch.sigmoid(-a), torch.sigmoid(a) - torch.sigmoid(b))
    p = torch.where(x < h, torch.sigmoid(a), torch.where(x > 1 - h, torch.sigmoid(-b), mid))
    return p.log()
dx = T(inp['dx'])
out['disc_logp'] = L(disc_logp(dx, T(inp['dmu']), T(inp['dls']).clamp(min=-7).exp()))
k = len(inp['mlogit']) // n
mp = torch.log_softmax(T(inp['mlogit']).reshape(n, k), -1)
comp = disc_logp(dx[:, None], T(inp['mmu']).reshape(n, k), T(inp['mls']).reshape(n, k).exp())
out['mix_logp'] = L(torch.logsumexp(mp + comp, -1))
`;

let ref: Record<string, number[]> = {};

before(async () => {
  await setupBackend();
  if (!skip) ref = torchRun<Record<string, number[]>>(SCRIPT, inp);
});

const t1 = (a: number[]) => tf.tensor1d(a);

test('Normal logProb, entropy, KL vs torch', { skip }, () => {
  tf.tidy(() => {
    const n1 = new Normal(t1(inp.mu), t1(inp.ls));
    const n2 = new Normal(t1(inp.mu2), t1(inp.ls2));
    assertClose(values(n1.logProb(t1(inp.x))), ref['normal_logp']!, 1e-4, 1e-5, 'logProb');
    assertClose(values(n1.entropy()), ref['normal_ent']!, 1e-5, 1e-5, 'entropy');
    assertClose(values(n1.kl(n2)), ref['normal_kl']!, 1e-4, 1e-5, 'kl');
    // fromLogVar is the same distribution with logVar = 2 logScale
    const n3 = Normal.fromLogVar(t1(inp.mu), tf.mul(t1(inp.ls), 2));
    assertClose(values(n3.logProb(t1(inp.x))), ref['normal_logp']!, 1e-4, 1e-5, 'fromLogVar');
  });
});

test('Bernoulli logProb, entropy, KL vs torch (extreme logits stay finite)', { skip }, () => {
  tf.tidy(() => {
    const b1 = new Bernoulli(t1(inp.bl));
    const b2 = new Bernoulli(t1(inp.bl2));
    assertClose(values(b1.logProb(t1(inp.bx))), ref['bern_logp']!, 1e-5, 1e-5, 'logProb');
    assertClose(values(b1.entropy()), ref['bern_ent']!, 1e-5, 1e-5, 'entropy');
    assertClose(values(b1.kl(b2)), ref['bern_kl']!, 1e-4, 1e-5, 'kl');
  });
});

test('Categorical logProb, entropy, KL vs torch', { skip }, () => {
  tf.tidy(() => {
    const c1 = new Categorical(tf.tensor2d(inp.cl, [N, K]));
    const c2 = new Categorical(tf.tensor2d(inp.cl2, [N, K]));
    assertClose(values(c1.logProb(tf.tensor1d(inp.cx, 'int32'))), ref['cat_logp']!, 1e-5, 1e-5, 'logProb');
    assertClose(values(c1.entropy()), ref['cat_ent']!, 1e-5, 1e-5, 'entropy');
    assertClose(values(c1.kl(c2)), ref['cat_kl']!, 1e-5, 1e-5, 'kl');
  });
});

test('Logistic logProb vs torch (sigmoid-transformed uniform)', { skip }, () => {
  tf.tidy(() => {
    const d = new Logistic(t1(inp.mu), t1(inp.ls));
    assertClose(values(d.logProb(t1(inp.x))), ref['logistic_logp']!, 1e-4, 1e-5, 'logProb');
  });
});

test('DiscretizedLogistic and its mixture vs float64 cdf differences in torch', { skip }, () => {
  tf.tidy(() => {
    const d = new DiscretizedLogistic(t1(inp.dmu), t1(inp.dls));
    assertClose(values(d.logProb(t1(inp.dx))), ref['disc_logp']!, 1e-4, 1e-4, 'discretized');
    const m = new MixtureDiscretizedLogistic(
      tf.tensor2d(inp.mlogit, [N, K]),
      tf.tensor2d(inp.mmu, [N, K]),
      tf.tensor2d(inp.mls, [N, K]),
    );
    assertClose(values(m.logProb(t1(inp.dx))), ref['mix_logp']!, 1e-4, 1e-4, 'mixture');
  });
});

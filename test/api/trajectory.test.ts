// Trajectory pictures of iterative samplers: which steps are kept, that the frames are the chain's states
// (first = the start, last = what sample() returns), for DDPM/DDIM (images mapped to data space), flow
// matching and SGLD, and that the PNG gets one row per chain and one column per frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PNG } from 'pngjs';
import { registerAllGradients } from '../../src/backend/gradients.js';
import { UserError, type GenerativeModel } from '../../src/core/model.js';
import type { DataSpec } from '../../src/data/spec.js';
import { DDPM } from '../../src/families/diffusion/ddpm.js';
import { FlowMatching } from '../../src/families/diffusion/flow-matching.js';
import { createModel } from '../../src/core/registry.js';
import '../../src/families/index.js';
import { captureHook, frameSteps, trajectoryCapture, writeTrajectory } from '../../src/api/trajectory.js';

await tf.setBackend('cpu');
await registerAllGradients();

const VEC: DataSpec = { kind: 'vector', shape: [2], domain: 'real' };
const IMG: DataSpec = { kind: 'image', shape: [8, 8, 1], domain: 'unit', levels: 256 };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-traj-'));

test('frame steps: evenly spaced, start and end included', () => {
  assert.deepEqual([...frameSteps(50, 6)], [0, 10, 20, 30, 40, 50]);
  assert.deepEqual([...frameSteps(3, 10)], [0, 1, 2, 3]); // more frames than steps: every step once
  assert.throws(() => trajectoryCapture(VEC, 10, 10, 1), UserError);
  assert.throws(
    () => trajectoryCapture({ kind: 'vector', shape: [5], domain: 'real' }, 10, 10, 4),
    UserError,
  );
});

function capture(model: GenerativeModel, spec: DataSpec, n: number, frames: number, opts: object) {
  const cap = trajectoryCapture(spec, n, n, frames);
  const out = tf.tidy(() => model.sample(n, { seed: 3, ...opts, onState: captureHook(cap) }));
  const x = out.dataSync() as Float32Array;
  out.dispose();
  return { cap, x };
}

test('DDIM on images: frames are data-space states, the last one is the sample, the first is the noise', () => {
  const model = new DDPM('ddpm', { T: 20, channels: [8, 16] }, IMG, 0);
  const before = tf.memory().numTensors;
  const { cap, x } = capture(model, IMG, 3, 5, { sampler: 'ddim', steps: 8, eta: 0 });
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.deepEqual(
    cap.captured.map((f) => f.step),
    [0, 2, 4, 6, 8],
  );
  const last = cap.captured.at(-1)!.x;
  assert.deepEqual(Array.from(last), Array.from(x.subarray(0, last.length)));
  // the start is N(0, I) noise mapped to [0, 1] and clipped: many values at the clip bounds
  const first = cap.captured[0]!.x;
  assert.ok(first.every((v) => v >= 0 && v <= 1));
  const clipped = first.filter((v) => v === 0 || v === 1).length / first.length;
  assert.ok(clipped > 0.2, `start looks like clipped noise (${clipped})`);
  model.dispose();
});

test('flow matching and SGLD report their states too; the PNG has one row per chain, one column per frame', async () => {
  const fm = new FlowMatching('flow-matching', { hidden: 16, blocks: 1 }, VEC, 0);
  const a = capture(fm, VEC, 40, 4, { steps: 6 });
  assert.deepEqual(
    a.cap.captured.map((f) => f.step),
    [0, 2, 4, 6],
  );
  assert.deepEqual(Array.from(a.cap.captured.at(-1)!.x), Array.from(a.x));
  fm.dispose();
  const ebm = createModel('ebm', { hidden: [8] }, VEC, 0);
  const b = capture(ebm, VEC, 10, 3, { steps: 4 });
  assert.deepEqual(Array.from(b.cap.captured.at(-1)!.x), Array.from(b.x));
  ebm.dispose();
  const dir = tmp();
  await writeTrajectory(path.join(dir, 'v.png'), VEC, a.cap, (v) => v);
  assert.ok(fs.statSync(path.join(dir, 'v.png')).size > 1000);
  const img = new DDPM('ddpm', { T: 10, channels: [8, 16] }, IMG, 0);
  const c = capture(img, IMG, 2, 3, { sampler: 'ddim', steps: 4 });
  await writeTrajectory(path.join(dir, 'i.png'), IMG, c.cap, (v) => v);
  const png = PNG.sync.read(fs.readFileSync(path.join(dir, 'i.png')));
  const cell = 8 * 7 + 2; // 8 px upscaled x7 (56 px), 2 px padding
  assert.equal(png.width, 3 * cell + 2);
  assert.equal(png.height, 2 * cell + 2);
  img.dispose();
});

test('sampleToFile: --save-trajectory on a model that samples in one pass is a UserError', async () => {
  const { sampleToFile } = await import('../../src/api/sample.js');
  const vae = path.resolve('test/fixtures/checkpoints-v1/vae-moons');
  const out = path.join(tmp(), 't.png');
  await assert.rejects(
    sampleToFile(vae, { n: 4, out: path.join(tmp(), 's.png'), trajectory: { out } }),
    (e: Error) =>
      e instanceof UserError && /--save-trajectory: model 'vae' samples in one pass/.test(e.message),
  );
});

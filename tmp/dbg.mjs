import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '/work/wt/overhead/dist/src/backend/index.js';
import { sigmoidCoupling } from '/work/wt/overhead/dist/src/ops/flow.js';
await initBackend('torch', { quiet: true });
const inv = tf.concat([tf.zeros([5, 5, 3]), tf.ones([5, 5, 3])], 2);
const x = tf.randomNormal([4,5,5,6]), h = tf.randomNormal([4,5,5,6]), t = tf.randomNormal([4,5,5,6]);
try { const g = tf.grads((a, b, c) => tf.sum(sigmoidCoupling(a, b, c, inv)))([x, h, t]); console.log(g.map(q => q.shape)); } catch (e) { console.log(e.stack); }
try { const g = tf.grads((a, b, c) => tf.sum(sigmoidCoupling(a, b, c, tf.concat([tf.zeros([5, 5, 3]), tf.ones([5, 5, 3])], 2))))([x, h, t]); console.log(g.map(q => q.shape)); } catch (e) { console.log(e.stack); }
await tf.setBackend('cpu'); await tf.setBackend('torch');
try { const g = tf.grads((a, b, c) => tf.sum(sigmoidCoupling(a, b, c, tf.concat([tf.zeros([5, 5, 3]), tf.ones([5, 5, 3])], 2))))([x, h, t]); console.log(g.map(q => q.shape)); } catch (e) { console.log(e.stack); }

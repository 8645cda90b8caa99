// Detection metrics against scikit-learn (Debian python3-sklearn, run at test time): AUROC, average
// precision and the ROC curve on scores with many ties; the bootstrap interval and the calibrated threshold
// by their defining properties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Rng } from '../../src/core/rng.js';
import { UserError } from '../../src/core/model.js';
import { auroc, averagePrecision, bootstrap, rocCurve, thresholdForFpr } from '../../src/eval/roc.js';

const PYTHON = process.env.GENMODELS_PYTHON ?? '/usr/bin/python3';

function sklearn(
  cases: { s: number[]; l: number[] }[],
): { auc: number; ap: number; fpr: number[]; tpr: number[] }[] {
  const code = `
import json, sys
from sklearn.metrics import roc_auc_score, average_precision_score, roc_curve
out = []
for c in json.loads(sys.stdin.read()):
    fpr, tpr, _ = roc_curve(c['l'], c['s'], drop_intermediate=False)
    out.append({'auc': roc_auc_score(c['l'], c['s']), 'ap': average_precision_score(c['l'], c['s']),
                'fpr': fpr.tolist(), 'tpr': tpr.tolist()})
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ['-c', code], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error || r.status !== 0)
    throw new Error(`scikit-learn reference failed: ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout);
}

function randomCase(rng: Rng, n: number, levels: number, shift: number): { s: number[]; l: number[] } {
  const l = Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
  l[0] = 1;
  l[1] = 0;
  // few distinct values -> many ties, also across the two classes
  const s = l.map((y) => Math.round((rng.normal() + shift * y) * levels) / levels);
  return { s, l };
}

test('AUROC, average precision and the ROC curve match scikit-learn, ties included', () => {
  const rng = new Rng(7);
  const cases = [
    randomCase(rng, 200, 2, 1),
    randomCase(rng, 500, 1, 0.5),
    randomCase(rng, 50, 100, 2),
    randomCase(rng, 300, 0.5, 0), // a handful of values, chance level
    { s: [1, 1, 1, 1], l: [1, 0, 1, 0] }, // all tied: 0.5
  ];
  const ref = sklearn(cases);
  cases.forEach((c, i) => {
    const r = ref[i]!;
    assert.ok(Math.abs(auroc(c.s, c.l) - r.auc) < 1e-12, `case ${i}: AUROC ${auroc(c.s, c.l)} vs ${r.auc}`);
    assert.ok(
      Math.abs(averagePrecision(c.s, c.l) - r.ap) < 1e-12,
      `case ${i}: AP ${averagePrecision(c.s, c.l)} vs ${r.ap}`,
    );
    const roc = rocCurve(c.s, c.l);
    assert.equal(roc.fpr.length, r.fpr.length, `case ${i}: points`);
    roc.fpr.forEach((f, j) => {
      assert.ok(Math.abs(f - r.fpr[j]!) < 1e-12);
      assert.ok(Math.abs(roc.tpr[j]! - r.tpr[j]!) < 1e-12);
    });
    // the rank formula equals the trapezoidal area under the tied curve
    let area = 0;
    for (let j = 1; j < roc.fpr.length; j++)
      area += ((roc.fpr[j]! - roc.fpr[j - 1]!) * (roc.tpr[j]! + roc.tpr[j - 1]!)) / 2;
    assert.ok(Math.abs(area - auroc(c.s, c.l)) < 1e-12);
  });
  assert.equal(auroc([1, 1, 1, 1], [1, 0, 1, 0]), 0.5);
  // the order of tied inputs does not matter
  assert.equal(auroc([2, 1, 1, 0], [1, 0, 1, 0]), auroc([2, 1, 1, 0], [1, 1, 0, 0]));
});

test('bootstrap: a seeded percentile interval around the value that narrows with more data', () => {
  const rng = new Rng(3);
  const small = randomCase(rng, 100, 10, 1);
  const big = randomCase(rng, 2000, 10, 1);
  const a = bootstrap(auroc, small.s, small.l, { n: 400, seed: 1 });
  const b = bootstrap(auroc, small.s, small.l, { n: 400, seed: 1 });
  assert.deepEqual(a, b);
  assert.ok(a.lo <= a.value && a.value <= a.hi, JSON.stringify(a));
  assert.ok(a.hi - a.lo > 0.02);
  const c = bootstrap(auroc, big.s, big.l, { n: 400, seed: 1 });
  assert.ok(c.hi - c.lo < (a.hi - a.lo) / 2, `${c.hi - c.lo} vs ${a.hi - a.lo}`);
  // the interval of AP is inside [0, 1] and covers the value
  const p = bootstrap(averagePrecision, small.s, small.l, { n: 200, seed: 2 });
  assert.ok(p.lo >= 0 && p.hi <= 1 && p.lo <= p.value && p.value <= p.hi);
});

test('thresholdForFpr flags at most the target share of the normal scores, and no fewer than possible', () => {
  const rng = new Rng(11);
  const s = Array.from({ length: 1000 }, () => rng.normal());
  for (const fpr of [0, 0.01, 0.05, 0.1, 0.5]) {
    const t = thresholdForFpr(s, fpr);
    const above = s.filter((v) => v > t).length;
    assert.equal(above, Math.floor(fpr * s.length), `fpr ${fpr}`);
  }
  assert.throws(() => thresholdForFpr([], 0.05), UserError);
  assert.throws(() => thresholdForFpr([1, 2], 1), UserError);
});

test('one-class inputs and bad labels are UserErrors', () => {
  assert.throws(() => auroc([1, 2, 3], [0, 0, 0]), /both normal and anomalous/);
  assert.throws(() => averagePrecision([1, 2], [1, 2]), /must be 0 or 1/);
  assert.throws(() => auroc([1, NaN], [1, 0]), /not finite/);
  assert.throws(() => auroc([1, 2], [1]), UserError);
});

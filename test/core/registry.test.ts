// The model registry and its one config schema: every model's declared taxonomy(config) is the taxonomy of
// the model it builds (plain and conditional); a built model's config resolves to itself and rebuilds the
// same variables; unknown options are refused naming the nearest one (prototype keys included); bad values
// give one-line UserErrors; merge order defaults < alias presets < savedDefaults < user keys; every recipe
// resolves to its own keys over the schema defaults and builds; the options help lists every option.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  UserError,
  modelAliases,
  modelEntry,
  modelKinds,
  modelOptionsHelp,
  modelTaxonomy,
  resolveModel,
} from '../../src/core/model.js';
import { loadDataset } from '../../src/data/index.js';
import type { DataSpec } from '../../src/data/spec.js';
import '../../src/families/index.js';
import { useCpu } from '../families/latent/helpers.js';

before(useCpu);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** small architectures, so that building every model is cheap (a kind without one uses its defaults) */
const TINY: Record<string, Record<string, unknown>> = {
  vae: { hidden: [8], latentDim: 2 },
  iwae: { hidden: [8], latentDim: 2 },
  'beta-vae': { hidden: [8], latentDim: 2 },
  gan: { hidden: [8], channels: [2, 4], latentDim: 4 },
  dcgan: { hidden: [8], channels: [2, 4], latentDim: 4 },
  'wgan-gp': { hidden: [8], channels: [2, 4], latentDim: 4 },
  realnvp: { hidden: 4, depth: 1, layers: 2, levels: 1 },
  nice: { hidden: 4, depth: 1, layers: 2, levels: 1 },
  glow: { hidden: 4, depth: 1, layers: 2, levels: 1 },
  maf: { hidden: 4, layers: 1, blocks: 1 },
  nsf: { hidden: 4, layers: 1, bins: 3 },
  nade: { hidden: 4 },
  made: { hidden: [8] },
  pixelcnn: { channels: 4, blocks: 1, headChannels: 4, classMap: 2 },
  'gated-pixelcnn': { channels: 4, layers: 1, headChannels: 4, classMap: 2 },
  transformer: { dModel: 8, heads: 2, layers: 1 },
};

/** data every model accepts one of: binary / 8-bit / continuous 8x8 images and 2-D points, all labelled */
const SPECS: DataSpec[] = [
  { kind: 'image', shape: [8, 8, 1], domain: 'binary', numClasses: 10, levels: 256 },
  { kind: 'image', shape: [8, 8, 1], domain: 'unit', numClasses: 10, levels: 256 },
  { kind: 'image', shape: [8, 8, 1], domain: 'unit', numClasses: 10 },
  { kind: 'vector', shape: [2], domain: 'real', numClasses: 2 },
];

function acceptedSpec(name: string, config: Record<string, unknown>): DataSpec {
  const spec = SPECS.find((s) => resolveModel(name, config).accepts(s) === null);
  assert.ok(spec, `no test spec accepted by ${name} ${JSON.stringify(config)}`);
  return spec;
}

const tinyOf = (name: string): Record<string, unknown> => TINY[resolveModel(name).kind] ?? {};

// every kind plain and conditional; every alias as it is (its presets)
const forms = [
  // (models without a conditional form, e.g. the energy models, have no `conditional` option)
  ...modelKinds().flatMap((name) =>
    Object.hasOwn(modelEntry(name).schema.shape, 'conditional')
      ? [false, true].map((conditional) => ({ name, over: { conditional } }))
      : [{ name, over: {} }],
  ),
  ...modelAliases().map((a) => ({ name: a.name, over: {} })),
];
for (const { name, over } of forms) {
  test(`${name} ${JSON.stringify(over)}: declared taxonomy = the built model's; config round-trips`, () => {
    const cfg = { ...tinyOf(name), ...over };
    const conditional = resolveModel(name, cfg).config.conditional ?? false;
    const spec = acceptedSpec(name, cfg);
    const r = resolveModel(name, cfg);
    const m = r.create(spec, 3);
    try {
      assert.deepEqual(m.taxonomy, modelTaxonomy(name, cfg));
      assert.deepEqual(m.taxonomy, r.entry.taxonomy(r.config));
      assert.equal(m.taxonomy.conditional, conditional);
      assert.equal(m.taxonomy.family, r.entry.family);
      assert.equal(m.kind, r.kind);
      // what a checkpoint stores resolves to itself and rebuilds the same variables
      const again = resolveModel(m.kind, m.config, { saved: true });
      const m2 = again.create(spec, 3);
      try {
        assert.deepEqual(m2.config, m.config);
        assert.deepEqual([...m2.variables().keys()], [...m.variables().keys()]);
      } finally {
        m2.dispose();
      }
    } finally {
      m.dispose();
    }
  });
}

test('a conditional model refuses data without classes, through the one shared check', () => {
  const unlabelled: DataSpec = { kind: 'vector', shape: [2], domain: 'real' };
  for (const name of ['cvae', 'realnvp', 'maf', 'gan']) {
    const r = resolveModel(name, { ...tinyOf(name), conditional: true });
    assert.match(r.accepts(unlabelled) ?? '', /conditional model needs labelled data/, name);
    assert.throws(
      () => modelEntry(name).create({ ...tinyOf(name), conditional: true }, unlabelled, 0),
      UserError,
    );
  }
});

test('unknown options: UserError naming the nearest known option; prototype keys are unknown', () => {
  assert.throws(
    () => resolveModel('vae', { latentDm: 2 }),
    (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /unknown option 'latentDm' for model 'vae' \(did you mean latentDim\?\)/);
      return true;
    },
  );
  assert.throws(() => resolveModel('cgan', { auxWieght: 1 }), /did you mean auxWeight\?/);
  assert.throws(() => resolveModel('conditional-pixelcnn', { chanels: 8 }), /did you mean channels\?/);
  for (const k of ['toString', 'hasOwnProperty', 'constructor', 'valueOf']) {
    assert.throws(
      () => resolveModel('vae', { [k]: 1 }),
      (e: Error) => {
        assert.ok(e instanceof UserError, k);
        assert.match(e.message, new RegExp(`unknown option '${k}'`));
        return true;
      },
    );
  }
  const proto = JSON.parse('{"__proto__": {"beta": 2}}') as Record<string, unknown>;
  assert.throws(() => resolveModel('vae', proto), /unknown option '__proto__'/);
  assert.throws(() => resolveModel('toString'), /unknown model 'toString'/);
  assert.throws(() => resolveModel('cvea'), /unknown model 'cvea' \(did you mean cvae\?\)/);
});

test('bad values: one-line UserErrors naming the option and what it must be', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['vae', { beta: -1 }, /config 'beta' of model 'vae' must be number >= 0 \(got -1\)/],
    ['vae', { latentDim: 2.5 }, /'latentDim'.*must be 'auto' or integer >= 1/],
    ['vae', { arch: 'resnet' }, /'arch'.*one of mlp, conv/],
    ['vae', { conditional: 'yes' }, /'conditional'.*true or false/],
    ['vae', { hidden: [8, 0] }, /'hidden'/],
    ['pixelcnn', { kernel: 4 }, /'kernel' of model 'pixelcnn' must be odd \(got 4\)/],
    ['transformer', { dModel: 10, heads: 4 }, /'dModel'.*divisible by 'heads'/],
    ['gan', { auxWeight: 1 }, /'auxWeight'.*needs a conditional model/],
    ['cgan', { dLabel: 'both' }, /'auxWeight'.*dLabel 'projection' or 'none'/],
    ['nsf', { tailBound: 0 }, /'tailBound'.*number > 0/],
    ['made', { hidden: [] }, /'hidden'.*non-empty list/],
  ];
  for (const [name, cfg, re] of cases) {
    assert.throws(
      () => resolveModel(name, cfg),
      (e: Error) => {
        assert.ok(e instanceof UserError, `${name} ${JSON.stringify(cfg)}: ${e.message}`);
        assert.match(e.message, re);
        assert.equal(e.message.split('\n').length, 1);
        return true;
      },
    );
  }
});

test('merge order: schema defaults < alias presets < savedDefaults (saved configs) < given keys', () => {
  const plain = resolveModel('pixelcnn').config;
  assert.equal(plain.conditional, false);
  assert.equal(plain.classMap, 8);
  const alias = resolveModel('conditional-pixelcnn');
  assert.equal(alias.kind, 'pixelcnn');
  assert.equal(alias.alias, 'conditional-pixelcnn');
  assert.deepEqual(alias.config, { ...plain, conditional: true });
  assert.equal(resolveModel('conditional-pixelcnn', {}, { saved: true }).config.classMap, 0);
  assert.equal(resolveModel('conditional-pixelcnn', { classMap: 3 }, { saved: true }).config.classMap, 3);
  assert.equal(resolveModel('cvae', { conditional: false }).config.conditional, false);
  // cgan: gan's options with the AC-GAN preset, nets 'auto' as cgan had
  const cgan = resolveModel('cgan').config;
  const gan = resolveModel('gan').config;
  for (const [k, v] of Object.entries({
    arch: 'auto',
    conditional: true,
    gNorm: 'batch',
    dLabel: 'none',
    auxWeight: 1,
    dDropout: 0.3,
  }))
    assert.deepEqual(cgan[k], v, k);
  for (const k of Object.keys(gan))
    if (!['arch', 'conditional', 'gNorm', 'dLabel', 'auxWeight', 'dDropout'].includes(k))
      assert.deepEqual(cgan[k], gan[k], k);
  // variants with their own kind keep their defaults
  assert.equal(resolveModel('iwae').config.iwTrainK, 5);
  assert.equal(resolveModel('beta-vae').config.beta, 4);
  assert.equal(resolveModel('nice').config.coupling, 'additive');
  assert.equal(resolveModel('glow').config.scale, 'sigmoid');
});

interface Recipe {
  model: string;
  data: string;
  config?: { model?: Record<string, unknown>; data?: Record<string, unknown> };
}

const recipeFiles = fs
  .readdirSync(path.join(ROOT, 'recipes'))
  .filter((f) => f.endsWith('.json'))
  .sort();

for (const file of recipeFiles) {
  test(`recipe ${file}: resolves to its own keys over the schema defaults, and builds`, () => {
    const r = JSON.parse(fs.readFileSync(path.join(ROOT, 'recipes', file), 'utf8')) as Recipe;
    const keys = r.config?.model ?? {};
    const res = resolveModel(r.model, keys);
    const defaults = modelEntry(r.model).defaults;
    assert.deepEqual(Object.keys(res.config).sort(), Object.keys(defaults).sort());
    for (const [k, v] of Object.entries(res.config))
      assert.deepEqual(v, Object.hasOwn(keys, k) ? keys[k] : defaults[k], `${file}: ${k}`);
    // the recipe's data (MNIST-shaped: the committed fixture stands in for MNIST / Fashion-MNIST)
    const name = r.data === 'mnist' || r.data === 'fashion-mnist' ? 'mnist-fixture' : r.data;
    const ds = loadDataset({ name, options: r.config?.data ?? {} });
    assert.equal(res.accepts(ds.spec), null);
    const m = res.create(ds.spec, 0);
    try {
      assert.deepEqual(m.taxonomy, res.entry.taxonomy(res.config));
      for (const [k, v] of Object.entries(keys)) assert.deepEqual(m.config[k], v, `${file}: built ${k}`);
    } finally {
      m.dispose();
    }
  });
}

test('modelOptionsHelp lists every option with its type, default and description', () => {
  for (const name of [...modelKinds(), ...modelAliases().map((a) => a.name)]) {
    const help = modelOptionsHelp(name);
    const r = resolveModel(name);
    for (const [k, field] of Object.entries(r.entry.schema.shape)) {
      const line = help.split('\n').find((l) => l.startsWith(`  ${k} (`));
      assert.ok(line, `${name}: option ${k} missing from help`);
      assert.ok(line.includes(`default ${JSON.stringify(r.config[k])}`), `${name}: ${line}`);
      const description = (field as { description?: string }).description;
      assert.ok(description && description.length > 5, `${name}.${k} has no description`);
      assert.ok(help.includes(description), `${name}.${k}: description not in help`);
    }
  }
  assert.match(modelOptionsHelp('vae'), /latentDim \('auto' or integer >= 1; default "auto"\)/);
  assert.match(modelOptionsHelp('gan'), /labelSmoothing \(number >= 0 <= 0\.5; default 0\)/);
  assert.match(modelOptionsHelp('pixelcnn'), /output \(one of auto, bernoulli, categorical, logistic/);
});

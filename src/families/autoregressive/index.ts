// The autoregressive family: importing this module registers its models (see ../../core/model.ts).
// p(x) = prod_t p(x_t | x_<t): exact likelihood in one pass, sampling one position at a time.
import { registerModel, type ModelEntry } from '../../core/model.js';
import type { DataSpec } from '../../data/spec.js';
import { acceptsDiscrete, acceptsImages, type Autoregressive } from './base.js';
import { GATED_PIXELCNN_DEFAULTS, GatedPixelCNN } from './gated-pixelcnn.js';
import { MADE, MADE_DEFAULTS } from './made.js';
import { NADE, NADE_DEFAULTS } from './nade.js';
import { PIXELCNN_DEFAULTS, PixelCNN } from './pixelcnn.js';
import { PixelTransformer, TRANSFORMER_DEFAULTS } from './transformer.js';

type Ctor = new (kind: string, raw: Record<string, unknown>, spec: DataSpec, seed: number) => Autoregressive;

const labelled =
  (base: ModelEntry['accepts']) =>
  (spec: DataSpec): string | null =>
    base(spec) ?? (spec.numClasses && spec.numClasses > 1 ? null : 'a conditional model needs labelled data');

const models: {
  kind: string;
  description: string;
  ctor: Ctor;
  defaults: Record<string, unknown>;
  images: boolean;
  savedDefaults?: Record<string, unknown>;
}[] = [
  {
    kind: 'nade',
    description: 'NADE: shared-weight autoregressive MLP (Larochelle & Murray 2011)',
    ctor: NADE,
    defaults: NADE_DEFAULTS,
    images: false,
  },
  {
    kind: 'made',
    description: 'MADE: masked autoencoder, optional order-agnostic masks (Germain et al. 2015)',
    ctor: MADE,
    defaults: MADE_DEFAULTS,
    images: false,
  },
  {
    kind: 'pixelcnn',
    description: 'PixelCNN: masked convolutions A/B, residual blocks (van den Oord et al. 2016a)',
    ctor: PixelCNN,
    defaults: PIXELCNN_DEFAULTS,
    images: true,
    // conditional checkpoints written before the class map (eq. 5) existed had none
    savedDefaults: { classMap: 0 },
  },
  {
    kind: 'gated-pixelcnn',
    description: 'Gated PixelCNN: vertical + horizontal stacks, no blind spot (van den Oord et al. 2016b)',
    ctor: GatedPixelCNN,
    defaults: GATED_PIXELCNN_DEFAULTS,
    images: true,
    // conditional checkpoints written before the class map (eq. 5) existed had none
    savedDefaults: { classMap: 0 },
  },
  {
    kind: 'transformer',
    description: 'causal Transformer over pixels, masked attention, cached sampling (Parmar et al. 2018)',
    ctor: PixelTransformer,
    defaults: TRANSFORMER_DEFAULTS,
    images: false,
  },
];

for (const m of models) {
  const accepts = m.images ? acceptsImages : acceptsDiscrete;
  registerModel({
    kind: m.kind,
    family: 'autoregressive',
    description: m.description,
    defaults: m.defaults,
    ...(m.savedDefaults ? { savedDefaults: m.savedDefaults } : {}),
    accepts,
    create: (config, spec, seed) => new m.ctor(m.kind, { ...m.defaults, ...config }, spec, seed),
  });
  // class-conditional variant: the same model with conditional: true
  registerModel({
    kind: `conditional-${m.kind}`,
    family: 'autoregressive',
    description: `class-conditional ${m.kind}: p(x | y)`,
    defaults: { ...m.defaults, conditional: true },
    ...(m.savedDefaults ? { savedDefaults: m.savedDefaults } : {}),
    accepts: labelled(accepts),
    create: (config, spec, seed) =>
      new m.ctor(`conditional-${m.kind}`, { ...m.defaults, conditional: true, ...config }, spec, seed),
  });
}

export { Autoregressive, type SamplerSession } from './base.js';
export { OutputHead, type OutputKind } from './outputs.js';
export { NADE, MADE, PixelCNN, GatedPixelCNN, PixelTransformer };
export { explainTable, explainCounts } from './explain.js';

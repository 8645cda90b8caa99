// The autoregressive family: importing this module registers its models (see ../../core/model.ts).
// p(x) = prod_t p(x_t | x_<t): exact likelihood in one pass, sampling one position at a time.
import type { z } from 'zod';
import type { Taxonomy } from '../../core/model.js';
import { registerModelEntry } from '../../core/registry.js';
import type { DataSpec } from '../../data/spec.js';
import { acceptsDiscrete, acceptsImages, acceptsOutput, type Autoregressive } from './base.js';
import type { OutputKind } from './outputs.js';
import { GATED_PIXELCNN_SCHEMA, GatedPixelCNN } from './gated-pixelcnn.js';
import { MADE, MADE_SCHEMA } from './made.js';
import { NADE, NADE_SCHEMA } from './nade.js';
import { PIXELCNN_SCHEMA, PixelCNN } from './pixelcnn.js';
import { PixelTransformer, TRANSFORMER_SCHEMA } from './transformer.js';

type Ctor = new (kind: string, raw: object, spec: DataSpec, seed: number) => Autoregressive;

const models: {
  kind: string;
  description: string;
  ctor: Ctor;
  schema: z.ZodObject;
  images: boolean;
  savedDefaults?: Record<string, unknown>;
}[] = [
  {
    kind: 'nade',
    description: 'NADE: shared-weight autoregressive MLP (Larochelle & Murray 2011)',
    ctor: NADE,
    schema: NADE_SCHEMA,
    images: false,
  },
  {
    kind: 'made',
    description: 'MADE: masked autoencoder, optional order-agnostic masks (Germain et al. 2015)',
    ctor: MADE,
    schema: MADE_SCHEMA,
    images: false,
  },
  {
    kind: 'pixelcnn',
    description: 'PixelCNN: masked convolutions A/B, residual blocks (van den Oord et al. 2016a)',
    ctor: PixelCNN,
    schema: PIXELCNN_SCHEMA,
    images: true,
    // conditional checkpoints written before the class map (eq. 5) existed had none
    savedDefaults: { classMap: 0 },
  },
  {
    kind: 'gated-pixelcnn',
    description: 'Gated PixelCNN: vertical + horizontal stacks, no blind spot (van den Oord et al. 2016b)',
    ctor: GatedPixelCNN,
    schema: GATED_PIXELCNN_SCHEMA,
    images: true,
    // conditional checkpoints written before the class map (eq. 5) existed had none
    savedDefaults: { classMap: 0 },
  },
  {
    kind: 'transformer',
    description: 'causal Transformer over pixels, masked attention, cached sampling (Parmar et al. 2018)',
    ctor: PixelTransformer,
    schema: TRANSFORMER_SCHEMA,
    images: false,
  },
];

const taxonomy = (c: { conditional: boolean }): Taxonomy => ({
  family: 'autoregressive',
  density: 'exact',
  sampling: 'iterative',
  latent: false,
  conditional: c.conditional,
});

for (const m of models) {
  const data = m.images ? acceptsImages : acceptsDiscrete;
  registerModelEntry({
    kind: m.kind,
    family: 'autoregressive',
    description: m.description,
    schema: m.schema,
    taxonomy: (c) => taxonomy(c as { conditional: boolean }),
    accepts: (spec, c) => data(spec) ?? acceptsOutput(spec, c as { output: OutputKind | 'auto' }),
    create: (config, spec, seed) => new m.ctor(m.kind, config, spec, seed),
    ...(m.savedDefaults ? { savedDefaults: m.savedDefaults } : {}),
    // the class-conditional variant is the same model with conditional: true
    aliases: {
      [`conditional-${m.kind}`]: {
        description: `class-conditional ${m.kind}: p(x | y)`,
        config: { conditional: true },
      },
    },
  });
}

export { Autoregressive, type SamplerSession } from './base.js';
export { OutputHead, type OutputKind } from './outputs.js';
export { NADE, MADE, PixelCNN, GatedPixelCNN, PixelTransformer };
export { explainTable, explainCounts } from './explain.js';

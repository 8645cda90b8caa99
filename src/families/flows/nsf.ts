// Neural spline flow (Durkan et al. 2019), coupling variant (RQ-NSF (C), sec. 3.2): layers x [ActNorm,
// rational-quadratic spline coupling with alternating masks], for vectors. See spline.ts for the spline.
import { z } from 'zod';
import { conditionClasses } from '../../core/labels.js';
import { parseModelOptions } from '../../core/registry.js';
import { Rng } from '../../core/rng.js';
import type { DataSpec } from '../../data/spec.js';
import { ActNorm } from './actnorm.js';
import { FlowModel } from './flow.js';
import { SplineCoupling } from './spline.js';
import { Compose, type Transform } from './transform.js';

export const NSF_SCHEMA = z.object({
  layers: z.int().min(1).default(4).describe('spline couplings'),
  hidden: z.int().min(1).default(128).describe('MLP units of each coupling network (two hidden layers)'),
  bins: z.int().min(2).default(8).describe('K: bins of each rational-quadratic spline'),
  tailBound: z.number().gt(0).default(4).describe('B: the spline acts on [-B, B], identity outside'),
  conditional: z.boolean().default(false).describe('class-conditional flow p(x | y)'),
});

export function createNSF(kind: string, raw: object, spec: DataSpec, seed: number): FlowModel {
  const cfg = parseModelOptions(kind, NSF_SCHEMA, raw);
  const numClasses = conditionClasses(spec, cfg.conditional);
  const rng = new Rng(seed);
  const parts: Transform[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    parts.push(new ActNorm(spec.shape, `l${l}.actnorm`));
    parts.push(
      new SplineCoupling(
        spec.shape,
        {
          mask: 'alternate',
          parity: (l % 2) as 0 | 1,
          bins: cfg.bins,
          tailBound: cfg.tailBound,
          hidden: cfg.hidden,
          numClasses,
        },
        rng,
        `l${l}.spline`,
      ),
    );
  }
  return new FlowModel(kind, spec, cfg, new Compose(parts), {
    conditional: cfg.conditional,
    sampling: 'direct',
  });
}

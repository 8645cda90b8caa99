// Neural spline flow (Durkan et al. 2019), coupling variant (RQ-NSF (C), sec. 3.2): layers x [ActNorm,
// rational-quadratic spline coupling with alternating masks], for vectors. See spline.ts for the spline.
import { Rng } from '../../core/rng.js';
import type { DataSpec } from '../../data/spec.js';
import { ActNorm } from './actnorm.js';
import { FlowModel, conditionalOption, intOption, numOption } from './flow.js';
import { SplineCoupling } from './spline.js';
import { Compose, type Transform } from './transform.js';

export const NSF_DEFAULTS: Record<string, unknown> = {
  layers: 4, // spline couplings
  hidden: 128, // MLP units of each coupling network (two hidden layers)
  bins: 8, // K
  tailBound: 4, // B: the spline acts on [-B, B], identity outside
  conditional: false,
};

export function createNSF(
  kind: string,
  raw: Record<string, unknown>,
  spec: DataSpec,
  seed: number,
): FlowModel {
  const c = { ...NSF_DEFAULTS, ...raw };
  const cfg = {
    layers: intOption(c, 'layers', 1),
    hidden: intOption(c, 'hidden', 1),
    bins: intOption(c, 'bins', 2),
    tailBound: numOption(c, 'tailBound', 0),
    conditional: conditionalOption(c, spec),
  };
  const numClasses = cfg.conditional ? spec.numClasses! : 0;
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

// RealNVP (Dinh et al. 2017, "Density estimation using Real NVP"), multi-scale (sec. 3.6): at each scale
//   `depth` checkerboard affine couplings -> squeeze -> `depth` channel-wise couplings -> factor out half,
// then `depth + 1` checkerboard couplings on the last scale (RealNVP uses 3, 3 and 4). Masks alternate parity
// from one coupling to the next (sec. 3.5). Each coupling is preceded by an ActNorm (RealNVP used batch
// normalization, sec. 3.7; Glow's ActNorm avoids its batch dependence). On vectors: `layers` couplings with
// alternating masks. coupling 'additive' gives NICE (Dinh et al. 2015) with ActNorm as its scaling layer.
import { parseModelOptions } from '../../core/registry.js';
import { Rng } from '../../core/rng.js';
import type { DataSpec } from '../../data/spec.js';
import { ActNorm } from './actnorm.js';
import { Coupling, type MaskKind } from './coupling.js';
import { Split } from './split.js';
import { Squeeze } from './squeeze.js';
import { Compose, type Transform } from './transform.js';
import { FlowModel, couplingFlowOptions, couplingFlowSchema } from './flow.js';

export const REALNVP_SCHEMA = couplingFlowSchema({ scale: 'tanh', depth: 3 });
/** NICE: RealNVP's architecture with additive couplings */
export const NICE_SCHEMA = couplingFlowSchema({ scale: 'tanh', depth: 3, coupling: 'additive' });

export function createRealNVP(kind: string, raw: object, spec: DataSpec, seed: number): FlowModel {
  const schema = kind === 'nice' ? NICE_SCHEMA : REALNVP_SCHEMA;
  const cfg = couplingFlowOptions(parseModelOptions(kind, schema, raw), spec, 2);
  const numClasses = cfg.conditional ? spec.numClasses! : 0;
  const rng = new Rng(seed);
  let id = 0;
  /** ActNorm + coupling on per-example `shape` */
  const step = (shape: number[], mask: MaskKind, parity: 0 | 1): Transform[] => {
    const p = `c${id++}`;
    return [
      new ActNorm(shape, `${p}.actnorm`),
      new Coupling(
        shape,
        { mask, parity, coupling: cfg.coupling, scale: cfg.scale, hidden: cfg.hidden, numClasses },
        rng,
        `${p}.coupling`,
      ),
    ];
  };
  const stage = (shape: number[], mask: MaskKind, n: number): Transform[] =>
    Array.from({ length: n }, (_, i) => step(shape, mask, (i % 2) as 0 | 1)).flat();

  /** scales l..levels on images of `shape`; returns the flow and the shape it outputs */
  const scaleAt = (shape: number[], l: number): { flow: Transform; out: number[] } => {
    if (l === cfg.levels)
      return { flow: new Compose(stage(shape, 'checkerboard', cfg.depth + 1)), out: shape };
    const [H, W, C] = shape as [number, number, number];
    const sq = [H / 2, W / 2, 4 * C];
    const half = [H / 2, W / 2, 2 * C];
    const next = scaleAt(half, l + 1);
    const parts = [
      ...stage(shape, 'checkerboard', cfg.depth),
      new Squeeze(),
      ...stage(sq, 'channel', cfg.depth),
      new Split(
        sq,
        next.flow,
        next.out,
        cfg.prior === 'learned' ? { numClasses, prefix: `prior${l}` } : undefined,
      ),
    ];
    return { flow: new Compose(parts), out: [(H * W * C) as number] };
  };

  const { flow, out } =
    spec.kind === 'image'
      ? scaleAt(spec.shape, 0)
      : { flow: new Compose(stage(spec.shape, 'alternate', cfg.layers)), out: spec.shape };
  return new FlowModel(kind, spec, { ...cfg }, flow, {
    conditional: cfg.conditional,
    sampling: 'direct',
    zShape: out,
  });
}

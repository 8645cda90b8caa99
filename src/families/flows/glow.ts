// Glow (Kingma & Dhariwal 2018, "Glow: Generative Flow with Invertible 1x1 Convolutions"), multi-scale
// architecture (sec. 3, Fig. 2): for each of L levels, squeeze -> K steps of flow -> split (factor out half;
// not after the last level). One step of flow (Table 1): ActNorm -> invertible 1x1 convolution (LU) ->
// affine coupling on the channel halves (scale sigmoid(h + 2), as Glow's code). The factored-out halves are
// N(0, I), or with prior 'learned' N(mu(h), sigma(h)^2) conditioned on the kept half, as Glow (split.ts).
// On vectors: `layers` steps of ActNorm -> invertible linear map (LU) -> coupling with alternating masks.
import { parseModelOptions } from '../../core/registry.js';
import { Rng } from '../../core/rng.js';
import type { DataSpec } from '../../data/spec.js';
import { ActNorm } from './actnorm.js';
import { Coupling, type MaskKind } from './coupling.js';
import { InvConv1x1 } from './invconv.js';
import { Split } from './split.js';
import { Squeeze } from './squeeze.js';
import { Compose, type Transform } from './transform.js';
import { FlowModel, couplingFlowOptions, couplingFlowSchema, type CouplingFlowArch } from './flow.js';

// factored-out halves: N(0, I) by default; 'learned' (Glow's split2d_prior) did worse on MNIST here (8-epoch
// schedule: 1.5587 against 1.5366 bits/dim; docs/flows.md)
export const GLOW_SCHEMA = couplingFlowSchema({ scale: 'sigmoid', depth: 8 });

export type GlowArch = CouplingFlowArch;

export function resolveGlowConfig(raw: object, spec: DataSpec, kind = 'glow'): GlowArch {
  return couplingFlowOptions(parseModelOptions(kind, GLOW_SCHEMA, raw), spec, 3);
}

/** The Glow transform for per-example `shape` (images [H, W, C] or vectors [D]) and the shape it outputs. */
export function glowTransform(
  shape: number[],
  cfg: GlowArch,
  numClasses: number,
  rng: Rng,
): { flow: Transform; out: number[] } {
  let id = 0;
  const stepOfFlow = (s: number[], mask: MaskKind, parity: 0 | 1): Transform[] => {
    const p = `s${id++}`;
    return [
      new ActNorm(s, `${p}.actnorm`),
      new InvConv1x1(s, rng, `${p}.invconv`),
      new Coupling(
        s,
        { mask, parity, coupling: cfg.coupling, scale: cfg.scale, hidden: cfg.hidden, numClasses },
        rng,
        `${p}.coupling`,
      ),
    ];
  };
  const steps = (s: number[], mask: MaskKind, n: number) =>
    Array.from({ length: n }, (_, i) =>
      stepOfFlow(s, mask, mask === 'channel' ? 0 : ((i % 2) as 0 | 1)),
    ).flat();
  if (shape.length !== 3) return { flow: new Compose(steps(shape, 'alternate', cfg.layers)), out: shape };

  const level = (s: number[], l: number): { flow: Transform; out: number[] } => {
    const [H, W, C] = s as [number, number, number];
    const sq = [H / 2, W / 2, 4 * C];
    const body: Transform[] = [new Squeeze(), ...steps(sq, 'channel', cfg.depth)];
    if (l + 1 === cfg.levels) return { flow: new Compose(body), out: sq };
    const next = level([H / 2, W / 2, 2 * C], l + 1);
    const prior = cfg.prior === 'learned' ? { numClasses, prefix: `prior${l}` } : undefined;
    return { flow: new Compose([...body, new Split(sq, next.flow, next.out, prior)]), out: [H * W * C] };
  };
  return level(shape, 0);
}

export function createGlow(kind: string, raw: object, spec: DataSpec, seed: number): FlowModel {
  const cfg = resolveGlowConfig(raw, spec, kind);
  const numClasses = cfg.conditional ? spec.numClasses! : 0;
  const { flow, out } = glowTransform(spec.shape, cfg, numClasses, new Rng(seed));
  return new FlowModel(kind, spec, { ...cfg }, flow, {
    conditional: cfg.conditional,
    sampling: 'direct',
    zShape: out,
  });
}

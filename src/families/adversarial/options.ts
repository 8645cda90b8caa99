// The options of every GAN kind (gan.ts) as one zod schema; each kind sets its own defaults (dcgan.ts,
// wgan-gp.ts, cgan.ts), and the cross-option checks of the auxiliary classifier live here.
import { z } from 'zod';
import { withDefaults } from '../../core/options.js';
import type { DataSpec } from '../../data/spec.js';

const unit = z.number().min(0).max(0.9999);

export const GAN_OPTIONS = z.object({
  arch: z
    .enum(['auto', 'mlp', 'conv'])
    .default('auto')
    .describe("G and D networks ('auto': conv for images with H, W divisible by 4, else mlp)"),
  latentDim: z
    .union([z.literal('auto'), z.int().min(1)])
    .default('auto')
    .describe("dimension of z ('auto': 64 for images, 16 for vectors)"),
  hidden: z
    .union([z.literal('auto'), z.array(z.int().min(1)).min(1)])
    .default('auto')
    .describe("MLP: hidden sizes of G, mirrored by D ('auto': images [512, 512], vectors [128, 128])"),
  channels: z
    .tuple([z.int().min(1), z.int().min(1)])
    .default([32, 64])
    .describe("conv: channels of D's two stride-2 layers (G mirrors them)"),
  loss: z.enum(['minimax', 'non-saturating', 'wgan-gp']).default('non-saturating').describe('GAN loss'),
  gNorm: z
    .enum(['none', 'batch'])
    .default('none')
    .describe('generator normalization: batch norm on its hidden layers (running averages for sampling)'),
  labelSmoothing: z
    .number()
    .min(0)
    .max(0.5)
    .default(0)
    .describe("one-sided label smoothing s of D's real targets (1 -> 1 - s; not for wgan-gp)"),
  gpWeight: z.number().min(0).default(10).describe('WGAN-GP penalty weight lambda'),
  nCritic: z.int().min(1).default(1).describe('discriminator updates per generator update'),
  mbdKernels: z.int().min(0).default(0).describe('minibatch discrimination: number of kernels B (0 = off)'),
  mbdDim: z.int().min(1).default(8).describe('minibatch discrimination: kernel dimension C'),
  conditional: z.boolean().default(false).describe('label-conditioned G(z, y) and D'),
  dLabel: z
    .enum(['projection', 'input', 'both', 'none'])
    .default('projection')
    .describe(
      'how D sees the label (conditional): projection e_y^T phi(x), one-hot input maps, both, or none',
    ),
  dDropout: z.number().min(0).max(0.9).default(0).describe("dropout rate on D's hidden features in training"),
  auxWeight: z
    .number()
    .min(0)
    .default(0)
    .describe("weight of the auxiliary classifier's loss (AC-GAN, Odena et al. 2017; 0 = off)"),
  beta1: unit.default(0.5).describe('Adam beta1 of both players'),
  beta2: unit.default(0.999).describe('Adam beta2 of both players'),
  dLrScale: z.number().min(0).default(1).describe("factor on D's learning rate (two time-scale updates)"),
  gLrScale: z.number().min(0).default(1).describe("factor on G's learning rate (two time-scale updates)"),
});

/** The GAN options with the defaults of one kind, and the checks across options. */
export function ganSchema(over: Partial<z.input<typeof GAN_OPTIONS>> = {}) {
  return withDefaults(GAN_OPTIONS, over).superRefine((c, ctx) => {
    const bad = (message: string) => ctx.addIssue({ code: 'custom', message, path: ['auxWeight'] });
    if (c.auxWeight > 0 && !c.conditional) bad('needs a conditional model (--set conditional=true)');
    else if (c.auxWeight > 0 && (c.dLabel === 'input' || c.dLabel === 'both'))
      bad("> 0 needs dLabel 'projection' or 'none': a classifier that gets the label as input can copy it");
    else if (c.auxWeight > 0 && c.loss === 'wgan-gp') bad('is for the logistic GAN losses, not wgan-gp');
  });
}

export const GAN_SCHEMA = ganSchema();
export type GanOptions = z.output<typeof GAN_SCHEMA>;

export function convOk(spec: DataSpec): boolean {
  return (
    spec.kind === 'image' && spec.shape.length === 3 && spec.shape[0]! % 4 === 0 && spec.shape[1]! % 4 === 0
  );
}

/** Why a GAN with these options cannot take this data, or null. */
export function ganAccepts(spec: DataSpec, c: GanOptions): string | null {
  if (c.arch === 'conv' && !convOk(spec))
    return `arch 'conv' needs images [H, W, C] with H and W divisible by 4 (got ${spec.kind} [${spec.shape.join(', ')}])`;
  return null;
}

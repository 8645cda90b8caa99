// 2D toy densities (as used to picture flows, GANs and EBMs: Grathwohl et al. 2019 FFJORD, Metz et al. 2017
// unrolled GANs for the 8-gaussian ring and the 25-gaussian grid). Seeded, fixed sizes.
import { UserError } from '../core/model.js';
import { Rng } from '../core/rng.js';
import type { DataSpec } from './spec.js';
import type { Dataset, Split } from './types.js';
import { checkKeys, optInt, optNumber, type Options } from './options.js';

export const TOY_NAMES = ['moons', '8gaussians', '25gaussians', 'checkerboard', 'spirals', 'rings'] as const;
export type ToyName = (typeof TOY_NAMES)[number];

export function isToy(name: string): name is ToyName {
  return (TOY_NAMES as readonly string[]).includes(name);
}

/** Default noise: the std of each gaussian mode (8/25gaussians) or of the added noise (others). */
const DEFAULT_NOISE: Record<ToyName, number> = {
  moons: 0.1,
  '8gaussians': 0.1,
  '25gaussians': 0.05,
  checkerboard: 0,
  spirals: 0.1,
  rings: 0.05,
};

const NUM_CLASSES: Record<ToyName, number | undefined> = {
  moons: 2,
  '8gaussians': 8,
  '25gaussians': 25,
  checkerboard: undefined,
  spirals: 2,
  rings: 4,
};

export interface ToyModes {
  /** mode centers, one [x, y] per mode */
  centers: number[][];
  /** std of each mode's gaussian */
  std: number;
}

function ringCenters(): number[][] {
  // 8 modes on a circle of radius 2
  return Array.from({ length: 8 }, (_, k) => [
    2 * Math.cos((2 * Math.PI * k) / 8),
    2 * Math.sin((2 * Math.PI * k) / 8),
  ]);
}

function gridCenters(): number[][] {
  // 5 x 5 grid at {-4, -2, 0, 2, 4}^2
  const out: number[][] = [];
  for (let i = -2; i <= 2; i++) for (let j = -2; j <= 2; j++) out.push([2 * i, 2 * j]);
  return out;
}

/** Mode centers of the toys that have modes (8gaussians, 25gaussians); null for the others. */
export function toyModes(name: string, opts: Options = {}): ToyModes | null {
  if (name !== '8gaussians' && name !== '25gaussians') return null;
  const std = optNumber(name, opts, 'noise', DEFAULT_NOISE[name], 0, 10);
  return { centers: name === '8gaussians' ? ringCenters() : gridCenters(), std };
}

/** Draw n points of a toy density. */
export function sampleToy(name: ToyName, n: number, rng: Rng, noise = DEFAULT_NOISE[name]): Split {
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  const put = (i: number, a: number, b: number, c: number) => {
    x[2 * i] = a;
    x[2 * i + 1] = b;
    y[i] = c;
  };
  for (let i = 0; i < n; i++) {
    switch (name) {
      case 'moons': {
        // two interleaved half circles, centered and scaled by 2
        const c = rng.next() < 0.5 ? 0 : 1;
        const t = Math.PI * rng.next();
        const [a, b] = c === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)];
        put(i, 2 * (a - 0.5 + noise * rng.normal()), 2 * (b - 0.25 + noise * rng.normal()), c);
        break;
      }
      case '8gaussians':
      case '25gaussians': {
        const centers = name === '8gaussians' ? ringCenters() : gridCenters();
        const c = Math.floor(rng.next() * centers.length);
        put(i, centers[c]![0]! + noise * rng.normal(), centers[c]![1]! + noise * rng.normal(), c);
        break;
      }
      case 'checkerboard': {
        // 4 x 4 board on [-2, 2]^2; points uniform on the 8 cells with (row + col) even
        const cell = Math.floor(rng.next() * 8);
        const row = Math.floor(cell / 2);
        const col = 2 * (cell % 2) + (row % 2);
        put(i, -2 + col + rng.next() + noise * rng.normal(), -2 + row + rng.next() + noise * rng.normal(), 0);
        break;
      }
      case 'spirals': {
        // two arms, r from 0.5 to 4 over 1.5 turns; sqrt spreads points evenly along the arm
        const c = rng.next() < 0.5 ? 0 : 1;
        const t = Math.sqrt(rng.next());
        const r = 0.5 + 3.5 * t;
        const th = 3 * Math.PI * t + Math.PI * c;
        put(i, r * Math.cos(th) + noise * rng.normal(), r * Math.sin(th) + noise * rng.normal(), c);
        break;
      }
      case 'rings': {
        // 4 concentric circles of radius 0.75, 1.5, 2.25, 3; points per ring proportional to its radius
        const u = rng.next() * 10;
        const c = u < 1 ? 0 : u < 3 ? 1 : u < 6 ? 2 : 3;
        const th = 2 * Math.PI * rng.next();
        const r = (c + 1) * 0.75;
        put(i, r * Math.cos(th) + noise * rng.normal(), r * Math.sin(th) + noise * rng.normal(), c);
        break;
      }
    }
  }
  return NUM_CLASSES[name] === undefined ? { n, x } : { n, x, y };
}

export const TOY_OPTIONS = ['nTrain', 'nTest', 'seed', 'noise'] as const;

/** Most points a toy split may have (bounds memory: 2 floats each). */
export const MAX_TOY_POINTS = 10_000_000;

export function normalizeToyOptions(name: ToyName, opts: Options): Options {
  checkKeys(name, opts, TOY_OPTIONS);
  const count = (key: string, def: number) => {
    const v = optInt(name, opts, key, def, 1);
    if (v > MAX_TOY_POINTS)
      throw new UserError(`dataset '${name}': option ${key} must be at most ${MAX_TOY_POINTS}, got ${v}`);
    return v;
  };
  return {
    nTrain: count('nTrain', 10000),
    nTest: count('nTest', 2000),
    seed: optInt(name, opts, 'seed', 0, 0),
    noise: optNumber(name, opts, 'noise', DEFAULT_NOISE[name], 0, 10),
  };
}

export function loadToy(name: string, opts: Options): Dataset {
  if (!isToy(name)) throw new UserError(`unknown toy dataset '${name}' (known: ${TOY_NAMES.join(', ')})`);
  const o = normalizeToyOptions(name, opts);
  const rng = new Rng(o['seed'] as number);
  const trainRng = rng.fork();
  const testRng = rng.fork();
  const noise = o['noise'] as number;
  const train = sampleToy(name, o['nTrain'] as number, trainRng, noise);
  const test = sampleToy(name, o['nTest'] as number, testRng, noise);
  const k = NUM_CLASSES[name];
  const spec: DataSpec = {
    kind: 'vector',
    shape: [2],
    domain: 'real',
    ...(k !== undefined ? { numClasses: k } : {}),
  };
  return {
    name,
    spec,
    train,
    test,
    columns: ['x', 'y'],
    prepare: (x) => x,
    toDisplay: (x) => Float32Array.from(x),
    describe: () => ({ name, options: { ...o } }),
  };
}

// Seeded, resumable randomness. A counter-based stream: the state is (seed, counter), so a checkpoint
// stores two integers and a resumed run draws exactly the numbers the uninterrupted run would have.

/** SplitMix32-style integer hash of (seed, counter) -> uint32. */
function mix(seed: number, counter: number): number {
  let z = (seed ^ Math.imul(counter + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export interface RngState {
  seed: number;
  counter: number;
}

export class Rng {
  seed: number;
  counter: number;
  constructor(seed: number, counter = 0) {
    this.seed = seed >>> 0;
    this.counter = counter;
  }
  static from(state: RngState): Rng {
    return new Rng(state.seed, state.counter);
  }
  state(): RngState {
    return { seed: this.seed, counter: this.counter };
  }
  /** uniform uint32 */
  nextU32(): number {
    return mix(this.seed, this.counter++);
  }
  /** uniform in [0, 1) */
  next(): number {
    return this.nextU32() / 4294967296;
  }
  /** a seed for tfjs random ops (positive int below 2^31) */
  nextSeed(): number {
    return this.nextU32() & 0x7fffffff;
  }
  /** standard normal (Box-Muller) */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** Fisher-Yates permutation of 0..n-1 */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
  /** an independent child stream */
  fork(): Rng {
    return new Rng(this.nextU32());
  }
}

// Mode coverage for samples of a 2-D gaussian mixture (the 8-gaussian ring, the 25-gaussian grid), as used to
// measure mode collapse (Metz et al. 2017, "Unrolled GANs"; Srivastava et al. 2017, "VEEGAN", §5.1):
//   a sample is high-quality when it lies within 3 standard deviations of its nearest mode center;
//   a mode is covered when at least `minCount` high-quality samples fall on it
//   (default: 10% of its fair share, ceil(0.1 n / K) for n samples and K modes).
import type { ToyModes } from '../data/toy.js';

export interface ModeStats {
  modes: number;
  covered: number;
  /** fraction of samples within 3 std of some mode */
  highQuality: number;
  /** high-quality samples per mode */
  counts: number[];
  minCount: number;
  n: number;
}

export function defaultMinCount(n: number, modes: number): number {
  return Math.max(1, Math.ceil((0.1 * n) / modes));
}

/** x: n points [x, y] (row-major). */
export function modeStats(x: ArrayLike<number>, n: number, m: ToyModes, minCount?: number): ModeStats {
  const K = m.centers.length;
  const need = minCount ?? defaultMinCount(n, K);
  const r2 = (3 * m.std) ** 2;
  const counts = new Array<number>(K).fill(0);
  let hq = 0;
  for (let i = 0; i < n; i++) {
    const a = x[2 * i]!;
    const b = x[2 * i + 1]!;
    let best = Infinity;
    let bestK = -1;
    m.centers.forEach(([cx, cy], k) => {
      const d2 = (a - cx!) ** 2 + (b - cy!) ** 2;
      if (d2 < best) [best, bestK] = [d2, k];
    });
    if (best <= r2) {
      hq++;
      counts[bestK]!++;
    }
  }
  return {
    modes: K,
    covered: counts.filter((c) => c >= need).length,
    highQuality: n > 0 ? hq / n : 0,
    counts,
    minCount: need,
    n,
  };
}

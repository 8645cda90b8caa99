// The likelihood estimates eval reports for a model: its own (GenerativeModel.estimates), else the defaults
// its taxonomy implies:
//   density 'exact' -> NLL via logProb
//   density 'bound' -> -ELBO via logProbBound(k=1) and, with --iw K > 1, -IWAE_K (Burda et al. 2016, eq. 8)
//   density 'estimate' -> none by default: such a model must list its own (e.g. AIS for an RBM's log Z)
//   density 'unnormalized' | 'none' -> none: the model is judged by sample metrics
import type { Estimate, GenerativeModel, Taxonomy } from '../core/model.js';

/** Taxonomy densities, including those added to the taxonomy for energy-based models. */
export type Density = Taxonomy['density'] | 'estimate' | 'unnormalized';

export function defaultEstimates(model: GenerativeModel, iw: number): Estimate[] {
  const density = model.taxonomy.density as Density;
  if (density === 'exact') {
    const logProb = model.logProb?.bind(model);
    if (!logProb) throw new Error(`model '${model.kind}' claims an exact density but has no logProb`);
    return [{ name: 'nll', label: 'NLL', kind: 'exact', logLik: (x, y) => logProb(x, y) }];
  }
  if (density === 'bound') {
    const bound = model.logProbBound?.bind(model);
    if (!bound) throw new Error(`model '${model.kind}' claims a bound but has no logProbBound`);
    const out: Estimate[] = [
      { name: 'elbo', label: '-ELBO', kind: 'bound', logLik: (x, y, seed) => bound(x, { k: 1, seed, y }) },
    ];
    if (iw > 1)
      out.push({
        name: 'iwae',
        label: `-IWAE(k=${iw})`,
        kind: 'bound',
        k: iw,
        logLik: (x, y, seed) => bound(x, { k: iw, seed, y }),
      });
    return out;
  }
  return [];
}

/** The estimates eval computes for a model, in report order (the first is the headline number). */
export function modelEstimates(model: GenerativeModel, iw: number): Estimate[] {
  const own = model.estimates?.({ iw });
  const list = own ?? defaultEstimates(model, iw);
  const density = model.taxonomy.density as Density;
  if (density === 'estimate' && list.length === 0)
    throw new Error(`model '${model.kind}' claims a density estimate but lists no estimates`);
  const names = new Set<string>();
  for (const e of list) {
    if (names.has(e.name)) throw new Error(`model '${model.kind}' lists the estimate '${e.name}' twice`);
    names.add(e.name);
  }
  return list;
}

/** The table label of a metric from a result written before metrics carried one. */
export function legacyLabel(m: { name: string; k?: number }): string {
  if (m.name === 'nll') return 'NLL';
  if (m.name === 'elbo') return '-ELBO';
  if (m.name === 'iwae') return `-IWAE(k=${m.k})`;
  return m.name;
}

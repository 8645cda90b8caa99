// Declarative plots: each builder returns a vega-lite spec that is plain JSON (data inlined as `values`), so
// the same object can be rendered to PNG here (render.ts) or shown live in a browser with vega-embed.
import type { TopLevelSpec } from 'vega-lite';

export type PlotSpec = TopLevelSpec;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Tableau 10, vega's default categorical scheme */
export const PALETTE = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
];

export interface PlotOptions {
  title?: string;
  /** size of the plotting area in CSS pixels (axes, title and legend come on top) */
  width?: number;
  height?: number;
}

const finite = (...v: number[]) => v.every(Number.isFinite);
const round = (v: number) => Number(v.toPrecision(7)); // keeps the inlined JSON short

function colorScale(names: string[], colors: (string | undefined)[]) {
  return { domain: names, range: names.map((_, i) => colors[i] ?? PALETTE[i % PALETTE.length]!) };
}

/** the color channel of a multi-series plot: one color per series name, a legend at the top right */
function seriesColor(names: string[], colors: (string | undefined)[], extra: object = {}) {
  return {
    type: 'nominal',
    title: null,
    scale: colorScale(names, colors),
    legend: { orient: 'top-right', fillColor: 'white', padding: 4, ...extra },
  };
}

function frame(opts: PlotOptions, w: number, h: number) {
  return {
    $schema: SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? w,
    height: opts.height ?? h,
    background: 'white',
  };
}

// ------------------------------------------------------------------------------------------- lines

export interface LineSeriesData {
  name: string;
  x: number[];
  y: number[];
  /** CSS color (default: the palette in order) */
  color?: string;
}

export interface LinePlotOptions extends PlotOptions {
  xlabel?: string;
  ylabel?: string;
  /** y-axis domain; values outside are drawn at the edge (default: fitted to the data) */
  yDomain?: [number, number];
  /** log-scaled x axis */
  xLog?: boolean;
}

/** Curves y(x), one per series, with a legend; non-finite points are left out (the line joins over them). */
export function linePlotSpec(series: LineSeriesData[], opts: LinePlotOptions = {}): PlotSpec {
  const values: { series: string; x: number; y: number }[] = [];
  for (const s of series)
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (finite(x, y)) values.push({ series: s.name, x: round(x), y: round(y) });
    }
  const names = series.map((s) => s.name);
  return {
    ...frame(opts, 560, 320),
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5, clip: true },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: opts.xlabel ?? 'x',
        scale: { zero: false, ...(opts.xLog ? { type: 'log' } : {}) },
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: opts.ylabel ?? 'value',
        scale: opts.yDomain
          ? { domain: opts.yDomain.map(round), clamp: true, zero: false, nice: false }
          : { zero: false },
      },
      color: {
        field: 'series',
        ...seriesColor(
          names,
          series.map((s) => s.color),
        ),
      },
    },
  } as PlotSpec;
}

/** Training curves: loss (and test metrics) against the step. */
export function lossCurveSpec(series: LineSeriesData[], opts: LinePlotOptions = {}): PlotSpec {
  return linePlotSpec(series, { xlabel: 'step', ylabel: 'loss (nats)', ...opts });
}

/**
 * The y domain of a loss plot: the values after the first 5% of steps (the initial drop would otherwise
 * flatten the curve), padded by 5%.
 */
export function lossDomain(series: LineSeriesData[]): [number, number] {
  const xMax = Math.max(...series.flatMap((s) => s.x.filter(Number.isFinite)), 0);
  const late = series.flatMap((s) => s.y.filter((_, i) => s.x[i]! >= 0.05 * xMax));
  return paddedRange(late, 0.05);
}

/** [min, max] of the finite values, widened by padFrac of the span on each side ([0, 1] when none) */
export function paddedRange(vals: ArrayLike<number>, padFrac: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  const p = (hi - lo) * padFrac;
  return [lo - p, hi + p];
}

// ----------------------------------------------------------------------------------------- scatter

export interface ScatterSeriesData {
  name: string;
  /** interleaved x,y pairs */
  points: ArrayLike<number>;
  color?: string;
  /** point area in square pixels (default 6) */
  size?: number;
  opacity?: number;
}

/** the finite (x, y) pairs of interleaved points, rounded for the inlined JSON */
function pointValues(points: ArrayLike<number>): { x: number; y: number }[] {
  const values: { x: number; y: number }[] = [];
  for (let i = 0; i + 1 < points.length; i += 2) {
    const x = points[i]!;
    const y = points[i + 1]!;
    if (finite(x, y)) values.push({ x: round(x), y: round(y) });
  }
  return values;
}

/** 2-D point clouds (e.g. data in gray under samples), one layer and one color per series, in order. */
export function scatterSpec(series: ScatterSeriesData[], opts: PlotOptions = {}): PlotSpec {
  const names = series.map((s) => s.name);
  const color = {
    datum: '',
    ...seriesColor(
      names,
      series.map((s) => s.color),
      { symbolOpacity: 1 },
    ),
  };
  const layers = series.map((s) => pointValues(s.points));
  const all = layers.flat();
  const xr = paddedRange(
    all.map((v) => v.x),
    0.05,
  );
  const yr = paddedRange(
    all.map((v) => v.y),
    0.05,
  );
  return {
    ...frame(opts, 400, 400),
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'x₁', scale: { domain: xr.map(round), nice: true } },
      y: { field: 'y', type: 'quantitative', title: 'x₂', scale: { domain: yr.map(round), nice: true } },
    },
    layer: series.map((s, i) => ({
      data: { values: layers[i] },
      mark: { type: 'circle', clip: true, size: s.size ?? 8, opacity: s.opacity ?? 0.6 },
      encoding: { color: { ...color, datum: s.name } },
    })),
  } as PlotSpec;
}

/** side-by-side scatter plots of 2-D point sets on shared axes */
export function scatterStripSpec(panels: { title: string; points: ArrayLike<number> }[]): PlotSpec {
  const values = panels.map((p) => pointValues(p.points));
  const all = values.flat();
  const xd = paddedRange(
    all.map((v) => v.x),
    0.05,
  );
  const yd = paddedRange(
    all.map((v) => v.y),
    0.05,
  );
  return {
    $schema: SCHEMA,
    background: 'white',
    hconcat: panels.map((p, k) => ({
      title: p.title,
      width: 160,
      height: 160,
      data: { values: values[k] },
      mark: { type: 'circle', size: 5, opacity: 0.6, clip: true, color: '#4c78a8' },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: null, scale: { domain: xd, nice: false } },
        y: { field: 'y', type: 'quantitative', title: null, scale: { domain: yd, nice: false } },
      },
    })),
  } as PlotSpec;
}

// ----------------------------------------------------------------------------------------- density

export interface DensityGridData {
  /** values[j * nx + i]: cell (i, j), column i from the left, row j from the bottom */
  values: ArrayLike<number>;
  nx: number;
  ny: number;
  /** the grid spans xRange x yRange; cell centers are at (i + 1/2) of the cell width */
  xRange: [number, number];
  yRange: [number, number];
}

export interface DensityPlotOptions extends PlotOptions {
  /** legend title (default 'p(x)') */
  label?: string;
  /** vega color scheme (default white to dark blue) */
  scheme?: string;
}

const colorScaleOf = (opts: DensityPlotOptions) =>
  opts.scheme
    ? { scheme: opts.scheme, zero: true }
    : { range: ['#ffffff', '#08306b'], interpolate: 'rgb', zero: true };

/** A heatmap of a density on a regular grid, white (0) to dark (max), with a color legend. */
export function densitySpec(grid: DensityGridData, opts: DensityPlotOptions = {}): PlotSpec {
  const { nx, ny, xRange, yRange } = grid;
  const dx = (xRange[1] - xRange[0]) / nx;
  const dy = (yRange[1] - yRange[0]) / ny;
  const values: { x: number; x2: number; y: number; y2: number; p: number }[] = [];
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      const p = grid.values[j * nx + i]!;
      if (!Number.isFinite(p)) continue;
      values.push({
        x: round(xRange[0] + i * dx),
        x2: round(xRange[0] + (i + 1) * dx),
        y: round(yRange[0] + j * dy),
        y2: round(yRange[0] + (j + 1) * dy),
        p: round(p),
      });
    }
  return {
    ...frame(opts, 400, 400),
    data: { values },
    // a hairline of the cell's own color closes the anti-aliasing seams between neighbouring cells
    mark: { type: 'rect', strokeWidth: 0.6, stroke: { expr: "scale('color', datum.p)" } },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: 'x₁',
        scale: { domain: xRange.map(round), nice: false, zero: false },
      },
      x2: { field: 'x2' },
      y: {
        field: 'y',
        type: 'quantitative',
        title: 'x₂',
        scale: { domain: yRange.map(round), nice: false, zero: false },
      },
      y2: { field: 'y2' },
      color: {
        field: 'p',
        type: 'quantitative',
        title: opts.label ?? 'p(x)',
        scale: colorScaleOf(opts),
        legend: { type: 'gradient', gradientLength: Math.round((opts.height ?? 400) * 0.6) },
      },
    },
    config: { view: { stroke: null }, axis: { grid: false } },
  } as PlotSpec;
}

// --------------------------------------------------------------------------------------------- ROC

export interface RocCurveData {
  name: string;
  /** false-positive rates, ascending, from 0 to 1 */
  fpr: number[];
  /** true-positive rates at those thresholds */
  tpr: number[];
  color?: string;
}

/** Area under a ROC curve by the trapezoidal rule. */
export function rocAuc(fpr: number[], tpr: number[]): number {
  let a = 0;
  for (let i = 1; i < fpr.length; i++) a += (fpr[i]! - fpr[i - 1]!) * (tpr[i]! + tpr[i - 1]!) * 0.5;
  return a;
}

/** ROC curves with the chance diagonal; each legend entry carries its AUC. */
export function rocSpec(curves: RocCurveData[], opts: PlotOptions = {}): PlotSpec {
  const named = curves.map((c) => `${c.name} (AUC ${rocAuc(c.fpr, c.tpr).toFixed(3)})`);
  const values: { series: string; fpr: number; tpr: number; i: number }[] = [];
  curves.forEach((c, k) =>
    c.fpr.forEach((f, i) => {
      if (finite(f, c.tpr[i]!)) values.push({ series: named[k]!, fpr: round(f), tpr: round(c.tpr[i]!), i });
    }),
  );
  const axis = (field: string, title: string) => ({
    field,
    type: 'quantitative',
    title,
    scale: { domain: [0, 1] },
  });
  return {
    ...frame(opts, 360, 360),
    layer: [
      {
        data: {
          values: [
            { fpr: 0, tpr: 0 },
            { fpr: 1, tpr: 1 },
          ],
        },
        mark: { type: 'line', color: '#aaaaaa', strokeDash: [4, 4] },
        encoding: { x: axis('fpr', 'false positive rate'), y: axis('tpr', 'true positive rate') },
      },
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: axis('fpr', 'false positive rate'),
          y: axis('tpr', 'true positive rate'),
          order: { field: 'i', type: 'quantitative' },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: colorScale(
              named,
              curves.map((c) => c.color),
            ),
            legend: { orient: 'bottom-right', fillColor: 'white', padding: 4 },
          },
        },
      },
    ],
  } as PlotSpec;
}

// ------------------------------------------------------------------------------------------ histogram

export interface HistogramSeriesData {
  name: string;
  values: ArrayLike<number>;
  color?: string;
}

export interface HistogramOptions extends PlotOptions {
  xlabel?: string;
  /** the most bins (default 40) */
  maxBins?: number;
  /** plot densities (each series integrates to one) instead of counts */
  density?: boolean;
}

/** Overlaid histograms on shared bins, one color per series. */
export function histogramSpec(series: HistogramSeriesData[], opts: HistogramOptions = {}): PlotSpec {
  const values: { series: string; v: number }[] = [];
  for (const s of series)
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i]!;
      if (Number.isFinite(v)) values.push({ series: s.name, v: round(v) });
    }
  const names = series.map((s) => s.name);
  const density = opts.density ?? false;
  return {
    ...frame(opts, 480, 300),
    data: { values },
    transform: [
      { bin: { maxbins: opts.maxBins ?? 40 }, field: 'v', as: ['b0', 'b1'] },
      { aggregate: [{ op: 'count', as: 'count' }], groupby: ['series', 'b0', 'b1'] },
      { joinaggregate: [{ op: 'sum', field: 'count', as: 'total' }], groupby: ['series'] },
      {
        calculate: density ? 'datum.count / (datum.total * (datum.b1 - datum.b0))' : 'datum.count',
        as: 'height',
      },
    ],
    mark: { type: 'rect', opacity: series.length > 1 ? 0.55 : 0.85 },
    encoding: {
      x: { field: 'b0', type: 'quantitative', title: opts.xlabel ?? 'value', scale: { zero: false } },
      x2: { field: 'b1' },
      y: { field: 'height', type: 'quantitative', title: density ? 'density' : 'count' },
      y2: { datum: 0 },
      color: {
        field: 'series',
        ...seriesColor(
          names,
          series.map((s) => s.color),
        ),
      },
    },
  } as PlotSpec;
}

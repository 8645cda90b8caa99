// PNG output via pngjs: image grids, scatter plots of 2-D samples, line plots of loss curves.
// Plots are rasterized directly into the RGBA buffer; labels use a built-in 5x7 bitmap font.
import { PNG } from 'pngjs';
import { writeFileAtomic } from './atomic.js';

export type RGB = [number, number, number];

/** 5x7 glyphs, 7 rows of 5 bits each (MSB = leftmost pixel). Letters render upper-case. */
const FONT: Record<string, number[]> = {
  '0': [14, 17, 19, 21, 25, 17, 14],
  '1': [4, 12, 4, 4, 4, 4, 14],
  '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2],
  '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14],
  '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
  '.': [0, 0, 0, 0, 0, 12, 12],
  ',': [0, 0, 0, 0, 12, 4, 8],
  '-': [0, 0, 0, 31, 0, 0, 0],
  '+': [0, 4, 4, 31, 4, 4, 0],
  ':': [0, 12, 12, 0, 12, 12, 0],
  '/': [1, 2, 2, 4, 8, 8, 16],
  _: [0, 0, 0, 0, 0, 0, 31],
  '=': [0, 0, 31, 0, 31, 0, 0],
  '(': [2, 4, 8, 8, 8, 4, 2],
  ')': [8, 4, 2, 2, 2, 4, 8],
  ' ': [0, 0, 0, 0, 0, 0, 0],
  A: [14, 17, 17, 31, 17, 17, 17],
  B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14],
  D: [28, 18, 17, 17, 17, 18, 28],
  E: [31, 16, 16, 30, 16, 16, 31],
  F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15],
  H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17],
  L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13],
  R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30],
  T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10],
  X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 17, 10, 4, 4, 4],
  Z: [31, 1, 2, 4, 8, 16, 31],
};

export const PALETTE: RGB[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
];

/** A tiny RGBA raster. */
export class Canvas {
  readonly png: PNG;
  constructor(
    readonly width: number,
    readonly height: number,
    bg: RGB = [255, 255, 255],
  ) {
    this.png = new PNG({ width, height });
    this.fillRect(0, 0, width, height, bg);
  }
  set(x: number, y: number, c: RGB, alpha = 1): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    const d = this.png.data;
    for (let k = 0; k < 3; k++) d[i + k] = Math.round(alpha * c[k]! + (1 - alpha) * d[i + k]!);
    d[i + 3] = 255;
  }
  fillRect(x0: number, y0: number, w: number, h: number, c: RGB): void {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) this.set(x, y, c);
  }
  /** Bresenham line */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB): void {
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (let guard = 0; guard < 100000; guard++) {
      this.set(x0, y0, c);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }
  dot(x: number, y: number, r: number, c: RGB, alpha = 1): void {
    for (let dy = -r; dy <= r; dy++)
      for (let dx = -r; dx <= r; dx++)
        if (dx * dx + dy * dy <= r * r + 0.5) this.set(x + dx, y + dy, c, alpha);
  }
  /** draw text with the 5x7 font; (x, y) is the top-left corner; returns the width drawn */
  text(x: number, y: number, s: string, c: RGB = [0, 0, 0], scale = 1): number {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch] ?? FONT['_']!;
      for (let r = 0; r < 7; r++)
        for (let col = 0; col < 5; col++)
          if ((g[r]! >> (4 - col)) & 1) this.fillRect(cx + col * scale, y + r * scale, scale, scale, c);
      cx += 6 * scale;
    }
    return cx - x;
  }
  encode(): Buffer {
    return PNG.sync.write(this.png);
  }
}

export const textWidth = (s: string, scale = 1) => s.length * 6 * scale;

export function savePng(file: string, canvas: Canvas | Buffer): void {
  writeFileAtomic(file, canvas instanceof Canvas ? canvas.encode() : canvas);
}

// ---------------------------------------------------------------------------------------------- grid

export interface GridOptions {
  /** images per row (default ceil(sqrt(n))) */
  nrow?: number;
  /** pixels between images (default 2) */
  padding?: number;
  /** pad gray level in [0,1] (default 0.5) */
  padValue?: number;
  /** integer upscaling (default: so that a 28px image is shown at 56px) */
  scale?: number;
}

/** Arrange n images [n, H, W, C] (C = 1 or 3, values in [0,1], clipped) into one grid image. */
export function imageGrid(data: Float32Array | number[], shape: number[], opts: GridOptions = {}): Canvas {
  if (shape.length === 3) shape = [...shape, 1];
  const [n, H, W, C] = shape as [number, number, number, number];
  if (shape.length !== 4 || (C !== 1 && C !== 3))
    throw new Error(`imageGrid wants [n,H,W,1|3], got [${shape}]`);
  if (data.length !== n * H * W * C) throw new Error(`imageGrid: ${data.length} values for shape [${shape}]`);
  const nrow = Math.max(1, Math.min(n, opts.nrow ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.max(1, Math.ceil(n / nrow));
  const pad = opts.padding ?? 2;
  const s = opts.scale ?? Math.max(1, Math.floor(56 / H));
  const pv = Math.round(255 * Math.min(1, Math.max(0, opts.padValue ?? 0.5)));
  const cv = new Canvas(nrow * (W * s + pad) + pad, rows * (H * s + pad) + pad, [pv, pv, pv]);
  const q = (v: number) => Math.round(255 * (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0));
  for (let i = 0; i < n; i++) {
    const ox = pad + (i % nrow) * (W * s + pad);
    const oy = pad + Math.floor(i / nrow) * (H * s + pad);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const b = ((i * H + y) * W + x) * C;
        const c: RGB =
          C === 1 ? [q(data[b]!), q(data[b]!), q(data[b]!)] : [q(data[b]!), q(data[b + 1]!), q(data[b + 2]!)];
        cv.fillRect(ox + x * s, oy + y * s, s, s, c);
      }
  }
  return cv;
}

// ---------------------------------------------------------------------------------------------- axes

/** about `count` round tick values covering [lo, hi] */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++)
    out.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return out;
}

export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

interface Axes {
  cv: Canvas;
  px: (x: number) => number;
  py: (y: number) => number;
}

function drawAxes(
  width: number,
  height: number,
  xr: [number, number],
  yr: [number, number],
  title: string | undefined,
  xlabel: string | undefined,
): Axes {
  const cv = new Canvas(width, height);
  const left = 64;
  const right = 16;
  const top = title ? 28 : 12;
  const bottom = xlabel ? 44 : 30;
  const [x0, x1] = xr[1] > xr[0] ? xr : [xr[0] - 1, xr[0] + 1];
  const [y0, y1] = yr[1] > yr[0] ? yr : [yr[0] - 1, yr[0] + 1];
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const py = (y: number) => height - bottom - ((y - y0) / (y1 - y0)) * (height - top - bottom);
  const axis: RGB = [0, 0, 0];
  const grid: RGB = [225, 225, 225];
  for (const t of niceTicks(x0, x1, 6)) {
    const X = px(t);
    cv.line(X, top, X, height - bottom, grid);
    cv.line(X, height - bottom, X, height - bottom + 4, axis);
    const s = formatNumber(t);
    cv.text(X - textWidth(s) / 2, height - bottom + 7, s, axis);
  }
  for (const t of niceTicks(y0, y1, 5)) {
    const Y = py(t);
    cv.line(left, Y, width - right, Y, grid);
    cv.line(left - 4, Y, left, Y, axis);
    const s = formatNumber(t);
    cv.text(left - 7 - textWidth(s), Y - 3, s, axis);
  }
  cv.line(left, top, left, height - bottom, axis);
  cv.line(left, height - bottom, width - right, height - bottom, axis);
  if (title) cv.text((width - textWidth(title)) / 2, 9, title, axis);
  if (xlabel) cv.text((width - textWidth(xlabel)) / 2, height - 14, xlabel, axis);
  return { cv, px, py };
}

export function range(vals: number[], padFrac: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of vals) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  const p = (hi - lo) * padFrac;
  lo -= p;
  hi += p;
  return [lo, hi];
}

function legend(cv: Canvas, names: string[], colors: RGB[]): void {
  let y = 34;
  for (let i = 0; i < names.length; i++) {
    const w = textWidth(names[i]!) + 20;
    const x = cv.width - 24 - w;
    cv.fillRect(x - 3, y - 3, w + 6, 13, [255, 255, 255]);
    cv.fillRect(x, y, 12, 7, colors[i]!);
    cv.text(x + 16, y, names[i]!, [0, 0, 0]);
    y += 13;
  }
}

// ------------------------------------------------------------------------------------------- scatter

export interface ScatterSeries {
  /** interleaved x,y pairs */
  points: Float32Array | number[];
  label?: string;
  color?: RGB;
  /** dot radius in pixels (default 1) */
  radius?: number;
  alpha?: number;
}

export function scatterPlot(
  series: ScatterSeries[],
  opts: { width?: number; height?: number; title?: string } = {},
): Canvas {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series)
    for (let i = 0; i + 1 < s.points.length; i += 2) {
      xs.push(s.points[i]!);
      ys.push(s.points[i + 1]!);
    }
  const { cv, px, py } = drawAxes(
    opts.width ?? 480,
    opts.height ?? 480,
    range(xs, 0.05),
    range(ys, 0.05),
    opts.title,
    undefined,
  );
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  series.forEach((s, k) => {
    for (let i = 0; i + 1 < s.points.length; i += 2) {
      const x = s.points[i]!;
      const y = s.points[i + 1]!;
      if (Number.isFinite(x) && Number.isFinite(y))
        cv.dot(px(x), py(y), s.radius ?? 1, colors[k]!, s.alpha ?? 0.6);
    }
  });
  const named = series.map((s, i) => [s.label, colors[i]] as const).filter((p) => p[0]);
  if (named.length)
    legend(
      cv,
      named.map((p) => p[0]!),
      named.map((p) => p[1]!),
    );
  return cv;
}

// ---------------------------------------------------------------------------------------------- line

export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
  color?: RGB;
}

export function linePlot(
  series: LineSeries[],
  opts: {
    width?: number;
    height?: number;
    title?: string;
    xlabel?: string;
    /** y-axis range; values outside are drawn at the edge (default: all values) */
    yRange?: [number, number];
  } = {},
): Canvas {
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y);
  const xr = range(xs, 0);
  const yr = opts.yRange ?? range(ys, 0.05);
  const { cv, px, py } = drawAxes(opts.width ?? 640, opts.height ?? 400, xr, yr, opts.title, opts.xlabel);
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  series.forEach((s, k) => {
    let prev: [number, number] | null = null;
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        prev = null;
        continue;
      }
      const p: [number, number] = [px(x), py(Math.min(yr[1], Math.max(yr[0], y)))];
      if (prev) cv.line(prev[0], prev[1], p[0], p[1], colors[k]!);
      else cv.dot(p[0], p[1], 1, colors[k]!);
      prev = p;
    }
  });
  legend(
    cv,
    series.map((s) => s.name),
    colors,
  );
  return cv;
}

// ------------------------------------------------------------------------------------------- heatmap

/**
 * A 2D density heatmap: `values` on an nx x ny grid of cell centers (row j = y index from the bottom,
 * column i = x index; values[j * nx + i]) spanning xRange x yRange. White (0) to dark blue (max); non-finite
 * cells are drawn red.
 */
export function heatmap(
  values: Float32Array | number[],
  nx: number,
  ny: number,
  xRange: [number, number],
  yRange: [number, number],
  opts: { width?: number; height?: number; title?: string } = {},
): Canvas {
  const { cv, px, py } = drawAxes(
    opts.width ?? 480,
    opts.height ?? 480,
    xRange,
    yRange,
    opts.title,
    undefined,
  );
  let max = 0;
  for (const v of values) if (Number.isFinite(v) && v > max) max = v;
  const dx = (xRange[1] - xRange[0]) / nx;
  const dy = (yRange[1] - yRange[0]) / ny;
  const lo: RGB = [255, 255, 255];
  const hi: RGB = [8, 48, 107];
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      const v = values[j * nx + i]!;
      const t = max > 0 ? Math.min(1, Math.max(0, v / max)) : 0;
      const c: RGB = Number.isFinite(v)
        ? ([0, 1, 2].map((k) => Math.round(lo[k]! + t * (hi[k]! - lo[k]!))) as RGB)
        : [220, 0, 0];
      const X0 = Math.round(px(xRange[0] + i * dx));
      const X1 = Math.round(px(xRange[0] + (i + 1) * dx));
      const Y0 = Math.round(py(yRange[0] + (j + 1) * dy));
      const Y1 = Math.round(py(yRange[0] + j * dy));
      cv.fillRect(X0, Y0, Math.max(1, X1 - X0), Math.max(1, Y1 - Y0), c);
    }
  return cv;
}

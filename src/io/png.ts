// PNG output via pngjs: image grids (sample grids of image models), and a small RGBA raster for them.
// Plots (loss curves, scatter plots, heatmaps) are declarative vega-lite specs in src/plot/; scatterPlot and
// linePlot here are thin wrappers over those for older callers.
import { PNG } from 'pngjs';
import { writeFileAtomic } from './atomic.js';
import { linePlotSpec, scatterSpec } from '../plot/specs.js';
import { plotToPng } from '../plot/render.js';

export type RGB = [number, number, number];

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
  set(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    const d = this.png.data;
    for (let k = 0; k < 3; k++) d[i + k] = c[k]!;
    d[i + 3] = 255;
  }
  fillRect(x0: number, y0: number, w: number, h: number, c: RGB): void {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) this.set(x, y, c);
  }
  encode(): Buffer {
    return PNG.sync.write(this.png);
  }
}

export function savePng(file: string, canvas: Canvas | Buffer): void {
  writeFileAtomic(file, canvas instanceof Canvas ? canvas.encode() : canvas);
}

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
/**
 * A grid of n images [H, W, C] (C = 1 or 3, values in [0,1], clipped), painted batch by batch:
 * nrow images per row (default ceil(sqrt(n))), `padding` pixels between them, upscaled by `scale`.
 */
export class GridBuilder {
  readonly canvas: Canvas;
  private next = 0;
  private readonly nrow: number;
  private readonly pad: number;
  private readonly s: number;
  constructor(
    readonly n: number,
    readonly shape: number[],
    opts: GridOptions = {},
  ) {
    const [H, W, C = 1] = shape as [number, number, number?];
    if (shape.length < 2 || shape.length > 3 || (C !== 1 && C !== 3))
      throw new Error(`GridBuilder wants [H,W] or [H,W,1|3], got [${shape}]`);
    this.nrow = Math.max(1, Math.min(n, opts.nrow ?? Math.ceil(Math.sqrt(n))));
    const rows = Math.max(1, Math.ceil(n / this.nrow));
    this.pad = opts.padding ?? 2;
    this.s = opts.scale ?? Math.max(1, Math.floor(56 / H));
    const pv = Math.round(255 * Math.min(1, Math.max(0, opts.padValue ?? 0.5)));
    this.canvas = new Canvas(
      this.nrow * (W * this.s + this.pad) + this.pad,
      rows * (H * this.s + this.pad) + this.pad,
      [pv, pv, pv],
    );
  }
  /** paint the next `count` images (values count * H * W * C) */
  add(values: Float32Array, count: number): void {
    const [H, W, C = 1] = this.shape as [number, number, number?];
    if (values.length !== count * H * W * C || this.next + count > this.n)
      throw new Error(`GridBuilder.add: ${values.length} values for ${count} more of ${this.n} images`);
    const q = (v: number) => Math.round(255 * (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0));
    const { s, pad, nrow } = this;
    for (let j = 0; j < count; j++, this.next++) {
      const i = this.next;
      const ox = pad + (i % nrow) * (W * s + pad);
      const oy = pad + Math.floor(i / nrow) * (H * s + pad);
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const b = ((j * H + y) * W + x) * C;
          const c: RGB =
            C === 1
              ? [q(values[b]!), q(values[b]!), q(values[b]!)]
              : [q(values[b]!), q(values[b + 1]!), q(values[b + 2]!)];
          this.canvas.fillRect(ox + x * s, oy + y * s, s, s, c);
        }
    }
  }
}

/** n images [n, H, W, C] (or [n, H, W]) at once: a GridBuilder given them in one batch. */
export function imageGrid(data: Float32Array | number[], shape: number[], opts: GridOptions = {}): Canvas {
  const [n, ...hwc] = shape as [number, ...number[]];
  if ((shape.length !== 3 && shape.length !== 4) || (shape.length === 4 && hwc[2] !== 1 && hwc[2] !== 3))
    throw new Error(`imageGrid wants [n,H,W,1|3], got [${shape}]`);
  if (data.length !== shape.reduce((a, b) => a * b, 1))
    throw new Error(`imageGrid: ${data.length} values for shape [${shape}]`);
  const g = new GridBuilder(n, hwc, opts);
  g.add(data instanceof Float32Array ? data : Float32Array.from(data), n);
  return g.canvas;
}

// ------------------------------------------------------------------ wrappers over src/plot (older API)

const css = (c: RGB | undefined) => (c ? `rgb(${c[0]},${c[1]},${c[2]})` : undefined);

export interface ScatterSeries {
  /** interleaved x,y pairs */
  points: Float32Array | number[];
  label?: string;
  color?: RGB;
  /** dot radius in pixels (default 1) */
  radius?: number;
  alpha?: number;
}

/** PNG of a 2-D scatter plot (scatterSpec rendered by src/plot; await it, then savePng) */
export function scatterPlot(
  series: ScatterSeries[],
  opts: { width?: number; height?: number; title?: string } = {},
): Promise<Buffer> {
  const spec = scatterSpec(
    series.map((s, i) => ({
      name: s.label ?? `series ${i + 1}`,
      points: s.points,
      color: css(s.color),
      size: Math.PI * (s.radius ?? 1.4) ** 2,
      opacity: s.alpha,
    })),
    opts,
  );
  return plotToPng(spec);
}

export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
  color?: RGB;
}

/** PNG of line plots (linePlotSpec rendered by src/plot; await it, then savePng) */
export function linePlot(
  series: LineSeries[],
  opts: { width?: number; height?: number; title?: string; xlabel?: string; yRange?: [number, number] } = {},
): Promise<Buffer> {
  const spec = linePlotSpec(
    series.map((s) => ({ name: s.name, x: s.x, y: s.y, color: css(s.color) })),
    { ...opts, ...(opts.yRange ? { yDomain: opts.yRange } : {}) },
  );
  return plotToPng(spec);
}

// Drawing model outputs on canvases: image grids (model space -> [0, 1] by the data domain), 2-D scatter
// plots over a reference point cloud, density heatmaps, loss curves and bar charts.
import type { DataSpec } from '../src/browser/index.js';

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

export function canvas(w: number, h: number, css?: { w: number; h: number }): HTMLCanvasElement {
  const c = el('canvas', { width: String(w), height: String(h) });
  if (css) c.style.cssText = `width:${css.w}px;height:${css.h}px`;
  return c;
}

/** Image values in model space to display values in [0, 1]: binary/unit as they are, real min-max scaled. */
export function toDisplay(spec: DataSpec, v: Float32Array): Float32Array {
  if (spec.domain !== 'real') return Float32Array.from(v, (x) => Math.min(1, Math.max(0, x)));
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) if (Number.isFinite(x)) ((lo = Math.min(lo, x)), (hi = Math.max(hi, x)));
  const s = hi > lo ? hi - lo : 1;
  return Float32Array.from(v, (x) => (x - lo) / s);
}

/** n images [h, w, c] (display values) in a grid of `cols` columns, `scale` canvas pixels per pixel. */
export function drawImages(
  c: HTMLCanvasElement,
  shape: number[],
  values: Float32Array,
  n: number,
  cols: number,
  scale = 1,
): void {
  const [h, w, ch] = shape as [number, number, number];
  const rows = Math.ceil(n / cols);
  c.width = cols * (w + 1) * scale;
  c.height = rows * (h + 1) * scale;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(cols * (w + 1), rows * (h + 1));
  img.data.fill(255);
  for (let k = 0; k < n; k++) {
    const ox = (k % cols) * (w + 1);
    const oy = Math.floor(k / cols) * (h + 1);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = ((oy + y) * img.width + ox + x) * 4;
        const base = ((k * h + y) * w + x) * ch;
        for (let j = 0; j < 3; j++)
          img.data[p + j] = Math.round(255 * (1 - values[base + (ch === 3 ? j : 0)]!));
      }
  }
  // dark strokes on white: 1 = ink
  const tmp = canvas(img.width, img.height);
  tmp.getContext('2d')!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, c.width, c.height);
}

export interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** A square box holding most of the points (1st-99th percentile, padded). */
export function boxOf(points: Float32Array): Box {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i + 1 < points.length; i += 2)
    if (Number.isFinite(points[i]!) && Number.isFinite(points[i + 1]!))
      (xs.push(points[i]!), ys.push(points[i + 1]!));
  const q = (a: number[], p: number) => a.sort((u, v) => u - v)[Math.floor(p * (a.length - 1))] ?? 0;
  const [ax, bx, ay, by] = [q(xs, 0.01), q(xs, 0.99), q(ys, 0.01), q(ys, 0.99)];
  const half = (Math.max(bx - ax, by - ay) / 2) * 1.35 || 1;
  const cx = (ax + bx) / 2;
  const cy = (ay + by) / 2;
  return { x0: cx - half, x1: cx + half, y0: cy - half, y1: cy + half };
}

/** 2-D points: the reference cloud in grey, the samples in colour. */
export function drawScatter(
  c: HTMLCanvasElement,
  box: Box,
  samples: Float32Array,
  reference?: Float32Array,
  clear = true,
): void {
  const ctx = c.getContext('2d')!;
  if (clear) {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, c.width, c.height);
  }
  const dot = (pts: Float32Array, color: string, r: number) => {
    ctx.fillStyle = color;
    for (let i = 0; i + 1 < pts.length; i += 2) {
      const px = ((pts[i]! - box.x0) / (box.x1 - box.x0)) * c.width;
      const py = (1 - (pts[i + 1]! - box.y0) / (box.y1 - box.y0)) * c.height;
      ctx.fillRect(px - r / 2, py - r / 2, r, r);
    }
  };
  if (reference) dot(reference, 'rgba(0,0,0,0.12)', 2);
  dot(samples, 'rgba(200,60,20,0.7)', 3);
}

/** The grid points of a density heatmap over `box` (g x g, row 0 at the top). */
export function gridPoints(box: Box, g: number): Float32Array {
  const out = new Float32Array(g * g * 2);
  for (let r = 0; r < g; r++)
    for (let k = 0; k < g; k++) {
      out[(r * g + k) * 2] = box.x0 + ((k + 0.5) / g) * (box.x1 - box.x0);
      out[(r * g + k) * 2 + 1] = box.y1 - ((r + 0.5) / g) * (box.y1 - box.y0);
    }
  return out;
}

/** exp(log p) on the g x g grid as a blue heatmap (scaled to its maximum). */
export function drawHeat(c: HTMLCanvasElement, logp: Float32Array, g: number): void {
  const ctx = c.getContext('2d')!;
  let m = -Infinity;
  for (const v of logp) if (Number.isFinite(v)) m = Math.max(m, v);
  const cw = c.width / g;
  const chh = c.height / g;
  for (let r = 0; r < g; r++)
    for (let k = 0; k < g; k++) {
      const p = Number.isFinite(logp[r * g + k]!) ? Math.exp(logp[r * g + k]! - m) : 0;
      ctx.fillStyle = `rgba(30,80,200,${(0.85 * p).toFixed(3)})`;
      ctx.fillRect(k * cw, r * chh, cw + 1, chh + 1);
    }
}

/** A loss curve (values by step). */
export function drawCurve(c: HTMLCanvasElement, ys: number[], label: string): void {
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, c.height);
  const fin = ys.filter(Number.isFinite);
  if (fin.length < 2) return;
  const lo = Math.min(...fin);
  const hi = Math.max(...fin);
  ctx.strokeStyle = '#c33';
  ctx.beginPath();
  ys.forEach((y, i) => {
    const px = (i / (ys.length - 1)) * (c.width - 40) + 35;
    const py = c.height - 15 - ((y - lo) / (hi - lo || 1)) * (c.height - 25);
    if (i === 0) ctx.moveTo(px, py);
    else ctx.lineTo(px, py);
  });
  ctx.stroke();
  ctx.fillStyle = '#333';
  ctx.font = '10px sans-serif';
  ctx.fillText(hi.toFixed(2), 2, 12);
  ctx.fillText(lo.toFixed(2), 2, c.height - 12);
  ctx.fillText(`${label}, step ${ys.length}`, 40, c.height - 2);
}

/** Horizontal bars (e.g. class probabilities). */
export function drawBars(c: HTMLCanvasElement, values: ArrayLike<number>, labels: string[]): void {
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, c.height);
  const h = c.height / values.length;
  ctx.font = '11px sans-serif';
  for (let i = 0; i < values.length; i++) {
    ctx.fillStyle = '#36c';
    ctx.fillRect(20, i * h + 2, (c.width - 70) * values[i]!, h - 4);
    ctx.fillStyle = '#222';
    ctx.fillText(labels[i]!, 4, i * h + h - 5);
    ctx.fillText(values[i]!.toFixed(3), c.width - 45, i * h + h - 5);
  }
}

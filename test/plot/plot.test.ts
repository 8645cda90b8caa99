// Declarative plots: the specs are plain JSON, vega-lite compiles them, vega + resvg render them with real
// text (DejaVu Sans), and the data lands where the axes say it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import * as vega from 'vega';
import {
  compilePlot,
  densitySpec,
  histogramSpec,
  linePlotSpec,
  lossCurveSpec,
  lossDomain,
  plotFontFiles,
  plotToPng,
  plotToSvg,
  rocAuc,
  rocSpec,
  scatterSpec,
  svgToPng,
  type PlotSpec,
} from '../../src/plot/index.js';

const decode = (b: Buffer) => PNG.sync.read(b);
/** pixels within `tol` of an RGB color, inside an optional box [x0, y0, x1, y1) */
function countColor(p: PNG, rgb: number[], tol = 40, box = [0, 0, p.width, p.height]): number {
  let n = 0;
  for (let y = box[1]!; y < box[3]!; y++)
    for (let x = box[0]!; x < box[2]!; x++) {
      const i = (y * p.width + x) * 4;
      if (
        Math.abs(p.data[i]! - rgb[0]!) +
          Math.abs(p.data[i + 1]! - rgb[1]!) +
          Math.abs(p.data[i + 2]! - rgb[2]!) <=
        tol
      )
        n++;
    }
  return n;
}
const rngSeq = (seed: number) => () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;

const gauss = (n: number, mu: number, sd: number, seed: number) => {
  const u = rngSeq(seed);
  return Array.from(
    { length: n },
    () => mu + sd * Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u()),
  );
};

const specs: Record<string, PlotSpec> = {
  loss: lossCurveSpec([{ name: 'nll loss', x: [1, 2, 3, 4], y: [4, 2, 1.5, 1.2] }], { title: 'training' }),
  scatter: scatterSpec([{ name: 'data', points: [0, 0, 1, 1, 0.5, 0.2] }], { title: 'scatter' }),
  density: densitySpec({ values: [1, 2, 3, 4], nx: 2, ny: 2, xRange: [0, 1], yRange: [0, 1] }),
  roc: rocSpec([{ name: 'm', fpr: [0, 0.5, 1], tpr: [0, 0.8, 1] }]),
  hist: histogramSpec([{ name: 'a', values: [1, 2, 2, 3, 3, 3] }]),
};

test('every spec is plain JSON that vega-lite compiles to a vega spec with axes', async () => {
  for (const [name, spec] of Object.entries(specs)) {
    assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec, `${name}: not plain JSON`);
    const vg = (await compilePlot(spec)) as { axes?: unknown[]; marks?: { axes?: unknown[] }[] };
    const text = JSON.stringify(vg);
    assert.match(text, /"orient":"bottom"/, `${name}: no x axis`);
    assert.match(text, /"orient":"left"/, `${name}: no y axis`);
  }
});

test('the SVG carries real text: title, axis titles, legend entries', async () => {
  const svg = await plotToSvg(
    lossCurveSpec(
      [
        { name: 'nll loss', x: [1, 2, 3], y: [3, 2, 1] },
        { name: 'test nll', x: [1, 3], y: [2.5, 1.5] },
      ],
      { title: 'maf training' },
    ),
  );
  for (const s of ['maf training', 'step', 'loss (nats)', 'nll loss', 'test nll'])
    assert.ok(svg.includes(`>${s}</text>`), `missing text '${s}'`);
});

test('text is rasterized with DejaVu Sans (and not at all without a font)', async () => {
  assert.ok(plotFontFiles().length > 0, 'DejaVu Sans not found (Debian: fonts-dejavu-core)');
  const svg = await plotToSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'WWWWWWWW', fontSize: 30 },
    width: 300,
    height: 20,
    data: { values: [] },
    mark: 'point',
    config: { view: { stroke: null }, axis: { disable: true } },
  } as PlotSpec);
  const withFont = decode(await svgToPng(svg));
  const black = countColor(withFont, [0, 0, 0], 60);
  assert.ok(black > 300, `dark title pixels: ${black}`);
  const { Resvg } = await import('@resvg/resvg-js');
  const none = decode(
    new Resvg(svg, { font: { loadSystemFonts: false, fontFiles: [] }, background: 'white' }).render().asPng(),
  );
  assert.ok(countColor(none, [0, 0, 0], 60) < black / 10, 'without a font the title should not render');
});

test('line plot: the series color is drawn, PNG size is the SVG size times the scale', async () => {
  const spec = linePlotSpec([{ name: 'loss', x: [0, 1, 2, 3], y: [4, 2, 1, 0.5], color: '#0000ff' }], {
    width: 300,
    height: 200,
  });
  const svg = await plotToSvg(spec);
  const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
  const png = decode(await plotToPng(spec, { scale: 2 }));
  assert.equal(png.width, 2 * w!);
  assert.equal(png.height, 2 * h!);
  assert.ok(countColor(png, [0, 0, 255], 30) > 200);
});

test('lossDomain ignores the first 5% of steps', () => {
  const x = Array.from({ length: 100 }, (_, i) => i + 1);
  const y = x.map((s) => (s <= 4 ? 100 : 2 + 1 / s));
  const [lo, hi] = lossDomain([{ name: 'l', x, y }]);
  assert.ok(hi < 3 && lo > 1.9, `${lo} ${hi}`);
});

test('density heatmap: mass in the top-right cell is drawn top-right', async () => {
  // row j counts from the bottom: cell (i=1, j=1) is the top-right quadrant
  const spec = densitySpec(
    { values: [0, 0, 0, 1], nx: 2, ny: 2, xRange: [0, 1], yRange: [0, 1] },
    { width: 200, height: 200 },
  );
  const p = decode(await plotToPng(spec, { scale: 1 }));
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < p.height; y++)
    for (let x = 0; x < p.width; x++) {
      const i = (y * p.width + x) * 4;
      if (p.data[i]! < 40 && p.data[i + 1]! < 80 && p.data[i + 2]! > 90) {
        sx += x;
        sy += y;
        n++;
      }
    }
  assert.ok(n > 5000, `dark cells: ${n}`);
  // the plot area starts after the y axis on the left and ends before the legend on the right
  const svg = await plotToSvg(spec);
  const [, tx, ty] = /translate\((\d+(?:\.\d+)?),(\d+(?:\.\d+)?)\)/.exec(svg)!.map(Number);
  assert.ok(Math.abs(sx / n - (tx! + 150)) < 5, `x centroid ${sx / n}, expected ${tx! + 150}`);
  assert.ok(Math.abs(sy / n - (ty! + 50)) < 5, `y centroid ${sy / n}, expected ${ty! + 50}`);
});

test('ROC: trapezoidal AUC and the legend says it', async () => {
  assert.equal(rocAuc([0, 0, 1], [0, 1, 1]), 1);
  assert.equal(rocAuc([0, 1], [0, 1]), 0.5);
  assert.ok(Math.abs(rocAuc([0, 0.5, 1], [0, 0.8, 1]) - (0.5 * 0.4 + 0.5 * 0.9)) < 1e-12);
  const svg = await plotToSvg(rocSpec([{ name: 'nll', fpr: [0, 0.5, 1], tpr: [0, 0.8, 1] }]));
  assert.ok(svg.includes('>nll (AUC 0.650)</text>'));
});

test('histogram: counts add up to n, densities integrate to one per series', async () => {
  const a = gauss(500, 0, 1, 1);
  const b = gauss(300, 2, 0.5, 2);
  for (const density of [false, true]) {
    const spec = histogramSpec(
      [
        { name: 'a', values: a },
        { name: 'b', values: b },
      ],
      { density },
    );
    const vg = (await compilePlot(spec)) as vega.Spec;
    const view = new vega.View(vega.parse(vg), { renderer: 'none' });
    await view.runAsync();
    type Row = { height?: number; b0: number; b1: number; series: string };
    const rows = (vg.data ?? [])
      .map((d) => view.data(d.name) as Row[])
      .find((d) => d.length > 0 && d[0]!.height !== undefined)!;
    view.finalize();
    assert.ok(rows, 'binned data not found');
    for (const [name, n] of [
      ['a', 500],
      ['b', 300],
    ] as const) {
      const rs = rows.filter((r) => r.series === name);
      const total = rs.reduce((s, r) => s + (density ? r.height! * (r.b1 - r.b0) : r.height!), 0);
      assert.ok(Math.abs(total - (density ? 1 : n)) < 1e-9, `${name} ${density}: ${total}`);
    }
  }
});

test('scatter: non-finite points are left out, each series keeps its color', async () => {
  const spec = scatterSpec(
    [
      { name: 'data', points: [0, 0, NaN, 1, 1, 1], color: '#ff0000', size: 200, opacity: 1 },
      { name: 'samples', points: [0.5, 0.5, Infinity, 0], color: '#00ff00', size: 200, opacity: 1 },
    ],
    { width: 200, height: 200 },
  );
  const layers = (spec as { layer: { data: { values: unknown[] } }[] }).layer;
  assert.deepEqual(
    layers.map((l) => l.data.values.length),
    [2, 1],
  );
  const p = decode(await plotToPng(spec, { scale: 1 }));
  assert.ok(countColor(p, [255, 0, 0], 30) > 2 * 100);
  assert.ok(countColor(p, [0, 255, 0], 30) > 100);
});

// Rendering of the vega-lite specs of specs.ts: vega-lite compiles to vega, vega renders headless to SVG,
// resvg rasterizes the SVG to PNG with the fonts loaded explicitly (Debian fonts-dejavu-core), so text is
// the same on every machine. vega and vega-lite load on first use (they are slow to import).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { PlotSpec } from './specs.js';

/** where Debian's fonts-dejavu-core installs DejaVu Sans; GENMODELS_FONT_DIR overrides */
export const FONT_DIR = '/usr/share/fonts/truetype/dejavu';
export const FONT_FAMILY = 'DejaVu Sans';

/** the .ttf files resvg is given (the DejaVu Sans faces found), [] when none is installed */
export function plotFontFiles(): string[] {
  const dir = process.env.GENMODELS_FONT_DIR ?? FONT_DIR;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^DejaVuSans(-Bold|-Oblique|-BoldOblique)?\.ttf$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

let warned = false;

/** vega-lite spec -> vega spec (plain JSON as well) */
export async function compilePlot(spec: PlotSpec): Promise<object> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  // vega-lite's warnings go nowhere: the specs here are generated, and a warning is no error
  return vl.compile(spec, { logger: vega.logger(vega.None) }).spec;
}

/** vega-lite spec -> SVG markup (sizes in CSS pixels times `scale`) */
export async function plotToSvg(spec: PlotSpec, opts: { scale?: number } = {}): Promise<string> {
  const vega = await import('vega');
  const view = new vega.View(vega.parse((await compilePlot(spec)) as never), {
    renderer: 'none',
    logLevel: vega.Error,
  });
  try {
    return await view.toSVG(opts.scale ?? 1);
  } finally {
    view.finalize();
  }
}

/** SVG -> PNG with DejaVu Sans as the font of every text (sans-serif included) */
export async function svgToPng(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const fontFiles = plotFontFiles();
  if (!fontFiles.length && !warned) {
    warned = true;
    process.emitWarning(
      `no DejaVu Sans in ${process.env.GENMODELS_FONT_DIR ?? FONT_DIR} (Debian: apt-get install fonts-dejavu-core); plot text uses the system fonts`,
    );
  }
  const r = new Resvg(svg, {
    font: {
      fontFiles,
      loadSystemFonts: fontFiles.length === 0,
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
    background: 'white',
  });
  return r.render().asPng();
}

/** vega-lite spec -> PNG bytes (default scale 2: crisp on high-density screens and in READMEs) */
export async function plotToPng(spec: PlotSpec, opts: { scale?: number } = {}): Promise<Buffer> {
  return svgToPng(await plotToSvg(spec, { scale: opts.scale ?? 2 }));
}

/** render a spec to a PNG file (written atomically; an .svg name writes the SVG instead) */
export async function savePlot(file: string, spec: PlotSpec, opts: { scale?: number } = {}): Promise<void> {
  if (file.endsWith('.svg')) writeFileAtomic(file, await plotToSvg(spec, { scale: opts.scale ?? 1 }));
  else writeFileAtomic(file, await plotToPng(spec, opts));
}

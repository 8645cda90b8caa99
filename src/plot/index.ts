// Declarative plots (vega-lite specs) and their rendering to SVG / PNG.
export * from './specs.js';
export * from './render.js';

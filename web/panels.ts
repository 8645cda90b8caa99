// The playground's other panels: latent interpolation, draw-a-digit, and live training on a 2-D toy.
import * as gm from '../src/browser/index.js';
import type { Shipped } from './playground.js';
import {
  boxOf,
  canvas,
  drawBars,
  drawCurve,
  drawHeat,
  drawImages,
  drawScatter,
  el,
  gridPoints,
  toDisplay,
} from './render.js';

export interface Digits {
  n: number;
  shape: number[];
  labels: number[];
  pixels: string;
}

const tax = (t: gm.Taxonomy) =>
  `${t.family} · density ${t.density} · sampling ${t.sampling}${t.latent ? ' · latent' : ''}${t.conditional ? ' · conditional' : ''}`;

/** Digit i of the test set in [0, 1]. */
function digit(d: Digits, i: number): Float32Array {
  const raw = Uint8Array.from(atob(d.pixels), (c) => c.charCodeAt(0));
  return Float32Array.from(raw.subarray(i * 784, (i + 1) * 784), (v) => v / 255);
}

/** [0, 1] pixels to the model's space: binary data thresholded at 1/2 (as eval's test split), else as is. */
const toModel = (spec: gm.DataSpec, x: Float32Array) =>
  spec.domain === 'binary' ? Float32Array.from(x, (v) => (v > 0.5 ? 1 : 0)) : x;

const sameShape = (spec: gm.DataSpec, shape: number[]) =>
  spec.kind === 'image' && spec.shape.length === shape.length && spec.shape.every((v, i) => v === shape[i]);

export function interpPanel(models: Shipped[], d: Digits): void {
  const latent = models.filter((s) => s.model.encode && s.model.decode && sameShape(s.model.spec, d.shape));
  if (!latent.length) return;
  const sec = document.getElementById('interp')!;
  sec.hidden = false;
  for (const s of latent) {
    const a = el('input', { type: 'number', value: '0', min: '0', max: String(d.n - 1) });
    const b = el('input', { type: 'number', value: '1', min: '0', max: String(d.n - 1) });
    const t = el('input', { type: 'range', min: '0', max: '10', value: '5' });
    const strip = canvas(300, 40);
    const one = canvas(84, 84);
    const note = el('div', { class: 'note' });
    let path: gm.Arrays | null = null;
    const spec = s.model.spec;
    const redraw = async () => {
      path = await gm.interpolateArrays(
        s.model,
        toModel(spec, digit(d, Number(a.value))),
        toModel(spec, digit(d, Number(b.value))),
        11,
      );
      drawImages(strip, spec.shape, toDisplay(spec, path.values), 11, 11, 1);
      pick();
    };
    const pick = () => {
      if (!path) return;
      const i = Number(t.value);
      drawImages(one, spec.shape, toDisplay(spec, path.values.subarray(i * 784, (i + 1) * 784)), 1, 1, 3);
      note.textContent = `decode((1 - t) z_a + t z_b), t = ${(i / 10).toFixed(1)}`;
    };
    a.addEventListener('change', () => void redraw());
    b.addEventListener('change', () => void redraw());
    t.addEventListener('input', pick);
    sec.append(
      el(
        'div',
        { class: 'panel', 'data-interp': s.name },
        el('h3', {}, s.name),
        el('div', { class: 'tax' }, tax(s.model.taxonomy)),
        el('div', { class: 'controls' }, 'test digit a ', a, ' b ', b),
        el('div', { class: 'row' }, one, el('div', {}, 't ', t, strip)),
        note,
      ),
    );
    void redraw();
  }
}

export function drawPanel(models: Shipped[], d: Digits): void {
  const dens = models.filter(
    (s) => sameShape(s.model.spec, d.shape) && ['exact', 'bound'].includes(s.model.taxonomy.density),
  );
  if (!dens.length) return;
  const sec = document.getElementById('draw')!;
  sec.hidden = false;
  const pad = canvas(280, 280);
  pad.style.cssText = 'background:#000;cursor:crosshair;touch-action:none';
  const ctx = pad.getContext('2d')!;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, 280, 280);
  };
  clear();
  let down = false;
  pad.addEventListener('pointerdown', (e) => ((down = true), stroke(e)));
  pad.addEventListener('pointerup', () => ((down = false), void score()));
  pad.addEventListener('pointerleave', () => (down = false));
  pad.addEventListener('pointermove', (e) => down && stroke(e));
  function stroke(e: PointerEvent) {
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    ctx.arc(e.offsetX, e.offsetY, 11, 0, 2 * Math.PI);
    ctx.fill();
  }
  const table = el('table', { class: 'scores' });
  const bars = canvas(260, 200);
  const cond = dens.find((s) => s.model.taxonomy.conditional && (s.model.spec.numClasses ?? 0) > 1);
  /** the drawing as 28x28 in [0, 1] (10x10 average pooling) */
  const pixels = () => {
    const img = ctx.getImageData(0, 0, 280, 280).data;
    const x = new Float32Array(784);
    for (let r = 0; r < 28; r++)
      for (let c = 0; c < 28; c++) {
        let s = 0;
        for (let y = 0; y < 10; y++)
          for (let k = 0; k < 10; k++) s += img[((r * 10 + y) * 280 + c * 10 + k) * 4]!;
        x[r * 28 + c] = s / 100 / 255;
      }
    return x;
  };
  const load = (i: number) => {
    const x = digit(d, i);
    const small = canvas(28, 28);
    drawImages(
      small,
      [28, 28, 1],
      Float32Array.from(x, (v) => 1 - v),
      1,
      1,
      1,
    );
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, 28, 28, 0, 0, 280, 280);
    void score();
  };
  async function score() {
    const x = pixels();
    table.replaceChildren(
      el(
        'tr',
        {},
        el('th', {}, 'model'),
        el('th', {}, 'taxonomy'),
        el('th', {}, '-log p(x) nats'),
        el('th', {}, 'test mean'),
        el('th', {}, ''),
      ),
    );
    for (const s of dens) {
      const xm = toModel(s.model.spec, x);
      let nats: number;
      let what: string;
      if (s.model.taxonomy.conditional) {
        const r = await gm.classProbabilities(s.model, xm, 1);
        nats = -r.logMarginal[0]!;
        what = '-log Σ_y p(x|y)p(y)';
        if (s === cond) drawBars(bars, r.probs[0]!, [...Array(r.probs[0]!.length).keys()].map(String));
      } else {
        const [ll] = await gm.logLikelihoods(s.model, xm, 1);
        nats = -ll!.values[0]!;
        what = ll!.label;
      }
      const m = s.results?.metrics?.[0];
      const sd = m?.stderr !== undefined && s.results?.n ? m.stderr * Math.sqrt(s.results.n) : undefined;
      const outlier = m && sd !== undefined && nats > m.nats + 3 * sd;
      table.append(
        el(
          'tr',
          {},
          el('td', {}, s.name),
          el('td', { class: 'tax' }, `density ${s.model.taxonomy.density} (${what})`),
          el('td', {}, nats.toFixed(1)),
          el('td', {}, m ? `${m.nats.toFixed(1)} ± ${sd?.toFixed(1) ?? '?'}` : 'n/a'),
          el(
            'td',
            outlier ? { class: 'outlier' } : {},
            outlier ? 'outlier (> mean + 3 sd)' : m ? 'typical' : '',
          ),
        ),
      );
    }
  }
  const idx = el('input', { type: 'number', value: '0', min: '0', max: String(d.n - 1) });
  const loadBtn = el('button', {}, 'load test digit');
  const clearBtn = el('button', {}, 'clear');
  loadBtn.addEventListener('click', () => load(Number(idx.value)));
  clearBtn.addEventListener('click', () => (clear(), void score()));
  const right = el('div', {}, table);
  if (cond)
    right.append(
      el('div', { class: 'note' }, `p(y | x) by Bayes' rule with ${cond.name} (uniform prior):`),
      bars,
    );
  sec.append(
    el('div', { class: 'controls' }, 'draw with the mouse, or ', idx, loadBtn, clearBtn),
    el('div', { class: 'row', 'data-draw': '' }, pad, right),
  );
  load(0);
}

/** Live training on a 2-D toy: any registered model that takes the toy's data, chosen by its taxonomy. */
export function trainPanel(): void {
  const sec = document.getElementById('train')!;
  const spec = gm.loadToy('moons', { nTrain: 10, nTest: 10 }).spec;
  const kinds = gm.modelKinds().filter((k) => gm.modelEntry(k).accepts(spec) === null);
  const pick = el('select');
  for (const k of kinds) {
    const t = gm.modelTaxonomy(k);
    pick.append(el('option', { value: k }, `${k} (${t ? tax(t) : '?'})`));
  }
  // the default: an exact-density model that samples in one pass (its density can be drawn as it learns)
  const first = kinds.find((k) => {
    const t = gm.modelTaxonomy(k);
    return t?.density === 'exact' && t.sampling === 'direct';
  });
  if (first) pick.value = first;
  const data = el('select');
  for (const n of gm.TOY_NAMES) data.append(el('option', { value: n }, n));
  const start = el('button', {}, 'start');
  const reset = el('button', {}, 'reset');
  const curve = canvas(300, 160);
  const plot = canvas(300, 300);
  const note = el('div', { class: 'note' });
  let trainer: gm.ToyTrainer | null = null;
  let running = false;
  const losses: number[] = [];
  const make = () => {
    trainer?.dispose();
    trainer = new gm.ToyTrainer({
      model: pick.value,
      data: data.value,
      seed: 0,
      batchSize: 128,
      lr: 2e-3,
      dataOptions: { nTrain: 4000, nTest: 1000 },
    });
    losses.length = 0;
  };
  const lossOf = (r: { losses: Record<string, number> }) => Object.values(r.losses)[0] ?? NaN;
  const draw = async () => {
    if (!trainer) return;
    drawCurve(curve, losses, `${Object.keys(trainer.history.at(-1)?.losses ?? {})[0] ?? 'loss'}`);
    const ref = trainer.data.test.x;
    const box = boxOf(ref);
    const s = await gm.sampleArrays(trainer.model, 400, { seed: 1 });
    const ctx = plot.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, 300, 300);
    if (trainer.model.taxonomy.density === 'exact') {
      const g = 40;
      const [ll] = await gm.logLikelihoods(trainer.model, gridPoints(box, g), g * g);
      if (ll) drawHeat(plot, ll.values, g);
    }
    drawScatter(plot, box, s.values, ref, false);
  };
  /** n steps; returns the losses (the tests call it through window.playground.train) */
  const steps = async (n: number) => {
    if (!trainer) make();
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const l = lossOf(trainer!.step());
      losses.push(l);
      out.push(l);
    }
    await draw();
    return out;
  };
  const loop = async () => {
    while (running) {
      await steps(10);
      note.textContent = `step ${trainer!.history.length}, ${tax(trainer!.model.taxonomy)}`;
      await new Promise((r) => requestAnimationFrame(() => r(null)));
    }
  };
  start.addEventListener('click', () => {
    running = !running;
    start.textContent = running ? 'stop' : 'start';
    if (running) void loop();
  });
  reset.addEventListener('click', () => (make(), void draw()));
  pick.addEventListener('change', () => (make(), void draw()));
  data.addEventListener('change', () => (make(), void draw()));
  sec.append(
    el('div', { class: 'controls' }, 'model ', pick, ' data ', data, start, reset),
    el('div', { class: 'row', 'data-train': '' }, curve, plot),
    note,
  );
  make();
  void draw();
  (window as unknown as { playground: Record<string, unknown> }).playground.train = steps;
}

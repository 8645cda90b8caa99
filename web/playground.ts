// The playground page: picks a backend, loads every shipped pretrained model (pretrained/index.json), and
// builds the panels from each model's taxonomy and capabilities (never from its name): a gallery panel per
// model (seed, temperature for iterative samplers, label for conditional ones, step-by-step replay of
// iterative chains), latent interpolation (models with encode and decode), draw-a-digit (density models of
// the digit shape; Bayes' rule with a class-conditional one) and live training on a 2-D toy.
// window.playground exposes the same operations to the browser tests.
import * as gm from '../src/browser/index.js';
import { drawPanel, interpPanel, trainPanel } from './panels.js';
import { boxOf, canvas, drawImages, drawScatter, el, toDisplay } from './render.js';

export interface Shipped {
  name: string;
  model: gm.GenerativeModel;
  config: gm.CheckpointConfig;
  results: {
    n?: number;
    metrics?: { name: string; label: string; nats: number; stderr?: number }[];
    samples?: Record<string, unknown>;
  } | null;
  /** the toy's test points for 2-D models (reference cloud) */
  reference?: Float32Array;
}

export const state = {
  ready: false,
  /** the cheap models' first samples are drawn */
  autoDone: false,
  backend: '' as string,
  models: [] as Shipped[],
  firstSampleMs: null as number | null,
  errors: [] as string[],
};

export function taxonomyLine(t: gm.Taxonomy): string {
  return `${t.family} · density ${t.density} · sampling ${t.sampling}${t.latent ? ' · latent' : ''}${t.conditional ? ' · conditional' : ''}`;
}

function headline(s: Shipped): string {
  const r = s.results;
  const m = r?.metrics?.[0];
  if (m) return `test ${m.label}: ${m.nats.toFixed(2)} nats (n=${r?.n ?? '?'})`;
  const sm = r?.samples as { precision?: number; recall?: number; fid?: number } | undefined;
  if (sm?.fid !== undefined) return `FID ${sm.fid.toFixed(2)}`;
  const modes = (sm as { modes?: { covered: number; modes: number } } | undefined)?.modes;
  if (modes) return `modes covered ${modes.covered}/${modes.modes}, precision ${sm?.precision?.toFixed(3)}`;
  if (sm?.precision !== undefined)
    return `precision ${sm.precision.toFixed(3)} / recall ${sm.recall?.toFixed(3)}`;
  return '';
}

/**
 * The sampling defaults shipped with a pretrained model (config.json's pretrained.sample, set by
 * `genmodels pretrained add --steps N --sampler NAME`), e.g. 20 DDIM steps for an image diffusion model.
 */
function defaults(s: Shipped): gm.SampleOptions {
  const d = (
    s.config as { pretrained?: { sample?: { steps?: number; sampler?: string; temperature?: number } } }
  ).pretrained?.sample;
  return {
    ...(d?.steps !== undefined ? { steps: d.steps } : {}),
    ...(d?.sampler !== undefined ? { sampler: d.sampler } : {}),
    ...(d?.temperature !== undefined ? { temperature: d.temperature } : {}),
  };
}

const isImage = (spec: gm.DataSpec) => spec.kind === 'image' && spec.shape.length === 3;

/** Sample n and draw them; returns the result (the tests read it). */
async function sampleInto(
  s: Shipped,
  out: HTMLCanvasElement,
  o: gm.SampleOptions & { n: number; frames?: number },
): Promise<gm.SampleResult> {
  const { n, ...so } = o;
  const r = await gm.sampleArrays(s.model, n, so);
  show(s, out, r.values, n);
  // milliseconds since navigation start
  state.firstSampleMs ??= performance.now();
  return r;
}

function show(s: Shipped, out: HTMLCanvasElement, values: Float32Array, n: number): void {
  const spec = s.model.spec;
  if (isImage(spec)) drawImages(out, spec.shape, toDisplay(spec, values), n, Math.min(n, 8), 3);
  else if (spec.shape.length === 1 && spec.shape[0] === 2) {
    out.width = out.height = 300;
    drawScatter(out, boxOf(s.reference ?? values), values, s.reference);
  }
}

const autoQueue: { direct: boolean; run: () => Promise<void> }[] = [];

/** a long chain: iterative over more than 16 dimensions (e.g. a PixelCNN's 784 passes, an image diffusion) */
const longChain = (m: gm.GenerativeModel) =>
  m.taxonomy.sampling === 'iterative' && m.spec.shape.reduce((a, b) => a * b, 1) > 16;

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<
  number,
  { onFrame: (f: gm.Frame) => void; done: (r: gm.SampleResult) => void; fail: (e: Error) => void }
>();

/**
 * Sample a shipped model in the sampling worker (web/sampler-worker.ts): the page's thread stays free, and
 * onFrame sees each state of the chain as the sampler reports it, while it runs.
 */
export function sampleInWorker(
  name: string,
  n: number,
  opts: gm.SampleOptions & { frames?: number },
  onFrame: (f: gm.Frame) => void,
): Promise<gm.SampleResult> {
  if (!worker) {
    worker = new Worker(new URL('./sampler-worker.js', location.href), { type: 'module' });
    worker.onmessage = (e: MessageEvent) => {
      const m = e.data as { id: number; frame?: gm.Frame; result?: gm.SampleResult; error?: string };
      const p = pending.get(m.id);
      if (!p) return;
      if (m.frame) p.onFrame(m.frame);
      else {
        pending.delete(m.id);
        if (m.result) p.done(m.result);
        else p.fail(new Error(m.error ?? 'sampling worker failed'));
      }
    };
  }
  const id = nextId++;
  // the worker's backend: the page's when it runs in a worker without a DOM (wasm, cpu), else wasm
  const backend = state.backend === 'cpu' ? 'cpu' : 'wasm';
  const wasmPaths = new URL('./', location.href).href;
  return new Promise((done, fail) => {
    pending.set(id, { onFrame, done, fail });
    worker!.postMessage({ id, name, n, opts, backend, wasmPaths });
  });
}

function galleryPanel(s: Shipped): HTMLElement {
  const t = s.model.taxonomy;
  const spec = s.model.spec;
  const iterative = t.sampling === 'iterative';
  const seed = el('input', { type: 'number', value: '0', min: '0' });
  const dflt = defaults(s);
  const temp = el('input', {
    type: 'range',
    min: '0.1',
    max: '1.5',
    step: '0.05',
    value: String(dflt.temperature ?? 1),
  });
  const label = el('select');
  for (let k = 0; k < (spec.numClasses ?? 0); k++)
    label.append(el('option', { value: String(k) }, String(k)));
  const steps = el('input', { type: 'number', min: '1', placeholder: 'default' });
  if (dflt.steps !== undefined) steps.value = String(dflt.steps);
  const go = el('button', {}, 'sample');
  const out = canvas(300, 300);
  const scrub = el('input', { type: 'range', min: '0', max: '0', value: '0', disabled: '' });
  const note = el('div', { class: 'note' });
  const controls = el('div', { class: 'controls' }, 'seed ', seed);
  // SampleOptions.temperature is read by iterative samplers (autoregressive, diffusion, energy chains) and
  // by flows, which scale their base noise (z ~ N(0, T^2 I))
  const tempered = iterative || t.family === 'flow';
  if (tempered) controls.append(' temperature ', temp);
  if (iterative) controls.append(' steps ', steps);
  if (t.conditional) controls.append(' label ', label);
  controls.append(go);
  const n = isImage(spec) ? 8 : 300;
  let frames: gm.SampleResult['frames'];
  const run = async () => {
    go.disabled = true;
    note.textContent = 'sampling…';
    await new Promise((r) => setTimeout(r, 0));
    try {
      const so: gm.SampleOptions & { frames?: number } = {
        ...dflt,
        seed: Number(seed.value),
        ...(tempered ? { temperature: Number(temp.value) } : {}),
        ...(iterative ? { frames: 28 } : {}),
        ...(iterative && steps.value !== '' ? { steps: Number(steps.value) } : {}),
        ...(t.conditional ? { label: Number(label.value) } : {}),
      };
      let r: gm.SampleResult;
      if (longChain(s.model) && typeof Worker !== 'undefined') {
        // drawn live: each state as the worker's sampler reports it
        r = await sampleInWorker(s.name, n, so, (f) => {
          show(s, out, f.values, n);
          note.textContent = `building: step ${f.step} of ${f.total}`;
        });
        show(s, out, r.values, n);
        state.firstSampleMs ??= performance.now();
      } else r = await sampleInto(s, out, { n, ...so });
      frames = r.frames;
      if (frames?.length) {
        scrub.max = String(frames.length - 1);
        scrub.value = scrub.max;
        scrub.disabled = false;
      }
      note.textContent = `${n} samples in ${r.seconds.toFixed(2)} s (${(n / r.seconds).toFixed(1)}/s) on ${state.backend}`;
    } catch (e) {
      note.textContent = `error: ${(e as Error).message}`;
      state.errors.push(String(e));
    } finally {
      go.disabled = false;
    }
  };
  scrub.addEventListener('input', () => {
    const f = frames?.[Number(scrub.value)];
    if (f) {
      show(s, out, f.values, n);
      note.textContent = `chain state at step ${f.step} of ${f.total}`;
    }
  });
  go.addEventListener('click', () => void run());
  const panel = el(
    'div',
    { class: 'panel', 'data-model': s.name },
    el('h3', {}, `${s.name}`),
    el(
      'div',
      { class: 'tax' },
      `${s.config.model.kind} on ${s.config.data?.name ?? '?'} — ${taxonomyLine(t)}`,
    ),
    el('div', { class: 'result' }, headline(s)),
    controls,
    out,
  );
  if (iterative) panel.append(el('div', { class: 'controls' }, 'step by step ', scrub));
  panel.append(note);
  // cheap models sample once the page is ready (direct samplers first); long chains (e.g. a PixelCNN's
  // one pass per pixel) wait for the button
  const dims = spec.shape.reduce((a, b) => a * b, 1);
  if (!longChain(s.model)) autoQueue.push({ direct: !iterative, run });
  else note.textContent = `press sample: an iterative chain over ${dims} dimensions, drawn as it is built`;
  return panel;
}

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const prefer = q.get('backend') as gm.BrowserBackend | null;
  const info = await gm.initBrowserBackend({
    ...(prefer ? { prefer } : {}),
    wasmPaths: new URL('./', location.href).href,
  });
  state.backend = info.backend;
  document.getElementById('backend')!.textContent =
    `backend: ${info.backend}${info.device ? ` (${info.device})` : ''}` +
    (info.skipped.length ? ` — skipped ${info.skipped.join('; ')}` : '');
  const list = (await (await fetch('pretrained/index.json')).json()) as { name: string }[];
  for (const { name } of list) {
    const ck = await gm.loadModelFromUrl(`pretrained/${name}/`);
    // results.json: an eval result, or a reproduce result holding it under `eval`
    const res = ck.results as { eval?: unknown } | null;
    const results = (res?.eval ?? res) as Shipped['results'];
    const s: Shipped = { name, model: ck.model, config: ck.config, results };
    const toy = ck.config.data?.name;
    if (toy && gm.isToy(toy))
      s.reference = gm.loadToy(toy, { ...(ck.config.data?.options ?? {}) }).test.x.subarray(0, 2000);
    state.models.push(s);
  }
  const panels = document.getElementById('panels')!;
  for (const s of state.models) panels.append(galleryPanel(s));
  const digits = await (await fetch('mnist-test.json')).json();
  interpPanel(state.models, digits);
  drawPanel(state.models, digits);
  trainPanel();
  state.ready = true;
  if (q.get('auto') !== '0') {
    autoQueue.sort((a, b) => Number(b.direct) - Number(a.direct));
    for (const a of autoQueue) await a.run();
  }
  state.autoDone = true;
}

/** What the browser tests call. */
const api = {
  state,
  gm,
  /** n samples of a shipped model: whether all are finite, and the seconds it took */
  async sample(name: string, n: number, opts: gm.SampleOptions = {}) {
    const s = state.models.find((m) => m.name === name)!;
    const r = await gm.sampleArrays(s.model, n, { ...defaults(s), ...opts });
    return { finite: r.values.every(Number.isFinite), seconds: r.seconds, count: r.values.length };
  },
  /**
   * n samples of a shipped model in the sampling worker, drawn live in its panel: every state the page
   * received (with the time it arrived), the final samples, and the seconds the worker's sampler took
   */
  async sampleLive(name: string, n: number, opts: gm.SampleOptions & { frames?: number } = {}) {
    const s = state.models.find((m) => m.name === name)!;
    const out = document.querySelector<HTMLCanvasElement>(`[data-model="${name}"] canvas`)!;
    const frames: { step: number; total: number; at: number; values: number[] }[] = [];
    const t0 = performance.now();
    const r = await sampleInWorker(name, n, { ...defaults(s), ...opts }, (f) => {
      frames.push({ step: f.step, total: f.total, at: performance.now() - t0, values: [...f.values] });
      show(s, out, f.values, n);
    });
    return { frames, values: [...r.values], seconds: r.seconds, doneAt: performance.now() - t0 };
  },
  /** n samples of a shipped model on the page's thread: the values */
  async sampleValues(name: string, n: number, opts: gm.SampleOptions = {}) {
    const s = state.models.find((m) => m.name === name)!;
    return [...(await gm.sampleArrays(s.model, n, { ...defaults(s), ...opts })).values];
  },
  /** the model's estimates of log p(x) for rows x (model space) */
  async logLik(name: string, x: number[], n: number, y?: number[]) {
    const s = state.models.find((m) => m.name === name)!;
    const ll = await gm.logLikelihoods(s.model, Float32Array.from(x), n, y ? { y } : {});
    return ll.map((l) => ({ name: l.name, values: [...l.values] }));
  },
};
(window as unknown as { playground: typeof api }).playground = api;
main().catch((e) => {
  state.errors.push(String(e));
  document.getElementById('backend')!.textContent = `error: ${(e as Error).message}`;
  console.error(e);
});

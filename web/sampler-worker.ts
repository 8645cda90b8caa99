// The page's sampling worker: long iterative chains (an autoregressive model's pass per pixel, a diffusion
// model's denoising steps) run here, off the page's thread, and each state of the chain is posted as soon
// as the sampler reports it (SampleOptions.onState), so the page draws the sample being built live.
// Messages in: { id, name, n, opts, backend, wasmPaths }; out: { id, frame } ..., then { id, result } or
// { id, error }.
import * as gm from '../src/browser/index.js';

interface Request {
  id: number;
  name: string;
  n: number;
  opts: gm.SampleOptions & { frames?: number };
  backend: gm.BrowserBackend;
  wasmPaths: string;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(m: unknown): void;
};
let ready: Promise<gm.BrowserBackendInfo> | null = null;
const models = new Map<string, Promise<gm.GenerativeModel>>();

async function handle(q: Request): Promise<void> {
  ready ??= gm.initBrowserBackend({ prefer: q.backend, wasmPaths: q.wasmPaths });
  await ready;
  if (!models.has(q.name))
    models.set(
      q.name,
      gm.loadModelFromUrl(new URL(`pretrained/${q.name}/`, q.wasmPaths).href).then((c) => c.model),
    );
  const model = await models.get(q.name)!;
  const result = await gm.sampleArrays(model, q.n, {
    ...q.opts,
    onFrame: (frame) => scope.postMessage({ id: q.id, frame }),
  });
  scope.postMessage({ id: q.id, result });
}

// requests run one after another (one chain at a time keeps the states in order)
let queue = Promise.resolve();
scope.onmessage = (e) => {
  const q = e.data;
  queue = queue.then(() => handle(q).catch((err) => scope.postMessage({ id: q.id, error: String(err) })));
};

// Backend choice in a web page: WebGPU, then WebGL, then wasm (its .wasm binaries served beside the
// bundle), then plain JS. A GPU backend that runs on a software rasterizer (SwiftShader, llvmpipe: the
// fallback adapter of a machine without a GPU) is skipped unless asked for, since wasm is 10-20x faster
// there; the reason is returned so that the page can say which backend it uses and why.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tuneEngine } from '../backend/engine.js';

export type BrowserBackend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BROWSER_BACKENDS: BrowserBackend[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BrowserBackendInfo {
  backend: BrowserBackend;
  /** one line per backend tried before it, with why it was not used */
  skipped: string[];
  /** e.g. the WebGL renderer or the WebGPU adapter */
  device?: string;
}

export interface InitBrowserOptions {
  /** use this backend (no fallback) */
  prefer?: BrowserBackend;
  /** URL of the folder holding tfjs-backend-wasm*.wasm (default: beside the page) */
  wasmPaths?: string;
  /** allow a GPU backend on a software rasterizer (default false) */
  allowSoftwareGpu?: boolean;
}

const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|basic render/i;

interface GpuLike {
  requestAdapter(): Promise<{
    isFallbackAdapter?: boolean;
    info?: { vendor?: string; architecture?: string };
  } | null>;
}

/** Why WebGPU should not be used here (null: use it). */
async function webgpuWhy(allowSoftware: boolean): Promise<{ why: string | null; device?: string }> {
  const gpu = (navigator as unknown as { gpu?: GpuLike }).gpu;
  if (!gpu) return { why: 'navigator.gpu is absent' };
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return { why: 'no WebGPU adapter' };
  const device = [adapter.info?.vendor, adapter.info?.architecture].filter(Boolean).join(' ') || 'adapter';
  if (!allowSoftware && (adapter.isFallbackAdapter || SOFTWARE.test(device)))
    return { why: `software adapter (${device})`, device };
  return { why: null, device };
}

/** Why WebGL should not be used here (null: use it). */
function webglWhy(allowSoftware: boolean): { why: string | null; device?: string } {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2');
  if (!gl) return { why: 'no WebGL2 context' };
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const device = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  if (!allowSoftware && SOFTWARE.test(device)) return { why: `software renderer (${device})`, device };
  return { why: null, device };
}

/** Pick and initialize a backend; returns which one and why the ones before it were skipped. */
export async function initBrowserBackend(opts: InitBrowserOptions = {}): Promise<BrowserBackendInfo> {
  setWasmPaths(opts.wasmPaths ?? new URL('./', document.baseURI).href);
  tuneEngine(); // the same engine change as Node's initBackend (src/backend/engine.ts)
  const order = opts.prefer ? [opts.prefer] : BROWSER_BACKENDS;
  const allow = opts.allowSoftwareGpu ?? opts.prefer !== undefined;
  const skipped: string[] = [];
  for (const b of order) {
    let device: string | undefined;
    if (b === 'webgpu' || b === 'webgl') {
      const r = b === 'webgpu' ? await webgpuWhy(allow) : webglWhy(allow);
      device = r.device;
      if (r.why !== null) {
        skipped.push(`${b}: ${r.why}`);
        continue;
      }
    }
    let ok = false;
    try {
      ok = await tf.setBackend(b);
    } catch (e) {
      skipped.push(`${b}: ${(e as Error).message}`);
      continue;
    }
    if (!ok) {
      skipped.push(`${b}: failed to initialize`);
      continue;
    }
    await tf.ready();
    return { backend: b, skipped, ...(device !== undefined ? { device } : {}) };
  }
  throw new Error(`no tfjs backend could be initialized (${skipped.join('; ')})`);
}

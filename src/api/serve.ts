// The playground's static file server (node:http): the built page (dist/playground/, `npm run build:web`) at /,
// the shipped pretrained models (assets/pretrained/) at /pretrained/, and /pretrained/index.json listing
// them. Binds 127.0.0.1 unless told otherwise; serves only regular files inside its folders (no symlinks
// out, no dot files), GET and HEAD only.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';
import { listPretrained, pretrainedRoot } from './pretrained.js';

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.safetensors': 'application/octet-stream',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** dist/playground/ of this package (dist/src/api/ -> dist/playground/). */
export function webRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../playground');
}

export interface ServeOptions {
  host?: string;
  /** 0: any free port */
  port?: number;
  /** the page (default dist/playground/) */
  root?: string;
  /** the pretrained models (default assets/pretrained/) */
  pretrained?: string;
  /** one line per request */
  log?: (line: string) => void;
}

export interface Served {
  url: string;
  server: http.Server;
  close: () => Promise<void>;
}

/** The file under `root` that a URL path names, or null (outside it, a dot file, not a regular file). */
function resolveInside(root: string, rel: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return null;
  }
  const parts = decoded.split('/').filter((p) => p !== '');
  if (parts.some((p) => p.startsWith('.') || p.includes('\\') || p.includes('\0'))) return null;
  const file = path.join(root, ...parts);
  try {
    const real = fs.realpathSync(file);
    const realRoot = fs.realpathSync(root);
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return null;
    const st = fs.statSync(real);
    if (st.isDirectory()) return resolveInside(root, [...parts, 'index.html'].join('/'));
    return st.isFile() ? real : null;
  } catch {
    return null;
  }
}

/** Start the server; resolves once it listens, with the URL to open. */
export async function serve(opts: ServeOptions = {}): Promise<Served> {
  const root = path.resolve(opts.root ?? webRoot());
  const pre = path.resolve(opts.pretrained ?? pretrainedRoot());
  if (!fs.existsSync(path.join(root, 'index.html')))
    throw new UserError(`no playground at ${root}: build it first (npm run build:web)`);
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (code: number, type: string, body: string | Buffer) => {
      res.writeHead(code, {
        'Content-Type': type,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      opts.log?.(`${req.method} ${url.pathname} ${code}`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (url.pathname === '/pretrained/index.json') {
      const list = fs.existsSync(pre) ? listPretrained(pre) : [];
      return send(200, MIME['.json']!, JSON.stringify(list));
    }
    const [base, rel] = url.pathname.startsWith('/pretrained/')
      ? [pre, url.pathname.slice('/pretrained/'.length)]
      : [root, url.pathname];
    const file = resolveInside(base, rel);
    if (file === null) return send(404, 'text/plain', 'not found\n');
    const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    return send(200, type, fs.readFileSync(file));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL'
          ? new UserError(`cannot listen on ${host}:${opts.port ?? 8080}: ${e.code}`)
          : e,
      ),
    );
    server.listen(opts.port ?? 8080, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${port}/`,
    server,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

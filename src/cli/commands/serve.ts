// genmodels serve: api/serve.ts serve.
import { serve } from '../../api/serve.js';
import { UserError } from '../../core/errors.js';
import { intArg, parse, printHelp, type Command } from '../args.js';

const help = () => `usage: genmodels serve [--host H] [--port N]

  Serves the browser playground (built by npm run build:web into dist/playground/) and the shipped pretrained
  models (assets/pretrained/), and prints the URL to open. The models run in the page (tfjs: WebGPU, else
  WebGL, else wasm); nothing is computed by the server.
  --host H   address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it to the network)
  --port N   port (default 8080; 0 picks a free one)
  --quiet    do not log requests`;

async function run(argv: string[]): Promise<number> {
  const { values: o } = parse(
    argv,
    { host: { type: 'string' }, port: { type: 'string' }, quiet: { type: 'boolean' } },
    'serve',
  );
  if (o.help) return printHelp(command);
  const port = intArg(o.port, '--port', 0) ?? 8080;
  if (port > 65535) throw new UserError(`--port must be at most 65535, got ${port}`);
  const s = await serve({
    ...(o.host !== undefined ? { host: String(o.host) } : {}),
    port,
    ...(o.quiet ? {} : { log: (l: string) => process.stderr.write(l + '\n') }),
  });
  process.stdout.write(`genmodels playground: ${s.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void s.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

export const command: Command = {
  name: 'serve',
  usage: 'serve [--host H] [--port N]',
  summary: 'the browser playground on shipped pretrained models',
  help,
  run,
};

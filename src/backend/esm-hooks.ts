// Node module hooks used by gradients.ts and the conformance runner: tfjs-core's ESM files (dist/*.js)
// import siblings without the `.js` extension ('./gradients/Abs_grad'), which Node's ESM loader rejects,
// and the package has no "type": "module". Only files inside @tensorflow/tfjs-core/dist/ are affected.
interface Ctx {
  parentURL?: string;
  format?: string | null;
}
type Next = (specifier: string, context: Ctx) => Promise<{ url: string; format?: string | null }>;
type NextLoad = (url: string, context: Ctx) => Promise<unknown>;

const DIST = '/@tensorflow/tfjs-core/dist/';

// seedrandom is CommonJS whose named exports Node cannot detect; tfjs-core does `seedrandom.alea(...)`.
const seedrandomShim = (parent: string) =>
  'data:text/javascript,' +
  encodeURIComponent(
    `import { createRequire } from 'node:module'; const s = createRequire(${JSON.stringify(parent)})('seedrandom');` +
      'export default s; export const { alea, xor128, xorwow, xorshift7, xor4096, tychei } = s;',
  );

export async function resolve(specifier: string, context: Ctx, next: Next): Promise<unknown> {
  if (specifier === 'seedrandom' && context.parentURL?.includes(DIST)) {
    return { url: seedrandomShim(context.parentURL), format: 'module', shortCircuit: true };
  }
  const relative = specifier.startsWith('./') || specifier.startsWith('../') || specifier === '..';
  if (relative && context.parentURL?.includes(DIST) && !specifier.endsWith('.js')) {
    if (specifier.endsWith('/')) return next(specifier + 'index.js', context);
    try {
      return await next(specifier + '.js', context);
    } catch {
      return next(specifier + '/index.js', context);
    }
  }
  return next(specifier, context);
}

export async function load(url: string, context: Ctx, next: NextLoad): Promise<unknown> {
  if (url.includes(DIST) && url.endsWith('.js') && !url.endsWith('tf-core.node.js')) {
    return next(url, { ...context, format: 'module' });
  }
  return next(url, context);
}

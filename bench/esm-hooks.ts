// Node module-resolution hook used by bench/gradients.ts: tfjs-core's ESM files import siblings without the
// `.js` extension ('./gradients/Abs_grad'), which Node's ESM loader rejects. Retry those with `.js` appended,
// only for files inside @tensorflow/tfjs-core/dist/.
interface Ctx {
  parentURL?: string;
}
type Next = (specifier: string, context: Ctx) => Promise<unknown>;

export async function resolve(specifier: string, context: Ctx, next: Next): Promise<unknown> {
  try {
    return await next(specifier, context);
  } catch (e) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    if (relative && context.parentURL?.includes('/@tensorflow/tfjs-core/dist/'))
      return next(specifier + '.js', context);
    throw e;
  }
}

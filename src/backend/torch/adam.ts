// Fused, in-place Adam for tfjs's AdamOptimizer on the 'torch' backend.
//
// tfjs's AdamOptimizer.applyGradients spends 14 elementwise kernels per variable, each allocating a
// new tensor. On 'torch' the same update (Kingma & Ba 2015, Algorithm 1, in the form PyTorch uses)
//   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
//   theta <- theta - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// runs as 7 in-place ATen calls, exactly as torch.optim.Adam does. A variable (or moment) whose
// memory is shared with another tensor or view is updated out of place by tfjs's own code instead,
// so in-place updates can never be observed. Other backends are untouched.
import { AdamOptimizer, engine, getBackend, mul, tidy } from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs-core';

interface NamedTensor {
  name: string;
  tensor: Tensor;
}
import type { TorchBackend } from './backend.js';
import type { NTensor } from './native.js';

interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: { originalName: string; variable: Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: Variable }[];
  incrementIterations(): void;
}

let patched = false;

export function patchAdam(): void {
  if (patched) return;
  patched = true;
  const proto = AdamOptimizer.prototype as unknown as {
    applyGradients(g: NamedTensorMap | NamedTensor[]): void;
  };
  const original = proto.applyGradients;
  proto.applyGradients = function (this: AdamState, variableGradients: NamedTensorMap | NamedTensor[]) {
    if (getBackend() !== 'torch' || !fusedAdam(this, variableGradients)) {
      original.call(this, variableGradients);
    }
  };
}

/** True when it applied the update; false (nothing changed) when tfjs's own path must run. */
function fusedAdam(opt: AdamState, variableGradients: NamedTensorMap | NamedTensor[]): boolean {
  const b = engine().backend as unknown as TorchBackend;
  const N = b.N;
  const names = Array.isArray(variableGradients)
    ? variableGradients.map((v) => v.name)
    : Object.keys(variableGradients);
  const grads = names.map((name, i) =>
    Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name],
  );
  const vars = names.map((name) => engine().registeredVariables[name]);
  // moments are created lazily, as in tfjs
  names.forEach((name, i) => {
    const value = vars[i];
    opt.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tidy(() => zerosVar(value)) };
    opt.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tidy(() => zerosVar(value)) };
  });
  const owned = (t: Tensor | undefined): NTensor | null => {
    if (t === undefined) return null;
    // the backend's refCount counts every tensor on this dataId (tfjs shares dataIds for clones, variables)
    if (b.refCount(t.dataId) !== 1 || t.dtype !== 'float32') return null;
    const n = b.t(t);
    return N.unique(n) ? n : null;
  };
  const targets = names.map((_, i) => [
    owned(vars[i]),
    owned(opt.accumulatedFirstMoment[i].variable),
    owned(opt.accumulatedSecondMoment[i].variable),
  ]);
  // moments must be private; a shared parameter is replaced (assign) instead of overwritten
  if (
    targets.some(
      (t, i) => grads[i] != null && (t[1] === null || t[2] === null || vars[i].dtype !== 'float32'),
    )
  )
    return false;
  const replaced: [Variable, Tensor][] = [];

  const [acc1, acc2] = [opt.accBeta1.dataSync()[0], opt.accBeta2.dataSync()[0]];
  const bc1 = 1 - acc1;
  const bc2 = 1 - acc2;
  const { beta1: b1, beta2: b2, epsilon: eps, learningRate: lr } = opt;
  b.scoped(() => {
    targets.forEach(([p, m, v], i) => {
      if (grads[i] == null) return;
      const g = b.t(grads[i]);
      b.call(ops.mul_, [m, b1]);
      b.call(ops.add_, [m, g, 1 - b1]);
      b.call(ops.mul_, [v, b2]);
      b.call(ops.addcmul_, [v, g, g, 1 - b2]);
      const denom = b.call(ops.div, [b.call(ops.sqrt, [v]) as NTensor, Math.sqrt(bc2)]) as NTensor;
      b.call(ops.addS_, [denom, eps]);
      if (p !== null) b.call(ops.addcdiv_, [p, m, denom, -lr / bc1]);
      else {
        const next = b.call(ops.addcdiv, [b.t(vars[i]), m, denom, -lr / bc1]) as NTensor;
        replaced.push([vars[i], engine().makeTensorFromTensorInfo(b.out(next, 'float32'))]);
      }
    });
  });
  for (const [variable, value] of replaced) {
    variable.assign(value);
    value.dispose();
  }
  tidy(() => {
    opt.accBeta1.assign(mul(opt.accBeta1, b1));
    opt.accBeta2.assign(mul(opt.accBeta2, b2));
  });
  opt.incrementIterations();
  return true;
}

function zerosVar(value: Variable): Variable {
  // same as tfjs: zerosLike(value).variable(false)
  return (engine().runKernel('ZerosLike', { x: value }) as Tensor).variable(false);
}

/** In-place ATen operators used by the update (handles resolved on first use). */
const ops = new Proxy(
  {} as Record<'mul_' | 'add_' | 'addcmul_' | 'sqrt' | 'div' | 'addS_' | 'addcdiv_' | 'addcdiv', number>,
  {
    get(cache: Record<string, number>, key: string) {
      if (cache[key] === undefined) {
        const b = engine().backend as unknown as TorchBackend;
        const [name, overload] = SCHEMAS[key];
        cache[key] = b.N.op(name, overload);
      }
      return cache[key];
    },
  },
);
const SCHEMAS: Record<string, [string, string]> = {
  mul_: ['aten::mul_', 'Scalar'],
  add_: ['aten::add_', 'Tensor'],
  addcmul_: ['aten::addcmul_', ''],
  sqrt: ['aten::sqrt', ''],
  div: ['aten::div', 'Scalar'],
  addS_: ['aten::add_', 'Scalar'],
  addcdiv_: ['aten::addcdiv_', ''],
  addcdiv: ['aten::addcdiv', ''],
};

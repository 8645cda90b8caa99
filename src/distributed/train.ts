// The training loop's data-parallel hooks (src/train/types.ts DistributedHooks) over a ProcessGroup, as
// PyTorch's DistributedDataParallel: parameters (and optimizer / EMA state) broadcast from rank 0 once,
// then before every optimizer step of every objective the gradients are all-reduced. Each worker's loss is
// the mean over its rows of the global batch, so the global-batch mean is the sum over workers of
// weight * loss (weight = its rows / the batch's rows); the same weights give the gradients, the logged loss
// and the metrics. With the same data order and noise this is the single-process step on the global batch.
import * as tf from '@tensorflow/tfjs-core';
import type { Run } from '../train/setup.js';
import type { DistributedHooks } from '../train/types.js';
import type { ProcessGroup } from './group.js';

export function distributedHooks(pg: ProcessGroup): DistributedHooks {
  return {
    rank: pg.rank,
    size: pg.size,
    start(run: Run) {
      if (pg.size === 1) return;
      const vars = [...run.model.variables()];
      tf.tidy(() => {
        const got = pg.broadcast(vars.map(([, v]) => v));
        vars.forEach(([, v], i) => v.assign(got[i]!));
      });
      for (const opt of run.optimizers.values()) {
        const moments = [...opt.state().values()] as tf.Variable[]; // live variables
        if (moments.length)
          tf.tidy(() => {
            const got = pg.broadcast(moments);
            moments.forEach((v, i) => v.assign(got[i]!));
          });
        opt.t = pg.allreduceNumbers([pg.rank === 0 ? opt.t : 0])[0]!;
      }
      if (run.ema) {
        const shadow = [...run.ema.shadow.values()];
        tf.tidy(() => {
          const got = pg.broadcast(shadow);
          shadow.forEach((v, i) => v.assign(got[i]!));
        });
      }
    },
    reduce(loss, metrics, grads, weight) {
      const names = [...grads.keys()];
      const out = pg.allreduce([loss, ...metrics, ...names.map((n) => grads.get(n)!)], 'sum', weight);
      const k = 1 + metrics.length;
      return {
        loss: out[0] as tf.Scalar,
        metrics: out.slice(1, k) as tf.Scalar[],
        grads: new Map(names.map((n, i) => [n, out[k + i]!])),
      };
    },
    agreeStop(requested) {
      return pg.size > 1 ? pg.allreduceNumbers([requested ? 1 : 0], 'max')[0]! > 0 : requested;
    },
    sum(values) {
      return pg.size > 1 ? pg.allreduceNumbers(values) : values;
    },
  };
}

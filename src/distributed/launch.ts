// Data-parallel runs the way torchrun starts them. The launcher (`genmodels train ... --nproc N`) spawns N
// workers on this machine, each the same command with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and
// MASTER_PORT in its environment and GENMODELS_THREADS = this machine's threads / N. Across machines the
// same command runs on each with --nnodes M --node-rank r --master host:port (rank = r * N + local rank).
// A worker reads those variables (workerFromEnv) and joins the c10d process group.
//
// Failure: a worker that exits with an error makes the launcher stop the others (SIGTERM, then SIGKILL)
// after GRACE_MS; a worker that hangs makes the others' next collective fail at the group's timeout
// (GENMODELS_DIST_TIMEOUT seconds, default 300). Ctrl-C reaches the launcher alone (the workers have their
// own process group) and is forwarded once: every worker finishes the step, they agree to stop at the same
// step, rank 0 saves the checkpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { UserError } from '../core/model.js';
import type { DistributedHooks } from '../train/types.js';
import { distributedUnavailable, ProcessGroup } from './group.js';
import { distributedHooks } from './train.js';

export const GRACE_MS = 5000;
export const DEFAULT_TIMEOUT_S = 300;

export interface LaunchOptions {
  /** workers on this machine */
  nproc: number;
  nnodes?: number;
  nodeRank?: number;
  /** host:port of rank 0's rendezvous (default: 127.0.0.1 and a free port, for one machine) */
  master?: string;
  /** the command each worker runs: [script, ...args] after node's own path */
  argv: string[];
  /** threads of this machine split over its workers (default: GENMODELS_THREADS, else the cores) */
  threads?: number;
  log?: (line: string) => void;
}

/** host and port of `host:port` (a UserError when malformed) */
export function parseMaster(s: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535))
    throw new UserError(`--master must be host:port (port 1-65535), got '${s}'`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Spawn the workers, wait for them; the exit status is the first failing worker's (0 when all succeed). */
export async function launchWorkers(o: LaunchOptions): Promise<number> {
  const why = distributedUnavailable();
  if (why) throw new UserError(`--nproc: ${why}`);
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  if (!Number.isInteger(o.nproc) || o.nproc < 1) throw new UserError(`--nproc must be a positive integer`);
  if (!Number.isInteger(nnodes) || nnodes < 1) throw new UserError(`--nnodes must be a positive integer`);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes)
    throw new UserError(`--node-rank must be in 0..${nnodes - 1}`);
  if (nnodes > 1 && !o.master)
    throw new UserError(`--nnodes ${nnodes} needs --master host:port (rank 0's node)`);
  const { host, port } = o.master ? parseMaster(o.master) : { host: '127.0.0.1', port: await freePort() };
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const total = o.threads ?? (Number(process.env.GENMODELS_THREADS) || os.availableParallelism());
  const threads = Math.max(1, Math.floor(total / o.nproc));
  const world = nnodes * o.nproc;
  log(
    `launching ${o.nproc} worker${o.nproc > 1 ? 's' : ''} x ${threads} thread${threads > 1 ? 's' : ''}` +
      (nnodes > 1 ? ` on node ${nodeRank} of ${nnodes}` : '') +
      ` (world size ${world}, rendezvous ${host}:${port})`,
  );
  const children: ChildProcess[] = [];
  let firstFailure: number | null = null;
  let interrupted = false;
  let stopTimer: NodeJS.Timeout | null = null;
  const stopOthers = () => {
    if (stopTimer) return;
    stopTimer = setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      setTimeout(() => {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }, GRACE_MS).unref();
    }, GRACE_MS);
    stopTimer.unref();
  };
  const exits = [];
  for (let local = 0; local < o.nproc; local++) {
    const rank = nodeRank * o.nproc + local;
    const child = spawn(process.execPath, o.argv, {
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true, // its own process group: a terminal's Ctrl-C reaches the launcher, which forwards it once
      env: {
        ...process.env,
        RANK: String(rank),
        LOCAL_RANK: String(local),
        WORLD_SIZE: String(world),
        LOCAL_WORLD_SIZE: String(o.nproc),
        MASTER_ADDR: host,
        MASTER_PORT: String(port),
        GENMODELS_THREADS: String(threads),
      },
    });
    children.push(child);
    exits.push(
      new Promise<void>((resolve) =>
        child.on('exit', (code, signal) => {
          const status = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
          if (status !== 0 && !interrupted) {
            if (firstFailure === null) {
              firstFailure = status;
              log(
                `genmodels: error: worker ${rank} ${signal ? `was killed by ${signal}` : `exited with status ${status}`}; stopping the others`,
              );
            }
            stopOthers();
          }
          resolve();
        }),
      ),
    );
  }
  const forward = (sig: NodeJS.Signals) => () => {
    interrupted = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    await Promise.all(exits);
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    if (stopTimer) clearTimeout(stopTimer);
  }
  if (interrupted) return children.map((c) => c.exitCode ?? 130).find((c) => c !== 0) ?? 130;
  return firstFailure ?? 0;
}

export interface Worker {
  readonly group: ProcessGroup;
  readonly hooks: DistributedHooks;
}

/** The process group of a worker started by a launcher (torchrun's variables), or null outside one. */
export function workerFromEnv(env: NodeJS.ProcessEnv = process.env): Worker | null {
  if (env.WORLD_SIZE === undefined || env.RANK === undefined) return null;
  const size = Number(env.WORLD_SIZE);
  const rank = Number(env.RANK);
  if (!Number.isInteger(size) || size < 1 || !Number.isInteger(rank) || rank < 0 || rank >= size)
    throw new UserError(`RANK=${env.RANK} WORLD_SIZE=${env.WORLD_SIZE}: need 0 <= RANK < WORLD_SIZE`);
  const host = env.MASTER_ADDR ?? '127.0.0.1';
  const port = Number(env.MASTER_PORT ?? 29500);
  const timeoutS = Number(env.GENMODELS_DIST_TIMEOUT ?? DEFAULT_TIMEOUT_S);
  if (!(timeoutS > 0)) throw new UserError(`GENMODELS_DIST_TIMEOUT must be a positive number of seconds`);
  const group = ProcessGroup.init({ host, port, rank, size, timeoutMs: timeoutS * 1000 });
  return { group, hooks: distributedHooks(group) };
}

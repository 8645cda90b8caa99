// Stopping a run from outside: an AbortSignal, or SIGINT / SIGTERM / SIGHUP (Ctrl-C, `kill`, a closed
// terminal). The loop finishes the current step, saves a checkpoint and reports the signal; a second signal
// exits at once with the shell's code for it.
import type { StopSignal } from './types.js';

/** exit status of a process stopped by each signal (128 + the signal number), as shells report it */
export const SIGNAL_EXIT_CODES: Record<StopSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** the CLI's exit status for a train() result: 0, or 130 / 143 / 129 when a signal stopped it */
export function exitCodeFor(res: { interrupted: boolean; signal?: StopSignal }): number {
  if (!res.interrupted) return 0;
  return SIGNAL_EXIT_CODES[res.signal ?? 'SIGINT'];
}

export interface StopWatch {
  /** a stop was requested (signal or abort) */
  readonly requested: boolean;
  /** the signal that requested it, if any */
  readonly signal: StopSignal | undefined;
  dispose(): void;
}

export function watchStop(
  opts: { signal?: AbortSignal; handleSignals?: boolean },
  log: (s: string) => void,
): StopWatch {
  let requested = opts.signal?.aborted ?? false;
  let signal: StopSignal | undefined;
  const onAbort = () => {
    requested = true;
  };
  opts.signal?.addEventListener('abort', onAbort);
  const handlers = new Map<StopSignal, () => void>();
  if (opts.handleSignals) {
    for (const sig of Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]) {
      const h = () => {
        if (signal !== undefined) process.exit(SIGNAL_EXIT_CODES[sig]);
        signal = sig;
        requested = true;
        try {
          log(
            `\n${sig === 'SIGINT' ? 'interrupt' : sig}: finishing the current step and saving a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : 'a signal'} again to quit at once)`,
          );
        } catch {
          // after SIGHUP the terminal may be gone
        }
      };
      handlers.set(sig, h);
      process.on(sig, h);
    }
  }
  return {
    get requested() {
      return requested;
    },
    get signal() {
      return signal;
    },
    dispose() {
      opts.signal?.removeEventListener('abort', onAbort);
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}

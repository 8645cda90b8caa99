// Run directories: a marker file says "this folder is a genmodels run" (so --force never deletes anything
// else), and a lock file keeps a second training out of a run that is being written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../core/model.js';
import { writeError, writeFileAtomic } from '../io/atomic.js';
import { oneLine, readRegularFile } from '../io/guard.js';

/** The marker file in every run directory. */
export const RUN_MARKER = '.genmodels-run';
/** The lock file held by the process writing a run directory. */
export const RUN_LOCK = '.genmodels-lock';
export const RUN_FORMAT = 'genmodels-run';

export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO time the lock was taken */
  startedAt: string;
}

export interface RunDirClaim {
  /** absolute path of the run directory */
  dir: string;
  /** true when this call created the directory (a failed run may remove it again) */
  created: boolean;
  /** with force: the entries (relative to dir) that were removed */
  removed?: string[];
  /** remove the lock (idempotent); call when the training ends, however it ends */
  release(): void;
}

/** A run directory: it has the marker, or (runs written before the marker existed) a checkpoint config. */
export function isRunDir(dir: string): boolean {
  if (fs.existsSync(path.join(dir, RUN_MARKER))) return true;
  for (const c of ['checkpoint', 'checkpoint.prev']) {
    try {
      const file = path.join(dir, c, 'config.json');
      const cfg = JSON.parse(readRegularFile(file, { maxBytes: 64 << 20 }).toString('utf8'));
      if (cfg?.format === 'genmodels-checkpoint') return true;
    } catch {
      // not a checkpoint; try the next
    }
  }
  return false;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readLock(file: string): LockInfo | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    return typeof v?.pid === 'number' && typeof v.hostname === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** A lock is stale when its process is dead (same host), or it is unreadable (a crash while writing it). */
function isStale(info: LockInfo | null): boolean {
  if (info === null) return true;
  return info.hostname === os.hostname() && !pidAlive(info.pid);
}

/** Take the lock of `dir` (O_EXCL create; a stale lock is taken over). Returns the release function. */
export function lockRunDir(dir: string): () => void {
  const file = path.join(dir, RUN_LOCK);
  const me: LockInfo = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() };
  const body = JSON.stringify(me) + '\n';
  for (let attempt = 0; attempt < 5; attempt++) {
    // write the content to a temp file and link it into place: link fails when the lock exists (O_EXCL
    // semantics) and the lock is never seen half-written
    const tmp = path.join(dir, `${RUN_LOCK}.${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      fs.writeFileSync(tmp, body, { flag: 'wx' });
      fs.linkSync(tmp, file);
      fs.rmSync(tmp, { force: true });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        const cur = readLock(file);
        if (cur && cur.pid === me.pid && cur.startedAt === me.startedAt) fs.rmSync(file, { force: true });
      };
      // a process.exit() anywhere (e.g. after a second Ctrl-C) still removes the lock
      process.on('exit', release);
      return release;
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(e, file);
    }
    const held = readLock(file);
    if (!isStale(held)) {
      throw new UserError(
        `${dir} is in use by another training (pid ${held!.pid} on ${oneLine(held!.hostname, 60)} since ${oneLine(held!.startedAt, 40)}); wait for it to end, or remove ${file} if that process is gone`,
      );
    }
    // stale: move it aside under a unique name, and only then look at what was moved, so two processes
    // taking over the same stale lock cannot both remove a fresh one
    const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(file, aside);
    } catch {
      continue; // someone else moved it; retry
    }
    const moved = readLock(aside);
    if (moved && !isStale(moved)) {
      // we moved a live lock taken in between: put it back (link fails if yet another one appeared)
      try {
        fs.linkSync(aside, file);
      } catch {
        // a newer lock exists; the loop will report it
      }
    }
    fs.rmSync(aside, { force: true });
  }
  throw new UserError(`could not take the lock ${file} (contended); retry`);
}

function writeMarker(dir: string): void {
  writeFileAtomic(
    path.join(dir, RUN_MARKER),
    JSON.stringify({ format: RUN_FORMAT, version: 1, createdAt: new Date().toISOString() }) + '\n',
  );
}

/**
 * Claim `dir` for a training run.
 * - absent or empty: create it with the marker;
 * - `resume`: it must be a run directory (see isRunDir; the marker is added to older runs);
 * - `force`: a run directory is emptied (the entries removed are returned); anything else is refused;
 * - otherwise an existing, non-empty directory is refused.
 * In every case the lock is taken first: a directory another live process is writing is refused.
 */
export function claimRunDir(dir: string, opts: { force?: boolean; resume?: boolean } = {}): RunDirClaim {
  const abs = path.resolve(dir);
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(e, abs);
  }
  if (st && !st.isDirectory()) throw new UserError(`${dir} exists and is not a directory`);
  const entries = st ? fs.readdirSync(abs) : [];
  const empty = entries.length === 0;
  const run = !empty && isRunDir(abs);
  if (opts.resume && !run)
    throw new UserError(
      `${dir} is not a genmodels run directory (no ${RUN_MARKER}, no checkpoint); cannot resume`,
    );
  if (!opts.resume && !empty) {
    if (!opts.force)
      throw new UserError(
        `${dir} already exists; continue it with --resume ${dir}, or pass --force to replace it`,
      );
    if (!run)
      throw new UserError(
        `${dir} is not a genmodels run directory (no ${RUN_MARKER}, no checkpoint/config.json): --force replaces only run directories; choose another --out or remove it yourself`,
      );
  }
  try {
    fs.mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw writeError(e, path.join(abs, RUN_MARKER));
  }
  const release = lockRunDir(abs);
  try {
    let removed: string[] | undefined;
    if (opts.force && !opts.resume && !empty) {
      removed = fs
        .readdirSync(abs)
        .filter((n) => n !== RUN_LOCK)
        .sort();
      for (const n of removed) fs.rmSync(path.join(abs, n), { recursive: true, force: true });
    }
    if (!fs.existsSync(path.join(abs, RUN_MARKER))) writeMarker(abs);
    return { dir: abs, created: !st, ...(removed ? { removed } : {}), release };
  } catch (e) {
    release();
    throw writeError(e, abs);
  }
}

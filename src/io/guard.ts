// Reading untrusted files safely: only regular files (never a FIFO or device that would block or stream
// forever), optionally only inside one folder (symlinks that leave it are refused), with a size cap checked
// before anything is allocated; and (re-exported from oneline.ts) `oneLine` for error messages that quote
// file content.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/errors.js';

import { oneLine } from './oneline.js';

export { oneLine };

const KIND = (st: fs.Stats): string =>
  st.isDirectory()
    ? 'a directory'
    : st.isFIFO()
      ? 'a FIFO'
      : st.isCharacterDevice() || st.isBlockDevice()
        ? 'a device'
        : st.isSocket()
          ? 'a socket'
          : 'not a regular file';

function codeOf(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? oneLine((e as Error)?.message ?? String(e));
}

export interface ReadOptions {
  /** refuse files larger than this many bytes (checked on the file size, before reading) */
  maxBytes: number;
  /** the file (after resolving symlinks) must lie inside this folder */
  within?: string;
  /** how to name the file in messages (default: its path) */
  what?: string;
}

/** Check that `file` is a regular file (inside `within`, if given) and return its size in bytes. */
export function statRegularFile(file: string, opts: Omit<ReadOptions, 'maxBytes'> = {}): number {
  const what = opts.what ?? file;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    throw new UserError(`cannot read ${what} (${codeOf(e)})`);
  }
  if (st.isSymbolicLink() || opts.within !== undefined) {
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch (e) {
      throw new UserError(`${what} is a broken symbolic link (${codeOf(e)})`);
    }
    if (opts.within !== undefined) {
      let root: string;
      try {
        root = fs.realpathSync(opts.within);
      } catch (e) {
        throw new UserError(`cannot read ${opts.within} (${codeOf(e)})`);
      }
      const rel = path.relative(root, real);
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel))
        throw new UserError(`${what} points outside ${opts.within}; refused`);
    }
    st = fs.statSync(real);
  }
  if (!st.isFile()) throw new UserError(`${what} is ${KIND(st)}, not a regular file; refused`);
  return st.size;
}

/** Read a whole regular file, bounded (see ReadOptions). Never blocks on a FIFO. */
export function readRegularFile(file: string, opts: ReadOptions): Buffer {
  const what = opts.what ?? file;
  const size = statRegularFile(file, opts);
  if (size > opts.maxBytes)
    throw new UserError(`${what} has ${size} bytes, more than the limit of ${opts.maxBytes}; refused`);
  let fd: number;
  try {
    // O_NONBLOCK: if the file was swapped for a FIFO after the check, open does not wait for a writer
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new UserError(`cannot read ${what} (${codeOf(e)})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${what} is ${KIND(st)}, not a regular file; refused`);
    if (st.size > opts.maxBytes)
      throw new UserError(`${what} has ${st.size} bytes, more than the limit of ${opts.maxBytes}; refused`);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = fs.readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === buf.length ? buf : buf.subarray(0, off);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read ${what} (${codeOf(e)})`);
  } finally {
    fs.closeSync(fd);
  }
}

// Atomic file writes: write a temp file in the same directory, fsync it, rename over the target, fsync
// the directory. A crash leaves either the old file or the new one, never a half-written one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../core/model.js';

/**
 * A failed write as a one-line UserError naming the path: a full disk (ENOSPC, EDQUOT), a read-only or
 * unwritable directory (EROFS, EACCES, EPERM), a missing directory. Other errors are returned unchanged.
 */
export function writeError(e: unknown, file: string): unknown {
  if (e instanceof UserError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const dir = path.dirname(path.resolve(file));
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new UserError(`disk full writing ${file} (${code}); free space and retry`);
    case 'EROFS':
      return new UserError(`cannot write ${file}: ${dir} is on a read-only file system (EROFS)`);
    case 'EACCES':
    case 'EPERM':
      return new UserError(`cannot write ${file}: ${dir} is read-only or not writable by you (${code})`);
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EEXIST': // mkdir of a folder where a file is
      return new UserError(`cannot write ${file}: ${dir} does not exist or is not a directory (${code})`);
    default:
      return e;
  }
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Remove a file or folder if it is there; never throws (used while handling another error). */
export function removeQuietly(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    // nothing to remove, or the parent is not a directory
  }
}

/** Write `data` to a file and fsync it (no rename). */
export function writeFileSynced(file: string, data: Uint8Array | string): void {
  const fd = fs.openSync(file, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function tempName(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/**
 * Atomically replace `file` with `data`. On any failure the temp file is removed and the old file is
 * untouched; a full disk or a read-only directory is a UserError naming the path (see writeError).
 * `write` replaces the low-level write (tests inject failures with it).
 */
export function writeFileAtomic(
  file: string,
  data: Uint8Array | string,
  write: (file: string, data: Uint8Array | string) => void = writeFileSynced,
): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = tempName(file);
  try {
    fs.mkdirSync(dir, { recursive: true });
    write(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    throw writeError(e, file);
  }
  fsyncDir(dir);
}

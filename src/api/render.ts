// Where samples go, batch by batch, with bounded memory: CSV rows appended to a temp file (renamed into place
// when complete; stdout when no file is given), a PNG grid painted image by image into one canvas, a 2-D
// scatter from the points kept (at most LIMITS.scatterPoints). The rendering calls (src/io/png.ts) are here
// and only here in src/api.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { UserError } from '../core/model.js';
import { fsyncDir, tempName } from '../io/atomic.js';
import { GridBuilder, savePng, scatterPlot, type GridOptions } from '../io/png.js';

export { GridBuilder };

/** What one sample / interpolate call may produce (the commands' help states these). */
export const LIMITS = {
  /** images in one PNG grid */
  gridImages: 4096,
  /** points in one 2-D scatter PNG */
  scatterPoints: 200_000,
  /** rows in one CSV */
  csvRows: 10_000_000,
  /** interpolate --steps */
  interpolateSteps: 256,
} as const;

export type OutputFormat = 'png' | 'csv';

/** The format an output file's extension asks for; anything but .png / .csv, or a directory that does not
 *  exist, is a UserError (checked before any sampling). */
export function outputFormat(file: string, flag = '--out'): OutputFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.png' && ext !== '.csv')
    throw new UserError(`${flag} ${file}: unknown extension '${ext}' (use .png or .csv)`);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new UserError(`${flag} ${file}: directory ${dir} does not exist`);
  return ext === '.png' ? 'png' : 'csv';
}

/** Receives display values batch by batch; finish() writes the file, abort() leaves nothing behind. */
export interface Sink {
  add(values: Float32Array, n: number): Promise<void>;
  finish(): void | Promise<void>;
  abort(): void;
}

/** CSV rows of D values (6 significant digits), to `file` (atomically, when complete) or stdout. */
export function csvSink(file: string | undefined, D: number): Sink {
  const tmp = file !== undefined ? tempName(file) : undefined;
  let fd: number | undefined;
  try {
    fd = tmp !== undefined ? fs.openSync(tmp, 'w') : undefined;
  } catch (e) {
    throw new UserError(`--out ${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let open = true;
  const close = () => {
    if (open && fd !== undefined) fs.closeSync(fd);
    open = false;
  };
  return {
    async add(v, n) {
      const lines: string[] = new Array<string>(n);
      for (let i = 0; i < n; i++)
        lines[i] = Array.from(v.subarray(i * D, (i + 1) * D), (x) => String(Number(x.toPrecision(6)))).join(
          ',',
        );
      const chunk = lines.join('\n') + '\n';
      if (fd !== undefined) {
        const buf = Buffer.from(chunk, 'utf8');
        let off = 0;
        while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
      } else if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    },
    finish() {
      if (fd === undefined) return;
      fs.fsyncSync(fd);
      close();
      fs.renameSync(tmp!, file!);
      fsyncDir(path.dirname(path.resolve(file!)));
    },
    abort() {
      close();
      if (tmp !== undefined) fs.rmSync(tmp, { force: true });
    },
  };
}

/** A PNG grid of n images of `shape` (n <= LIMITS.gridImages). */
export function gridSink(file: string, n: number, shape: number[], opts: GridOptions = {}): Sink {
  if (n > LIMITS.gridImages)
    throw new UserError(
      `a PNG grid holds at most ${LIMITS.gridImages} images (asked for ${n}); use a .csv file`,
    );
  const grid = new GridBuilder(n, shape, opts);
  return {
    add: async (v, k) => grid.add(v, k),
    finish: () => savePng(file, grid.canvas),
    abort: () => {},
  };
}

/** A scatter PNG of n 2-D points (n <= LIMITS.scatterPoints). */
export function scatterSink(file: string, n: number, title: string): Sink {
  if (n > LIMITS.scatterPoints)
    throw new UserError(
      `a scatter PNG holds at most ${LIMITS.scatterPoints} points (asked for ${n}); use a .csv file`,
    );
  const points = new Float32Array(2 * n);
  let k = 0;
  return {
    async add(v, m) {
      points.set(v.subarray(0, 2 * m), 2 * k);
      k += m;
    },
    finish: async () =>
      savePng(file, await scatterPlot([{ points: points.subarray(0, 2 * k), label: 'samples' }], { title })),
    abort: () => {},
  };
}

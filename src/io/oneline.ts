// `oneLine`: quoting untrusted text in a one-line error message (no Node imports: the browser build uses it).
/**
 * A string made safe to quote in a one-line error message: control characters (newlines, tabs, escape
 * sequences, DEL, C1 controls, line/paragraph separators) written as \n, \t, \xHH or \uHHHH, and anything
 * longer than `max` characters cut, with '...' and the original length appended.
 */
export function oneLine(s: unknown, max = 80): string {
  const str = typeof s === 'string' ? s : String(s);
  const cut = str.length > max ? str.slice(0, max) : str;
  // eslint-disable-next-line no-control-regex
  const esc = cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const h = c.charCodeAt(0).toString(16);
    return c.charCodeAt(0) < 0x100 ? `\\x${h.padStart(2, '0')}` : `\\u${h.padStart(4, '0')}`;
  });
  return str.length > max ? `${esc}... (${str.length} chars)` : esc;
}

import { invalidField } from '../validation.js';

const RANGE = /\[(\d+)-(\d+)\]/;
const MAX_EXPANSION = 1000;

/**
 * Expands one bracketed numeric range, the way operators write host lists:
 * `node[1-3]` → node1 node2 node3, `node[01-10]` keeps the zero padding,
 * `127.0.0.[11-13]` → three addresses. A value without brackets stands for itself.
 */
export function expandRange(pattern: string, field: string): string[] {
  const match = RANGE.exec(pattern);
  if (!match) {
    if (/[[\]]/.test(pattern)) throw rangeError(field, pattern, 'expected a range like [1-3]');
    return [pattern];
  }
  const rest = pattern.slice(match.index + match[0].length);
  if (RANGE.test(rest) || /[[\]]/.test(rest) || /[[\]]/.test(pattern.slice(0, match.index))) {
    throw rangeError(field, pattern, 'only one [from-to] range is allowed');
  }
  const [, fromText, toText] = match as unknown as [string, string, string];
  const from = Number(fromText);
  const to = Number(toText);
  if (from > to) throw rangeError(field, pattern, `the range start ${from} is greater than its end ${to}`);
  if (to - from + 1 > MAX_EXPANSION) throw rangeError(field, pattern, `a range may expand to at most ${MAX_EXPANSION} values`);
  const width = fromText.startsWith('0') && fromText.length > 1 ? fromText.length : 0;
  const prefix = pattern.slice(0, match.index);
  const values: string[] = [];
  for (let n = from; n <= to; n++) values.push(`${prefix}${String(n).padStart(width, '0')}${rest}`);
  return values;
}

const rangeError = (field: string, pattern: string, message: string) => invalidField(field, `${message} (got "${pattern}")`);

/**
 * Expands a hostname pattern and an optional address pattern in step: both ranges must
 * yield the same number of values. Without an address, the hostname is the address.
 */
export function expandHostSpec(hostname: string, address: string | undefined, path: string): Array<{ hostname: string; address: string }> {
  const names = expandRange(hostname, `${path}.hostname`);
  if (address === undefined) return names.map((n) => ({ hostname: n, address: n }));
  const addresses = expandRange(address, `${path}.address`);
  if (addresses.length === 1 && names.length > 1) {
    throw rangeError(`${path}.address`, address, `${names.length} hostnames need ${names.length} addresses; use a range`);
  }
  if (addresses.length !== names.length) {
    throw rangeError(`${path}.address`, address, `expands to ${addresses.length} addresses but the hostname expands to ${names.length}`);
  }
  return names.map((n, i) => ({ hostname: n, address: addresses[i]! }));
}

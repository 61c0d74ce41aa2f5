import { invalidField } from '../../platform/validation.js';

const RANGE = /\[(\d+)-(\d+)\]/;
/** Range bounds have at most this many digits, so they stay far inside safe integers. */
const MAX_DIGITS = 9;

interface ParsedRange {
  prefix: string;
  rest: string;
  from: number;
  to: number;
  width: number;
}

/** Checks a pattern's one optional `[from-to]` range without expanding it. */
function parseRange(pattern: string, field: string): ParsedRange | undefined {
  const match = RANGE.exec(pattern);
  if (!match) {
    if (/[[\]]/.test(pattern)) throw rangeError(field, pattern, 'expected a range like [1-3]');
    return undefined;
  }
  const rest = pattern.slice(match.index + match[0].length);
  if (RANGE.test(rest) || /[[\]]/.test(rest) || /[[\]]/.test(pattern.slice(0, match.index))) {
    throw rangeError(field, pattern, 'only one [from-to] range is allowed');
  }
  const [, fromText, toText] = match as unknown as [string, string, string];
  if (fromText.length > MAX_DIGITS || toText.length > MAX_DIGITS) {
    throw rangeError(field, pattern, `range bounds have at most ${MAX_DIGITS} digits`);
  }
  const from = Number(fromText);
  const to = Number(toText);
  if (from > to) throw rangeError(field, pattern, `the range start ${from} is greater than its end ${to}`);
  const width = fromText.startsWith('0') && fromText.length > 1 ? fromText.length : 0;
  return { prefix: pattern.slice(0, match.index), rest, from, to, width };
}

/** How many values a pattern stands for, without expanding it. */
export function countRange(pattern: string, field: string): number {
  const range = parseRange(pattern, field);
  return range ? range.to - range.from + 1 : 1;
}

/**
 * Expands one bracketed numeric range, the way operators write host lists:
 * `node[1-3]` → node1 node2 node3, `node[01-10]` keeps the zero padding,
 * `127.0.0.[11-13]` → three addresses. A value without brackets stands for itself.
 * Callers bound the size first with countRange/countHostSpec.
 */
export function expandRange(pattern: string, field: string): string[] {
  const range = parseRange(pattern, field);
  if (!range) return [pattern];
  const values: string[] = [];
  for (let n = range.from; n <= range.to; n++) values.push(`${range.prefix}${String(n).padStart(range.width, '0')}${range.rest}`);
  return values;
}

const rangeError = (field: string, pattern: string, message: string) => invalidField(field, `${message} (got "${pattern}")`);

/**
 * How many hosts a hostname pattern and an optional address pattern stand for; both ranges
 * must yield the same number of values.
 */
export function countHostSpec(hostname: string, address: string | undefined, path: string): number {
  const names = countRange(hostname, `${path}.hostname`);
  if (address === undefined) return names;
  const addresses = countRange(address, `${path}.address`);
  if (addresses === 1 && names > 1) {
    throw rangeError(`${path}.address`, address, `${names} hostnames need ${names} addresses; use a range`);
  }
  if (addresses !== names) {
    throw rangeError(`${path}.address`, address, `expands to ${addresses} addresses but the hostname expands to ${names}`);
  }
  return names;
}

/** Expands a host spec checked by countHostSpec. Without an address, the hostname is the address. */
export function expandHostSpec(hostname: string, address: string | undefined, path: string): Array<{ hostname: string; address: string }> {
  countHostSpec(hostname, address, path);
  const names = expandRange(hostname, `${path}.hostname`);
  if (address === undefined) return names.map((n) => ({ hostname: n, address: n }));
  const addresses = expandRange(address, `${path}.address`);
  return names.map((n, i) => ({ hostname: n, address: addresses[i]! }));
}

/** Values named more than once, in linear time. */
export function duplicates(values: Iterable<string>): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) repeated.add(v);
    else seen.add(v);
  }
  return [...repeated];
}

/** Parsing of `key=value` arguments (--set, --label, config set) and `role=h1,h2` placements. */
import { usage } from '../output.js';

export type Value = string | number | boolean;

/** "3000" → 3000, "true" → true; anything else stays a string (the API checks types against the definition). */
export function typed(raw: string): Value {
  if (/^-?\d+(\.\d+)?$/.test(raw) && Number.isFinite(Number(raw))) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw;
}

export function keyValues(items: string[], option: string, convert: (raw: string) => Value = (s) => s): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usage(`${option}: expected key=value, got ${JSON.stringify(item)}`);
    out[item.slice(0, eq)] = convert(item.slice(eq + 1));
  }
  return out;
}

/** `--placement server=n1,n2,n3` (repeatable, one role each) → { server: [n1, n2, n3] }. */
export function placementOf(items: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of items) {
    const m = /^([^=\s]+)=(.*)$/.exec(item);
    const hosts = m?.[2]?.split(',').map((h) => h.trim()).filter(Boolean) ?? [];
    if (!m || hosts.length === 0) throw usage(`--placement: expected role=host1,host2, got ${JSON.stringify(item)}`);
    out[m[1]!] = [...(out[m[1]!] ?? []), ...hosts];
  }
  return out;
}

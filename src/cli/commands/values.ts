/** Parsing of `key=value` arguments (--set, --label, --param, config set), `role=h1,h2` placements and JSON bodies. */
import { readFile } from 'node:fs/promises';
import { usage } from '../output.js';

export type Value = string | number | boolean;

/** "3000" → 3000, "true" → true; anything else stays a string (the API checks types against the definition). */
export function typed(raw: string): Value {
  if (/^-?\d+(\.\d+)?$/.test(raw) && Number.isFinite(Number(raw))) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw;
}

/** One `key=value` argument split at its first '='; a missing '=' or key is a usage error naming the option and the argument. */
function pairOf(item: string, option: string, shape = 'key=value'): [key: string, value: string] {
  const eq = item.indexOf('=');
  if (eq <= 0) throw usage(`${option}: expected ${shape}, got ${JSON.stringify(item)}`);
  return [item.slice(0, eq), item.slice(eq + 1)];
}

/** Repeated `key=value` arguments as an object; values stay strings unless `convert` is given (e.g. `typed`). */
export function keyValues(items: string[], option: string): Record<string, string>;
export function keyValues<T>(items: string[], option: string, convert: (raw: string) => T): Record<string, T>;
export function keyValues(items: string[], option: string, convert: (raw: string) => unknown = (s) => s): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const [key, raw] = pairOf(item, option);
    out[key] = convert(raw);
  }
  return out;
}

/** `--placement server=n1,n2,n3` (repeatable, one role each) → { server: [n1, n2, n3] }. */
export function placementOf(items: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of items) {
    const [role, list] = pairOf(item, '--placement', 'role=host1,host2');
    const hosts = list
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    if (hosts.length === 0) throw usage(`--placement: expected role=host1,host2, got ${JSON.stringify(item)}`);
    out[role] = [...(out[role] ?? []), ...hosts];
  }
  return out;
}

/** A JSON object given inline to an option (--action-json, --config-json, --json-body). */
export function jsonObject(raw: string, option: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw usage(`${option}: not valid JSON (${(err as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw usage(`${option}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/** A file's text; a file that cannot be read is a usage error naming the option. */
export async function readTextFile(file: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw usage(`${option}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** A JSON object read from a file (--file). */
export async function jsonFile(file: string, option: string): Promise<Record<string, unknown>> {
  return jsonObject(await readTextFile(file, option), `${option} ${file}`);
}

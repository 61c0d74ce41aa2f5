/** How the CLI prints: tables for people, JSON for scripts, and the exit codes both rely on. */
import Table from 'cli-table3';

/** Exit codes, documented in README.md (CLI). */
export const EXIT = {
  OK: 0,
  /** The operation failed (or was cancelled or rolled back), or the API refused the request. */
  FAILED: 1,
  /** Bad usage: unknown command or option, a malformed value, or input the API rejected as invalid (400/422). */
  USAGE: 2,
  /** The operation is HOLDING, waiting for `sophon ops decide`. */
  HOLDING: 3,
  /** The API cannot be reached, or answers that a dependency is unavailable (503). */
  UNREACHABLE: 4,
} as const;

/** An error the CLI reports as one message (no stack trace) with its exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const usage = (message: string) => new CliError(EXIT.USAGE, message);

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

type Cell = string | number | boolean | null | undefined;

/** Rows as a table with a header line; an empty list says so instead. */
export function printTable(head: string[], rows: Cell[][], empty = '(none)'): void {
  if (rows.length === 0) {
    process.stdout.write(empty + '\n');
    return;
  }
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map((c) => (c === null || c === undefined ? '-' : String(c))));
  process.stdout.write(table.toString() + '\n');
}

/** Key/value pairs as a two-column table. */
export function printFields(fields: Array<[string, Cell]>): void {
  const table = new Table({ style: { head: [], border: [] } });
  for (const [k, v] of fields) table.push({ [k]: v === null || v === undefined ? '-' : String(v) });
  process.stdout.write(table.toString() + '\n');
}

/** `--json` prints the answer as it came; otherwise `human` draws it. */
export function show(json: boolean, value: unknown, human: () => void): void {
  if (json) printJson(value);
  else human();
}

/** `{ a: 1, b: 2 }` → "a=1, b=2" (labels, matchers, ports). */
export const pairsText = (pairs: Record<string, string | number>, separator = ', ') =>
  Object.entries(pairs)
    .map(([k, v]) => `${k}=${v}`)
    .join(separator);

export const ago = (iso: string | null | undefined) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) : null);

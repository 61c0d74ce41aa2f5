/**
 * Shell quoting for commands sent to hosts. Every command runs through `sh -c`, so every
 * value that is not a literal part of Sophon's own command text is quoted here; commands
 * are never built by string concatenation.
 */

const SAFE = /^[A-Za-z0-9_\-./,:=@%+]+$/;

/** Quotes one argument for POSIX sh; the result is always exactly one word. */
export function shellQuote(value: string | number): string {
  const text = String(value);
  if (text.includes('\0')) throw new TypeError('shell arguments cannot contain NUL bytes');
  if (SAFE.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A command whose every interpolated value has been quoted. */
export class ShellCommand {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type ShellValue = string | number | ShellCommand | readonly (string | number)[];

/**
 * Template tag: literal text is kept, every `${value}` becomes one quoted word (an array
 * becomes one quoted word per element; a nested ShellCommand is inserted as is).
 *
 *   sh`mkdir -p -- ${dir} && tar -xzf ${file} -C ${dir}`
 */
export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): ShellCommand {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += render(value) + (strings[i + 1] ?? '');
  });
  return new ShellCommand(text);
}

function render(value: ShellValue): string {
  if (value instanceof ShellCommand) return value.text;
  if (Array.isArray(value)) return value.map((v: string | number) => shellQuote(v)).join(' ');
  return shellQuote(value as string | number);
}

/**
 * The regular expressions of alert rule matchers, as PromQL has them: RE2 syntax, matched
 * against the whole label value, `.` matching newlines too. RE2 matches in time linear in the
 * value, so no rule can stall the evaluation the way `(a+)+$` stalls a backtracking engine.
 */
import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';

/** Why RE2 refuses a pattern and the 0-based offset of the refused part; undefined when it compiles. */
export function regexProblem(pattern: string): { offset: number; reason: string } | undefined {
  try {
    // Without flags: with them the library prefixes the pattern, and its error texts with it.
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    if (!(err instanceof RE2JSException)) throw err;
    if (!(err instanceof RE2JSSyntaxException)) return { offset: 0, reason: err.message };
    const part = err.input;
    // The only refusal without a part is a trailing backslash (or a pattern too large or deep: all of it).
    const offset = part === null ? (pattern.endsWith('\\') ? pattern.length - 1 : 0) : offsetOf(pattern, part);
    return { offset, reason: part === null ? err.getDescription() : `${err.getDescription()}: \`${part}\`` };
  }
}

/** The first place the refused part appears unescaped (`\(?=` is a literal paren, not a lookahead). */
function offsetOf(pattern: string, part: string): number {
  for (let at = pattern.indexOf(part); at >= 0; at = pattern.indexOf(part, at + 1)) {
    let backslashes = 0;
    while (pattern[at - 1 - backslashes] === '\\') backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return 0;
}

const compiled = new Map<string, RE2JS>();

/** Whether the whole value matches a pattern that regexProblem accepted. */
export function fullMatch(pattern: string, value: string): boolean {
  let re = compiled.get(pattern);
  if (!re) compiled.set(pattern, (re = RE2JS.compile(pattern, RE2JS.DOTALL)));
  return re.testExact(value);
}

/**
 * The expression language of alert rules: a small PromQL subset, parsed once (rules are
 * refused at the edge with the column of the problem) and evaluated over stored samples.
 *
 *   expr     := operand ( '/' operand )?
 *   operand  := selector | ('rate' | 'avg_over_time') '(' selector '[' duration ']' ')'
 *   selector := metric ( '{' matcher ( ',' matcher )* ','? '}' )?
 *   matcher  := label ( '=' | '!=' | '=~' | '!~' ) "string"
 *
 * Matchers see a series' own labels and, where it has none of that name, the `host`,
 * `service` and `role` it was scraped from. Regular expressions are RE2 and anchored, as in PromQL.
 */
import { regexProblem } from './regex.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}
export interface Selector {
  kind: 'selector';
  metric: string;
  matchers: Matcher[];
}
export interface RangeFunction {
  kind: 'function';
  fn: 'rate' | 'avg_over_time';
  selector: Selector;
  windowSeconds: number;
}
export type Operand = Selector | RangeFunction;
export type Expr = Operand | { kind: 'divide'; left: Operand; right: Operand };

/** A problem in an expression, at a 1-based column. */
export class ExprError extends Error {
  constructor(
    readonly column: number,
    readonly reason: string,
  ) {
    super(`column ${column}: ${reason}`);
    this.name = 'ExprError';
  }
}

const FUNCTIONS = new Set(['rate', 'avg_over_time']);
const DURATION = /^(\d+)([smh])$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/** '30s', '5m', '1h' → seconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS] : undefined;
}

/** Parses a rule expression; throws ExprError naming the column. */
export function parseExpr(text: string): Expr {
  let pos = 0;
  const fail = (reason: string, at = pos): never => {
    throw new ExprError(at + 1, reason);
  };
  const skip = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const peek = (s: string) => (skip(), text.startsWith(s, pos));
  const expect = (s: string, what: string) => {
    if (!peek(s)) fail(`expected ${what}${pos < text.length ? `, found '${text[pos]}'` : ' before the end'}`);
    pos += s.length;
  };
  const ident = (what: string, re: RegExp): string => {
    skip();
    const m = re.exec(text.slice(pos));
    if (!m) return fail(`expected ${what}${pos < text.length ? `, found '${text[pos]}'` : ' before the end'}`);
    pos += m[0].length;
    return m[0];
  };
  /** A quoted string, with the position in the text of each of its characters (for the column of a regex problem). */
  const string = (): { value: string; at: number; positions: number[] } => {
    skip();
    const at = pos;
    const quote = text[pos];
    if (quote !== '"' && quote !== "'") return fail('expected a quoted string');
    let value = '';
    const positions: number[] = [];
    pos++;
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\' && pos + 1 < text.length) {
        const c = text[++pos]!;
        const kept = c === 'n' ? '\n' : c === 't' ? '\t' : c === '\\' || c === '"' || c === "'" ? c : `\\${c}`;
        value += kept;
        positions.push(pos - 1);
        if (kept.length === 2) positions.push(pos);
      } else {
        value += text[pos];
        positions.push(pos);
      }
      pos++;
    }
    if (pos >= text.length) fail('unterminated string', at);
    pos++;
    return { value, at, positions };
  };
  const selector = (metric: string): Selector => {
    const matchers: Matcher[] = [];
    if (peek('{')) {
      pos++;
      while (!peek('}')) {
        const label = ident('a label name', /^[A-Za-z_][A-Za-z0-9_]*/);
        skip();
        const op = (['=~', '!~', '!=', '='] as const).find((o) => text.startsWith(o, pos));
        if (!op) fail(`expected one of = != =~ !~ after '${label}'`);
        pos += op!.length;
        const { value, at, positions } = string();
        const problem = op === '=~' || op === '!~' ? regexProblem(value) : undefined;
        if (problem)
          fail(
            `invalid regular expression (RE2 syntax, as in PromQL: no lookarounds or backreferences): ${problem.reason}`,
            positions[problem.offset] ?? at,
          );
        matchers.push({ label, op: op!, value });
        if (!peek(',')) break;
        pos++;
      }
      expect('}', "',' or '}'");
    }
    return { kind: 'selector', metric, matchers };
  };
  const operand = (): Operand => {
    skip();
    const at = pos;
    const name = ident('a metric name or rate(…) / avg_over_time(…)', /^[A-Za-z_:][A-Za-z0-9_:]*/);
    if (!peek('(')) return selector(name);
    if (!FUNCTIONS.has(name)) fail(`unknown function '${name}': expected rate or avg_over_time`, at);
    pos++;
    const inner = selector(ident('a metric name', /^[A-Za-z_:][A-Za-z0-9_:]*/));
    expect('[', `a range such as [5m] after the selector (${name} needs one)`);
    skip();
    const durAt = pos;
    const dur = ident('a duration such as 30s, 5m or 1h', /^\d+[smh]/);
    const windowSeconds = parseDuration(dur)!;
    if (windowSeconds <= 0) fail('expected a duration above zero', durAt);
    expect(']', "']'");
    expect(')', "')'");
    return { kind: 'function', fn: name as RangeFunction['fn'], selector: inner, windowSeconds };
  };

  if (text.trim() === '') fail('expected an expression');
  const left = operand();
  let expr: Expr = left;
  if (peek('/')) {
    pos++;
    expr = { kind: 'divide', left, right: operand() };
  }
  skip();
  if (pos < text.length) {
    const c = text[pos]!;
    fail(
      /^(?:[-+*/%^<>=!]|and\b|or\b|unless\b)/.test(text.slice(pos))
        ? `unsupported operator '${c}': only one '/' between two selectors is supported, and the comparison goes in 'op'`
        : `unexpected '${c}'`,
    );
  }
  return expr;
}

const operands = (e: Expr): Operand[] => (e.kind === 'divide' ? [e.left, e.right] : [e]);

/** What an expression reads: metrics of the latest samples, and metrics with their windows of history. */
export function inputsOf(e: Expr): { latest: string[]; ranges: Array<{ metric: string; windowSeconds: number }> } {
  const ops = operands(e);
  return {
    latest: ops.flatMap((o) => (o.kind === 'selector' ? [o.metric] : [])),
    ranges: ops.flatMap((o) => (o.kind === 'function' ? [{ metric: o.selector.metric, windowSeconds: o.windowSeconds }] : [])),
  };
}

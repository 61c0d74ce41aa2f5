/**
 * Evaluation of a parsed rule expression over stored samples (pure: the caller loads them).
 * A series is identified by where it was scraped (host, service, role) and its own labels;
 * `a / b` pairs series with the same identity, as PromQL's one-to-one matching does.
 */
import type { Expr, Matcher, Operand, Selector } from './expr.js';
import { fullMatch } from './regex.js';

export interface Series {
  host: string;
  service: string;
  role: string;
  labels: Record<string, string>;
}
export interface LatestSample extends Series {
  metric: string;
  value: number;
}
/** A series' recent history: its points in time order (`at` in milliseconds since the epoch). */
export interface HistorySeries extends Series {
  metric: string;
  points: Array<{ at: number; value: number }>;
}

export interface SampleSource {
  latest(metric: string): LatestSample[];
  history(metric: string): HistorySeries[];
  /** Milliseconds since the epoch. */
  now: number;
}

/** Restricts a rule to series scraped from one service and/or role. */
export interface Scope {
  service?: string | null | undefined;
  role?: string | null | undefined;
}

export interface Result extends Series {
  value: number;
}

export type CompareOp = '>' | '>=' | '<' | '<=' | '==' | '!=';

/** The comparison of a rule; NaN compares false whatever the operator, as in PromQL. */
export function compare(op: CompareOp, value: number, threshold: number): boolean {
  if (Number.isNaN(value)) return false;
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/** The identity of a series: where it comes from and its labels, whatever their order. */
export function seriesKey(s: Series): string {
  const names = Object.keys(s.labels);
  if (names.length > 1) names.sort();
  let key = `${s.host}\u0000${s.service}\u0000${s.role}`;
  for (const n of names) key += `\u0000${n}\u0001${s.labels[n]}`;
  return key;
}

function matches(s: Series, m: Matcher): boolean {
  const value = s.labels[m.label] ?? (m.label === 'host' ? s.host : m.label === 'service' ? s.service : m.label === 'role' ? s.role : '');
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return fullMatch(m.value, value);
    case '!~':
      return !fullMatch(m.value, value);
  }
}

const inScope = (s: Series, scope: Scope) => (!scope.service || s.service === scope.service) && (!scope.role || s.role === scope.role);
const selected = <T extends Series>(rows: T[], sel: Selector, scope: Scope) =>
  rows.filter((r) => inScope(r, scope) && sel.matchers.every((m) => matches(r, m)));
const seriesOf = (s: Series): Series => ({ host: s.host, service: s.service, role: s.role, labels: s.labels });

/** Per-second increase over the window, counter resets counted as in PromQL (without extrapolation). */
function rate(points: HistorySeries['points']): number | undefined {
  if (points.length < 2) return undefined;
  let increase = 0;
  for (let i = 1; i < points.length; i++) {
    const [prev, cur] = [points[i - 1]!.value, points[i]!.value];
    increase += cur >= prev ? cur - prev : cur;
  }
  const seconds = (points.at(-1)!.at - points[0]!.at) / 1000;
  return seconds > 0 ? increase / seconds : undefined;
}

function operand(o: Operand, src: SampleSource, scope: Scope): Map<string, Result> {
  const out = new Map<string, Result>();
  if (o.kind === 'selector') {
    for (const s of selected(src.latest(o.metric), o, scope)) out.set(seriesKey(s), { ...seriesOf(s), value: s.value });
    return out;
  }
  const since = src.now - o.windowSeconds * 1000;
  for (const s of selected(src.history(o.selector.metric), o.selector, scope)) {
    const points = s.points.filter((p) => p.at > since && p.at <= src.now);
    if (points.length === 0) continue;
    const value = o.fn === 'rate' ? rate(points) : points.reduce((sum, p) => sum + p.value, 0) / points.length;
    if (value !== undefined) out.set(seriesKey(s), { ...seriesOf(s), value });
  }
  return out;
}

/** The value of every series the expression yields (before the rule's comparison). */
export function evaluate(expr: Expr, src: SampleSource, scope: Scope = {}): Result[] {
  if (expr.kind !== 'divide') return [...operand(expr, src, scope).values()];
  const right = operand(expr.right, src, scope);
  const out: Result[] = [];
  for (const [key, l] of operand(expr.left, src, scope)) {
    const r = right.get(key);
    if (r) out.push({ ...l, value: l.value / r.value });
  }
  return out;
}

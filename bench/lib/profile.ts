/**
 * Where an operation's time goes, from its recorded steps: how long each step ran on the
 * host side, how long a host waited between one step ending and the next starting
 * (workflow task + activity scheduling + the step's own bookkeeping), and how many hosts
 * were busy at once.
 */
import type { Operation, OperationStep } from './stack.js';
import { median, printTable } from './table.js';

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!;
const ms = (n: number) => n.toFixed(0);
const at = (s: string | null) => (s === null ? NaN : Date.parse(s));

export function printStepProfile(title: string, operation: Operation): void {
  const steps = (operation.steps ?? []).filter(
    (s): s is OperationStep & { startedAt: string; finishedAt: string } => s.startedAt !== null && s.finishedAt !== null,
  );
  if (steps.length === 0) {
    console.log(`\n${title}: the operation recorded no finished steps`);
    return;
  }
  const opStart = at(operation.startedAt ?? operation.createdAt);
  const nameOf = (s: OperationStep) => (s.phase ? `${s.phase}: ${s.step}` : s.step);
  const names = [...new Set(steps.map(nameOf))];
  const byHost = new Map<string, typeof steps>();
  for (const s of steps) byHost.set(s.host, [...(byHost.get(s.host) ?? []), s]);
  for (const list of byHost.values()) list.sort((a, b) => at(a.startedAt) - at(b.startedAt));

  // Gap before a step: from the previous step's end on the same host (or the operation's start).
  const gaps = new Map<string, number[]>();
  for (const list of byHost.values()) {
    list.forEach((s, i) => {
      const previousEnd = i === 0 ? opStart : at(list[i - 1]!.finishedAt);
      gaps.set(nameOf(s), [...(gaps.get(nameOf(s)) ?? []), at(s.startedAt) - previousEnd]);
    });
  }
  const rows = names.map((name) => {
    const durations = steps.filter((s) => nameOf(s) === name).map((s) => s.durationMs ?? at(s.finishedAt) - at(s.startedAt));
    const waits = gaps.get(name) ?? [];
    return [
      name,
      String(durations.length),
      ms(median(durations)),
      ms(percentile(durations, 0.9)),
      ms(Math.max(...durations)),
      ms(median(waits)),
      ms(percentile(waits, 0.9)),
      ms(Math.max(...waits)),
    ];
  });
  printTable(title, ['step', 'hosts', 'run p50 ms', 'run p90', 'run max', 'wait before p50 ms', 'wait p90', 'wait max'], rows);

  // Busy hosts over time: a host is busy from its first step's start to its last step's end.
  const spans = [...byHost.values()].map((list) => [at(list[0]!.startedAt), at(list[list.length - 1]!.finishedAt)] as const);
  const events = spans
    .flatMap(
      ([s, e]) =>
        [
          [s, 1],
          [e, -1],
        ] as const,
    )
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let busy = 0;
  let peak = 0;
  for (const [, delta] of events) peak = Math.max(peak, (busy += delta));
  const hostWall = spans.map(([s, e]) => e - s);
  const hostWork = [...byHost.values()].map((list) => list.reduce((sum, s) => sum + (s.durationMs ?? 0), 0));
  const end = Math.max(...spans.map(([, e]) => e));
  const finished = at(operation.finishedAt);
  console.log(
    [
      `hosts busy at once: at most ${peak}`,
      `per host, first step start to last step end: p50 ${ms(median(hostWall))} ms, max ${ms(Math.max(...hostWall))} ms ` +
        `(of which steps ran p50 ${ms(median(hostWork))} ms)`,
      `operation start to first step: ${ms(Math.min(...spans.map(([s]) => s)) - opStart)} ms; ` +
        `last step end to operation end: ${Number.isNaN(finished) ? '?' : ms(finished - end)} ms; ` +
        `operation start to end: ${Number.isNaN(finished) ? '?' : ms(finished - opStart)} ms`,
    ].join('\n'),
  );
}

/** Wall time of an operation split by what its hosts were doing, from its recorded steps. */
export interface GateSplit {
  /** Operation start to end. */
  wallMs: number;
  /** Covered by at least one health step (health gates, and pre-check health checks). */
  healthMs: number;
  /** Covered by other steps (stop, start, install, configure, ...) and no health step. */
  hostMs: number;
  /** Covered by no step: workflow tasks, activity scheduling, bookkeeping between steps. */
  betweenMs: number;
  /** Health steps' own durations, per instance and phase (p50). */
  healthStepP50Ms: number;
}

/** Total length of the union of [start, end) intervals. */
function covered(intervals: Array<readonly [number, number]>): number {
  let total = 0;
  let reach = -Infinity;
  for (const [s, e] of [...intervals].sort((a, b) => a[0] - b[0])) {
    if (e <= reach) continue;
    total += e - Math.max(s, reach);
    reach = e;
  }
  return total;
}

/**
 * Splits an operation's wall time into health gates, other host steps and the time between
 * steps. Steps of one phase overlap across hosts, so each part is the union of its steps'
 * intervals, not their sum.
 */
export function gateSplit(operation: Operation): GateSplit {
  const steps = (operation.steps ?? []).filter((s) => s.startedAt !== null && s.finishedAt !== null);
  const span = (s: OperationStep) => [at(s.startedAt), at(s.finishedAt)] as const;
  const health = steps.filter((s) => s.step === 'health');
  const all = covered(steps.map(span));
  const healthMs = covered(health.map(span));
  const wallMs = at(operation.finishedAt) - at(operation.startedAt ?? operation.createdAt);
  return {
    wallMs,
    healthMs,
    hostMs: all - healthMs,
    betweenMs: wallMs - all,
    healthStepP50Ms: health.length ? median(health.map((s) => s.durationMs ?? at(s.finishedAt) - at(s.startedAt))) : NaN,
  };
}

/**
 * Sophon's own state as Prometheus metrics: hosts, instances, open alerts, operations (with
 * duration histograms), the last poll of each cluster and notifications. Computed from
 * Postgres when /metrics is scraped (prom-client `collect`), so every API process answers the
 * same and nothing is lost when one restarts. One snapshot (a handful of GROUP BY queries)
 * serves all families of a scrape.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Pool } from '../../platform/db/pool.js';
import { SophonError } from '../../platform/errors.js';

/** Upper bounds (seconds) of the operation duration histogram. */
export const OPERATION_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

type Row = Record<string, string | number | null>;

interface Snapshot {
  hosts: Row[];
  instances: Row[];
  alerts: Row[];
  operations: Row[];
  durations: Row[];
  polls: Row[];
  notifications: Row[];
}

const QUERIES: Record<keyof Snapshot, string> = {
  hosts: `SELECT c.name AS cluster, h.status, count(*)::int AS n FROM hosts h JOIN clusters c ON c.id = h.cluster_id GROUP BY 1, 2`,
  instances: `SELECT c.name AS cluster, i.service, i.observed_state AS state, count(*)::int AS n
    FROM role_instances i JOIN clusters c ON c.id = i.cluster_id GROUP BY 1, 2, 3`,
  alerts: `SELECT severity, state, count(*)::int AS n FROM alerts WHERE state <> 'resolved' GROUP BY 1, 2`,
  operations: `SELECT type, status, count(*)::int AS n FROM operations GROUP BY 1, 2`,
  // One pass over finished operations: count, sum and a FILTER count per bucket bound.
  durations: `SELECT type, status, count(*)::int AS n, sum(d)::float8 AS sum,
      ${OPERATION_BUCKETS.map((le, i) => `count(*) FILTER (WHERE d <= ${le})::int AS b${i}`).join(', ')}
    FROM (SELECT type, status, extract(epoch FROM finished_at - coalesce(started_at, created_at)) AS d FROM operations WHERE finished_at IS NOT NULL) o
    GROUP BY 1, 2`,
  polls: `SELECT c.name AS cluster, p.duration_ms AS "durationMs", extract(epoch FROM p.finished_at)::float8 AS "finishedAt",
      (p.counts ->> 'targets')::int AS targets, (p.counts ->> 'down')::int AS down, (p.counts ->> 'scrapes')::int AS scrapes,
      (p.counts ->> 'scrapeFailures')::int AS "scrapeFailures", (p.counts ->> 'chunkFailures')::int AS "chunkFailures",
      (p.counts ->> 'recovery_started')::int AS "recoveryStarted",
      (p.counts ->> 'recovery_skipped')::int AS "recoverySkipped", (p.counts ->> 'recovery_budgetSpent')::int AS "recoveryBudgetSpent"
    FROM cluster_polls p JOIN clusters c ON c.id = p.cluster_id WHERE p.finished_at IS NOT NULL`,
  notifications: `SELECT channel_type, status, count(*)::int AS n FROM alert_notifications GROUP BY 1, 2`,
};

/** Takes one snapshot per scrape: the families of a scrape are collected at once and share the one in flight. */
function snapshots(pool: Pool, timeoutMs: number) {
  let pending: Promise<Snapshot> | undefined;
  const take = async (): Promise<Snapshot> => {
    const entries = Object.entries(QUERIES).map(async ([k, sql]) => [k, (await pool.query(sql)).rows] as const);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SophonError(
              'DEPENDENCY_UNAVAILABLE',
              `Postgres did not answer within ${timeoutMs / 1000} s; Sophon's metrics come from it`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      return Object.fromEntries(await Promise.race([Promise.all(entries), timeout])) as unknown as Snapshot;
    } finally {
      clearTimeout(timer);
    }
  };
  return () => (pending ??= take().finally(() => (pending = undefined)));
}

/** A gauge family filled from the snapshot at each scrape. */
function family<L extends string>(
  registry: Registry,
  snapshot: () => Promise<Snapshot>,
  name: string,
  help: string,
  labelNames: readonly L[],
  fill: (s: Snapshot, set: (labels: Record<L, string>, value: number) => void) => void,
) {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      fill(s, (labels, value) => this.set(labels as never, value));
    },
  });
}

const str = (v: unknown) => String(v ?? '');

/**
 * The operation duration histogram, by type and status, with buckets counted in Postgres:
 * prom-client's Histogram only learns from observe(), so this family is its own metric object.
 */
function operationDurations(registry: Registry, snapshot: () => Promise<Snapshot>) {
  const name = 'sophon_operation_duration_seconds';
  const help = 'How long finished operations took (from their start), by type and final status';
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    collect: undefined,
    reset: () => undefined,
    async get() {
      const s = await snapshot();
      // Each series whole and in order: its buckets by bound, +Inf, sum, count.
      const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
      for (const d of s.durations) {
        const labels = { type: str(d.type), status: str(d.status) };
        OPERATION_BUCKETS.forEach((le, i) =>
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: Number(d[`b${i}`]) }),
        );
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: Number(d.n) });
        values.push({ metricName: `${name}_sum`, labels, value: Number(d.sum ?? 0) });
        values.push({ metricName: `${name}_count`, labels, value: Number(d.n) });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

/** Registers Sophon's own families on the registry /metrics serves. */
export function registerSophonMetrics(registry: Registry, pool: Pool, timeoutMs: number): void {
  const snapshot = snapshots(pool, timeoutMs);
  family(registry, snapshot, 'sophon_hosts', 'Hosts by cluster and status', ['cluster', 'status'], (s, set) => {
    for (const r of s.hosts) set({ cluster: str(r.cluster), status: str(r.status) }, Number(r.n));
  });
  family(
    registry,
    snapshot,
    'sophon_role_instances',
    'Role instances by cluster, service and observed state',
    ['cluster', 'service', 'observed_state'],
    (s, set) => {
      for (const r of s.instances) set({ cluster: str(r.cluster), service: str(r.service), observed_state: str(r.state) }, Number(r.n));
    },
  );
  family(
    registry,
    snapshot,
    'sophon_alerts_open',
    'Alerts not resolved, by severity and state (pending, firing, acknowledged)',
    ['severity', 'state'],
    (s, set) => {
      for (const r of s.alerts) set({ severity: str(r.severity), state: str(r.state) }, Number(r.n));
    },
  );
  family(registry, snapshot, 'sophon_operations', 'Operations recorded, by type and current status', ['type', 'status'], (s, set) => {
    for (const r of s.operations) set({ type: str(r.type), status: str(r.status) }, Number(r.n));
  });
  operationDurations(registry, snapshot);
  const polls: Array<[string, string, (r: Row) => number | null]> = [
    [
      'sophon_poll_duration_seconds',
      'How long the last poll of the cluster took',
      (r) => (r.durationMs === null ? null : Number(r.durationMs) / 1000),
    ],
    ['sophon_poll_targets', 'Role instances the last poll of the cluster checked', (r) => Number(r.targets ?? 0)],
    ['sophon_poll_targets_down', 'Role instances the last poll of the cluster found down', (r) => Number(r.down ?? 0)],
    ['sophon_poll_scrapes', 'Metrics endpoints the last poll of the cluster scraped', (r) => Number(r.scrapes ?? 0)],
    ['sophon_poll_scrape_failures', 'Scrapes of the last poll of the cluster that failed', (r) => Number(r.scrapeFailures ?? 0)],
    [
      'sophon_poll_chunk_failures',
      'Chunks of the last poll of the cluster that failed twice (their instances keep what the poll before saw)',
      (r) => Number(r.chunkFailures ?? 0),
    ],
    ['sophon_poll_last_finished_timestamp_seconds', 'When the last poll of the cluster finished (Unix time)', (r) => Number(r.finishedAt)],
    ['sophon_poll_recoveries_started', 'Recoveries the last poll of the cluster started', (r) => Number(r.recoveryStarted ?? 0)],
    [
      'sophon_poll_recoveries_skipped',
      'Recoveries the last poll of the cluster skipped because another operation held the service',
      (r) => Number(r.recoverySkipped ?? 0),
    ],
    [
      'sophon_poll_recovery_budget_spent',
      'Instances the last poll of the cluster left down: restart budget spent',
      (r) => Number(r.recoveryBudgetSpent ?? 0),
    ],
  ];
  for (const [name, help, value] of polls) {
    family(registry, snapshot, name, help, ['cluster'], (s, set) => {
      for (const r of s.polls) {
        const v = value(r);
        if (v !== null) set({ cluster: str(r.cluster) }, v);
      }
    });
  }
  family(
    registry,
    snapshot,
    'sophon_notifications_total',
    'Alert notifications recorded (alert_notifications), by channel type and outcome (sent, failed)',
    ['channel_type', 'status'],
    (s, set) => {
      for (const r of s.notifications) set({ channel_type: str(r.channel_type), status: str(r.status) }, Number(r.n));
    },
  );
}

/** Alerts, their events and notifications, and silences in Postgres. */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from '../../platform/db/pool.js';
import type { AlertState, OpenState, Transition } from './lifecycle.js';
import type { Severity } from './rules-repo.js';

type Db = Pool | PoolClient;

export interface AlertRow {
  id: string;
  ruleId: string | null;
  ruleName: string;
  fingerprint: string;
  state: AlertState;
  severity: Severity;
  clusterId: string | null;
  clusterName: string | null;
  host: string | null;
  service: string | null;
  role: string | null;
  labels: Record<string, string>;
  value: number | null;
  summary: string;
  silenced: boolean;
  startsAt: Date;
  firedAt: Date | null;
  ackedBy: string | null;
  ackedAt: Date | null;
  ackNote: string | null;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  clearEvaluations: number;
}

export interface NewAlert {
  ruleId: string;
  ruleName: string;
  fingerprint: string;
  state: AlertState;
  severity: Severity;
  clusterId: string;
  host: string;
  service: string;
  role: string;
  labels: Record<string, string>;
  value: number;
  summary: string;
  silenced: boolean;
  startsAt: Date;
  fired: boolean;
}

export interface SilenceRow {
  id: string;
  matchers: Record<string, string>;
  startsAt: Date;
  endsAt: Date;
  comment: string;
  createdBy: string;
  createdAt: Date;
}

const SELECT = `SELECT a.id, a.rule_id AS "ruleId", a.rule_name AS "ruleName", a.fingerprint, a.state, a.severity, a.cluster_id AS "clusterId",
  c.name AS "clusterName", a.host, a.service, a.role, a.labels, a.value, a.summary, a.silenced, a.starts_at AS "startsAt", a.fired_at AS "firedAt",
  a.acked_by AS "ackedBy", a.acked_at AS "ackedAt", a.ack_note AS "ackNote", a.resolved_at AS "resolvedAt", a.resolved_by AS "resolvedBy",
  a.clear_evaluations AS "clearEvaluations"
  FROM alerts a LEFT JOIN clusters c ON c.id = a.cluster_id`;

const SILENCE_COLUMNS = `id, matchers, starts_at AS "startsAt", ends_at AS "endsAt", comment, created_by AS "createdBy", created_at AS "createdAt"`;
const SILENCE = `SELECT ${SILENCE_COLUMNS} FROM silences`;

/**
 * Resolves the open alerts matched by `where` (a condition on `alerts a`, its parameters first)
 * and records each one's event in the same statement; returns them with the state they left.
 */
export async function resolveAlerts(
  db: Db,
  where: string,
  params: unknown[],
  actor: string,
  note: string,
): Promise<Array<{ id: string; from: OpenState }>> {
  const res = await db.query<{ id: string; from: OpenState }>(
    `WITH old AS (SELECT a.id, a.state FROM alerts a WHERE a.state <> 'resolved' AND ${where} FOR UPDATE OF a),
     gone AS (
       UPDATE alerts a SET state = 'resolved', resolved_at = now(), resolved_by = $${params.length + 1}, updated_at = now()
       FROM old WHERE a.id = old.id RETURNING a.id, old.state AS was)
     INSERT INTO alert_events (alert_id, from_state, to_state, actor, note) SELECT id, was, 'resolved', $${params.length + 1}, $${params.length + 2} FROM gone
     RETURNING alert_id AS id, from_state AS "from"`,
    [...params, actor, note],
  );
  return res.rows;
}

/** The sort key of the alerts list (newest first) and of its cursor. */
export type AlertKey = [startsAt: string, id: string];

export function alertsRepo(db: Db) {
  const addEvents = async (alertId: string, transitions: Transition[], actor: string) => {
    for (const t of transitions) {
      await db.query(`INSERT INTO alert_events (alert_id, from_state, to_state, actor, note) VALUES ($1, $2, $3, $4, $5)`, [
        alertId,
        t.from,
        t.to,
        actor,
        t.note ?? null,
      ]);
    }
  };

  return {
    addEvents,

    async list(
      filter: { state?: AlertState | undefined; severity?: Severity | undefined; clusterId?: string | undefined },
      page: { limit: number; after?: AlertKey | undefined },
    ): Promise<AlertRow[]> {
      return (
        await db.query<AlertRow>(
          `${SELECT} WHERE ($1::text IS NULL OR a.state = $1) AND ($2::text IS NULL OR a.severity = $2) AND ($3::uuid IS NULL OR a.cluster_id = $3)
             AND ($4::timestamptz IS NULL OR (a.starts_at, a.id) < ($4, $5::uuid))
           ORDER BY a.starts_at DESC, a.id DESC LIMIT $6`,
          [
            filter.state ?? null,
            filter.severity ?? null,
            filter.clusterId ?? null,
            page.after?.[0] ?? null,
            page.after?.[1] ?? null,
            page.limit + 1,
          ],
        )
      ).rows;
    },

    async get(id: string): Promise<AlertRow | undefined> {
      return (await db.query<AlertRow>(`${SELECT} WHERE a.id = $1`, [id])).rows[0];
    },

    async events(id: string) {
      return (
        await db.query<{ at: Date; from: string | null; to: string; actor: string; note: string | null }>(
          `SELECT at, from_state AS "from", to_state AS "to", actor, note FROM alert_events WHERE alert_id = $1 ORDER BY at, id`,
          [id],
        )
      ).rows;
    },

    async notifications(id: string) {
      return (
        await db.query<{
          at: Date;
          channel: string;
          channelType: string;
          kind: string;
          round: number | null;
          step: number | null;
          status: string;
          attempts: number;
          error: string | null;
        }>(
          `SELECT at, channel_name AS channel, channel_type AS "channelType", kind, round, step, status, attempts, error
           FROM alert_notifications WHERE alert_id = $1 ORDER BY at, id`,
          [id],
        )
      ).rows;
    },

    /** Alerts of the cluster that are not resolved, keyed by fingerprint. */
    async openForCluster(clusterId: string): Promise<OpenAlertRow[]> {
      return (await db.query<OpenAlertRow>(`${SELECT} WHERE a.cluster_id = $1 AND a.state <> 'resolved'`, [clusterId])).rows;
    },

    /** Opens an alert; undefined when one is open for the fingerprint already. */
    async insert(a: NewAlert): Promise<string | undefined> {
      const id = randomUUID();
      const res = await db.query(
        `INSERT INTO alerts (id, rule_id, rule_name, fingerprint, state, severity, cluster_id, host, service, role, labels, value, summary, silenced, starts_at, fired_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, CASE WHEN $16 THEN now() END)
         ON CONFLICT (fingerprint) WHERE state <> 'resolved' DO NOTHING`,
        [
          id,
          a.ruleId,
          a.ruleName,
          a.fingerprint,
          a.state,
          a.severity,
          a.clusterId,
          a.host,
          a.service,
          a.role,
          JSON.stringify(a.labels),
          a.value,
          a.summary,
          a.silenced,
          a.startsAt,
          a.fired,
        ],
      );
      return res.rowCount ? id : undefined;
    },

    /** An evaluation's outcome, applied only if nobody changed the alert's state since it was read. */
    async applyEvaluation(
      id: string,
      expected: AlertState,
      next: { state: AlertState; clearEvaluations: number; silenced: boolean; fired: boolean; value: number | null },
    ): Promise<boolean> {
      const res = await db.query(
        `UPDATE alerts SET state = $3, clear_evaluations = $4, silenced = $5, value = coalesce($6, value),
           fired_at = CASE WHEN $7 THEN now() ELSE fired_at END,
           resolved_at = CASE WHEN $3 = 'resolved' THEN now() ELSE resolved_at END,
           resolved_by = CASE WHEN $3 = 'resolved' THEN 'sophon' ELSE resolved_by END, updated_at = now()
         WHERE id = $1 AND state = $2`,
        [id, expected, next.state, next.clearEvaluations, next.silenced, next.value, next.fired],
      );
      return (res.rowCount ?? 0) > 0;
    },

    /** firing → acknowledged; returns the state it was in (undefined: no such alert). */
    async ack(id: string, actor: string, note: string | undefined): Promise<{ from: AlertState; changed: boolean } | undefined> {
      const res = await db.query<{ was: AlertState; changed: boolean }>(
        `WITH old AS (SELECT id, state FROM alerts WHERE id = $1 FOR UPDATE),
         upd AS (UPDATE alerts a SET state = 'acknowledged', acked_by = $2, acked_at = now(), ack_note = $3, updated_at = now()
                 FROM old WHERE a.id = old.id AND old.state = 'firing' RETURNING a.id),
         event AS (INSERT INTO alert_events (alert_id, from_state, to_state, actor, note) SELECT id, 'firing', 'acknowledged', $2, NULLIF($3, '') FROM upd)
         SELECT old.state AS was, EXISTS (SELECT 1 FROM upd) AS changed FROM old`,
        [id, actor, note ?? null],
      );
      const row = res.rows[0];
      return row && { from: row.was, changed: row.changed };
    },

    /** Any open state → resolved by a person; returns the state it was in. */
    async resolve(id: string, actor: string): Promise<{ from: AlertState; changed: boolean } | undefined> {
      const [resolved] = await resolveAlerts(db, 'a.id = $1', [id], actor, 'resolved by hand');
      if (resolved) return { from: resolved.from, changed: true };
      const row = (await db.query<{ state: AlertState }>(`SELECT state FROM alerts WHERE id = $1`, [id])).rows[0];
      return row && { from: row.state, changed: false };
    },

    /** Open (firing or acknowledged) alerts per service of a cluster. */
    async openCounts(clusterId: string): Promise<Map<string, number>> {
      const rows = (
        await db.query<{ key: string; n: number }>(
          `SELECT service AS key, count(*)::int AS n FROM alerts
           WHERE cluster_id = $1 AND state IN ('firing', 'acknowledged') AND service IS NOT NULL GROUP BY 1`,
          [clusterId],
        )
      ).rows;
      return new Map(rows.map((r) => [r.key, r.n]));
    },

    async createSilence(s: { matchers: Record<string, string>; endsAt: Date; comment: string; createdBy: string }): Promise<SilenceRow> {
      const res = await db.query<SilenceRow>(
        `INSERT INTO silences (id, matchers, ends_at, comment, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${SILENCE_COLUMNS}`,
        [randomUUID(), JSON.stringify(s.matchers), s.endsAt, s.comment, s.createdBy],
      );
      return res.rows[0]!;
    },

    /** A new silence mutes the open alerts it matches at once (not only from the next poll), so no further step pages. */
    async muteMatching(matchers: Record<string, string>, actor: string): Promise<number> {
      const res = await db.query(
        `WITH muted AS (
           UPDATE alerts SET silenced = true, updated_at = now() WHERE state <> 'resolved' AND NOT silenced AND labels @> $1::jsonb RETURNING id, state)
         INSERT INTO alert_events (alert_id, from_state, to_state, actor, note) SELECT id, state, state, $2, 'muted (silence or maintenance)' FROM muted`,
        [JSON.stringify(matchers), actor],
      );
      return res.rowCount ?? 0;
    },

    /** Silences that have not ended, soonest end first; with `all`, ended ones too. */
    async listSilences(all: boolean): Promise<SilenceRow[]> {
      return (await db.query<SilenceRow>(`${SILENCE} WHERE $1 OR ends_at > now() ORDER BY ends_at, id`, [all])).rows;
    },

    async deleteSilence(id: string): Promise<boolean> {
      return ((await db.query(`DELETE FROM silences WHERE id = $1`, [id])).rowCount ?? 0) > 0;
    },

    /** What mutes alerts of a cluster now: active silences, hosts and services in maintenance. */
    async mutes(clusterId: string): Promise<{ silences: Array<Record<string, string>>; hosts: Set<string>; services: Set<string> }> {
      const [silences, hosts, services] = await Promise.all([
        db.query<{ matchers: Record<string, string> }>(`SELECT matchers FROM silences WHERE starts_at <= now() AND ends_at > now()`),
        db.query<{ hostname: string }>(`SELECT hostname FROM hosts WHERE cluster_id = $1 AND (maintenance OR maintenance_until > now())`, [
          clusterId,
        ]),
        db.query<{ name: string }>(`SELECT name FROM services WHERE cluster_id = $1 AND maintenance_until > now()`, [clusterId]),
      ]);
      return {
        silences: silences.rows.map((r) => r.matchers),
        hosts: new Set(hosts.rows.map((r) => r.hostname)),
        services: new Set(services.rows.map((r) => r.name)),
      };
    },
  };
}

export type OpenAlertRow = AlertRow & { state: OpenState };

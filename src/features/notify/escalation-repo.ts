/** What the escalation chain writes: delivery records, reopened alerts, the channels' own alerts. */
import { resolveAlerts } from '../alerts/alerts-repo.js';
import type { AlertState } from '../alerts/lifecycle.js';
import type { Pool } from '../../platform/db/pool.js';
import type { NoticeKind } from './formats.js';

/** The rule name of the alert a failing channel raises about itself. */
export const CHANNEL_FAILING = 'NotificationChannelFailing';

/** A channel's own alert is keyed by the channel: one open at a time. */
export const channelFingerprint = (channelId: string) => `channel:${channelId}`;

export interface NotificationRecord {
  alertId: string | null;
  channelId: string;
  channelName: string;
  channelType: string;
  kind: NoticeKind;
  round?: number | undefined;
  step?: number | undefined;
  ok: boolean;
  attempts: number;
  error?: string | undefined;
}

export function escalationRepo(pool: Pool) {
  return {
    /** Channels that already took this notice in this run of the chain (a retried step skips them). */
    async reachedInStep(alertId: string, round: number, step: number, since: string): Promise<Set<string>> {
      const res = await pool.query<{ channelId: string }>(
        `SELECT channel_id AS "channelId" FROM alert_notifications
         WHERE alert_id = $1 AND kind = 'firing' AND round = $2 AND step = $3 AND at >= $4 AND status = 'sent'`,
        [alertId, round, step, since],
      );
      return new Set(res.rows.map((r) => r.channelId));
    },

    /** Channels that took a firing notice of the alert and no resolved notice yet. */
    async owedResolved(alertId: string): Promise<string[]> {
      const res = await pool.query<{ channelId: string }>(
        `SELECT DISTINCT channel_id AS "channelId" FROM alert_notifications n
         WHERE alert_id = $1 AND kind = 'firing' AND status = 'sent' AND channel_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM alert_notifications r WHERE r.alert_id = n.alert_id AND r.channel_id = n.channel_id
                           AND r.kind = 'resolved' AND r.status = 'sent')`,
        [alertId],
      );
      return res.rows.map((r) => r.channelId);
    },

    async record(n: NotificationRecord): Promise<void> {
      await pool.query(
        `INSERT INTO alert_notifications (alert_id, channel_id, channel_name, channel_type, kind, round, step, status, attempts, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          n.alertId,
          n.channelId,
          n.channelName,
          n.channelType,
          n.kind,
          n.round ?? null,
          n.step ?? null,
          n.ok ? 'sent' : 'failed',
          n.attempts,
          n.error ?? null,
        ],
      );
    },

    /** Un-ack timeout: an alert still acknowledged goes back to firing. Returns the state after. */
    async reopen(alertId: string, actor: string): Promise<AlertState | undefined> {
      const res = await pool.query<{ state: AlertState }>(
        `WITH reopened AS (
           UPDATE alerts SET state = 'firing', acked_by = NULL, acked_at = NULL, ack_note = NULL, updated_at = now()
           WHERE id = $1 AND state = 'acknowledged' RETURNING id),
         event AS (
           INSERT INTO alert_events (alert_id, from_state, to_state, actor, note)
           SELECT id, 'acknowledged', 'firing', $2, 'not resolved within the escalation policy''s un-ack timeout' FROM reopened)
         SELECT CASE WHEN EXISTS (SELECT 1 FROM reopened) THEN 'firing' ELSE state END AS state FROM alerts WHERE id = $1`,
        [alertId, actor],
      );
      return res.rows[0]?.state;
    },

    /** Opens the channel's NotificationChannelFailing alert; returns its id when it is new. */
    async openChannelAlert(channel: { id: string; name: string }, error: string): Promise<string | undefined> {
      const res = await pool.query<{ id: string }>(
        `WITH opened AS (
           INSERT INTO alerts (id, rule_name, fingerprint, state, severity, labels, summary, fired_at)
           VALUES (gen_random_uuid(), $5, $1, 'firing', 'warning', $2, $3, now())
           ON CONFLICT (fingerprint) WHERE state <> 'resolved' DO NOTHING RETURNING id),
         event AS (INSERT INTO alert_events (alert_id, from_state, to_state, actor, note) SELECT id, NULL, 'firing', 'sophon', $4 FROM opened)
         SELECT id FROM opened`,
        [
          channelFingerprint(channel.id),
          JSON.stringify({ alertname: CHANNEL_FAILING, channel: channel.name, severity: 'warning' }),
          `Notification channel '${channel.name}' fails: ${error}`.slice(0, 1000),
          'a delivery failed after its retries',
          CHANNEL_FAILING,
        ],
      );
      return res.rows[0]?.id;
    },

    /** Resolves the channel's NotificationChannelFailing alert; returns its id when one was open. */
    async resolveChannelAlert(channelId: string): Promise<string | undefined> {
      const [resolved] = await resolveAlerts(
        pool,
        'a.fingerprint = $1',
        [channelFingerprint(channelId)],
        'sophon',
        'the channel delivered again',
      );
      return resolved?.id;
    },
  };
}

import { Counter, type Registry } from 'prom-client';
import type { Pool } from '../db/pool.js';

/**
 * Notifications sent and failed per channel type. Workers deliver them and have no /metrics,
 * so the API's /metrics counts the delivery records in Postgres at each scrape.
 */
export function registerNotificationMetrics(registry: Registry, pool: Pool): void {
  const counts = async () =>
    (
      await pool.query<{ type: string; status: 'sent' | 'failed'; n: number }>(
        `SELECT channel_type AS type, status, count(*)::int AS n FROM alert_notifications GROUP BY 1, 2`,
      )
    ).rows;
  const counter = (status: 'sent' | 'failed', help: string) =>
    new Counter({
      name: `sophon_notifications_${status}_total`,
      help,
      labelNames: ['channel_type'] as const,
      registers: [registry],
      async collect() {
        try {
          const rows = await counts();
          this.reset();
          for (const r of rows) if (r.status === status) this.inc({ channel_type: r.type }, r.n);
        } catch {
          // Postgres unavailable: /metrics still answers, with the last counts.
        }
      },
    });
  counter('sent', 'Notifications delivered, by channel type (escalation steps, resolved notices and channel tests)');
  counter('failed', 'Notifications that failed after their retries, by channel type');
}

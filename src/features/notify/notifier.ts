/**
 * Delivery to channels as the escalation chain and channel tests need it: secrets opened
 * here only, each channel delivered independently (one failing never holds up another), every
 * outcome recorded (alert_notifications, the channel's last_error), and a channel that fails
 * raises its own NotificationChannelFailing alert, resolved when it delivers again.
 */
import type { Client } from '@temporalio/client';
import { alertsRepo, type AlertRow } from '../alerts/alerts-repo.js';
import type { Config } from '../../platform/settings.js';
import type { Pool } from '../../platform/db/pool.js';
import type { Logger } from '../../platform/log.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { ChannelSecrets } from './channel-config.js';
import { channelsRepo, type ChannelRow } from './channels-repo.js';
import { deliver, DEFAULT_DELIVERY, type DeliveryOutcome, type DeliveryPolicy } from './deliver.js';
import { createEscalations } from './escalation-client.js';
import { CHANNEL_FAILING, channelFingerprint, escalationRepo } from './escalation-repo.js';
import type { AlertSummary, Notice, NoticeKind } from './formats.js';
import { policiesRepo } from './policies-repo.js';
import { publicUrlOf } from './public-url.js';

export interface SendContext {
  alert?: AlertRow;
  kind: NoticeKind;
  round?: number;
  step?: number;
}

/** What the worker's activities and the API share that a notifier is built from. */
export interface SharedNotifyDeps {
  pool: Pool;
  secretBox: SecretBox;
  logger: Logger;
  temporal: Client;
  config: Config;
}

/** The notifier the worker and the API use, built from the deps they share. */
export function notifierFrom(
  { pool, secretBox: box, logger, temporal, config }: SharedNotifyDeps,
  delivery: DeliveryPolicy = DEFAULT_DELIVERY,
) {
  const escalations = createEscalations(temporal, config.temporal.taskQueue);
  const publicUrl = publicUrlOf(config);
  const channels = channelsRepo(pool);
  const repo = escalationRepo(pool);
  const alerts = alertsRepo(pool);
  const policies = policiesRepo(pool);
  const log = logger.child({ component: 'notify' });

  const summaryOf = (a: AlertRow): AlertSummary => ({
    id: a.id,
    name: a.ruleName,
    state: a.state,
    severity: a.severity,
    cluster: a.clusterName,
    host: a.host,
    service: a.service,
    value: a.value,
    summary: a.summary,
    link: `${publicUrl}/api/v1/alerts/${a.id}`,
  });

  /** Raising and resolving the channel's own alert must never fail the delivery it reports. */
  async function reportHealth(ch: ChannelRow, outcome: DeliveryOutcome): Promise<void> {
    try {
      await channels.recordOutcome(ch.id, outcome.ok ? undefined : outcome.error);
      if (outcome.ok) {
        const resolved = await repo.resolveChannelAlert(ch.id);
        if (resolved) await escalations.resolve(resolved, 'sophon');
      } else {
        const opened = await repo.openChannelAlert(ch, outcome.error ?? 'delivery failed');
        if (opened) await escalations.start(opened);
      }
    } catch (err) {
      log.warn({ err, channel: ch.name }, 'could not report the health of a notification channel');
    }
  }

  async function sendTo(ch: ChannelRow, ctx: SendContext): Promise<DeliveryOutcome> {
    const notice: Notice = {
      kind: ctx.kind,
      channel: ch.name,
      at: new Date().toISOString(),
      ...(ctx.alert ? { alert: summaryOf(ctx.alert) } : {}),
      ...(ctx.round !== undefined ? { round: ctx.round, step: ctx.step } : {}),
    };
    let outcome: DeliveryOutcome;
    try {
      const secrets = ch.sealedSecrets ? (JSON.parse(box.open(ch.sealedSecrets)) as ChannelSecrets) : {};
      outcome = await deliver({ name: ch.name, type: ch.type, config: ch.config, secrets }, notice, delivery);
    } catch (err) {
      // The sealed secrets cannot be opened (another master key): as much a failure as a 500.
      outcome = { ok: false, attempts: 1, error: (err as Error).message };
    }
    await repo.record({
      alertId: ctx.alert?.id ?? null,
      channelId: ch.id,
      channelName: ch.name,
      channelType: ch.type,
      kind: ctx.kind,
      round: ctx.round,
      step: ctx.step,
      ok: outcome.ok,
      attempts: outcome.attempts,
      error: outcome.error,
    });
    if (!outcome.ok) log.warn({ channel: ch.name, type: ch.type, alertId: ctx.alert?.id, error: outcome.error }, 'notification failed');
    await reportHealth(ch, outcome);
    return outcome;
  }

  /** A channel's failure alert is never sent through that channel. */
  const usable = (alert: AlertRow | undefined, list: ChannelRow[]) =>
    alert?.ruleName === CHANNEL_FAILING ? list.filter((ch) => channelFingerprint(ch.id) !== alert.fingerprint) : list;

  /** Sends to every channel at once; returns the counts. */
  async function sendAll(list: ChannelRow[], ctx: SendContext): Promise<{ sent: number; failed: number }> {
    const outcomes = await Promise.all(usable(ctx.alert, list).map((ch) => sendTo(ch, ctx)));
    return { sent: outcomes.filter((o) => o.ok).length, failed: outcomes.filter((o) => !o.ok).length };
  }

  return {
    sendTo,

    /** One step of the chain, unless the alert stopped firing; channels reached in this run already are skipped. */
    async notifyStep(input: { alertId: string; round: number; step: number; since: string }) {
      const alert = await alerts.get(input.alertId);
      if (!alert) return { state: 'missing' as const, sent: 0, failed: 0 };
      // Pending or silenced: the step passes without a page.
      if (alert.state !== 'firing' || alert.silenced) return { state: alert.state, sent: 0, failed: 0 };
      const policy = await policies.policyOf(alert.id);
      const names = policy?.steps[input.step - 1]?.channels ?? [];
      const reached = await repo.reachedInStep(alert.id, input.round, input.step, input.since);
      const list = (await channels.sealedByNames(names)).filter((ch) => !reached.has(ch.id));
      return { state: alert.state, ...(await sendAll(list, { alert, kind: 'firing', round: input.round, step: input.step })) };
    },

    /** Resolved notices to every channel that took a firing notice and has not had its resolved one. */
    async notifyResolved(alertId: string) {
      const alert = await alerts.get(alertId);
      if (!alert) return { sent: 0, failed: 0 };
      return sendAll(await channels.sealedByIds(await repo.owedResolved(alertId)), { alert, kind: 'resolved' });
    },
  };
}

/** sophon alerts list|show|ack|resolve */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { AlertDetail as AlertDetailView, AlertView } from '../../features/alerts/routes.js';
import { seg } from '../api-client.js';
import { ctxOf, wholeNumber } from '../context.js';
import { ago, pairsText, printFields, printTable, show } from '../output.js';

type Alert = z.infer<typeof AlertView>;
type AlertDetail = z.infer<typeof AlertDetailView>;

const BASE = '/api/v1/alerts';
const where = (a: Alert) => [a.cluster, a.host, a.service].filter(Boolean).join('/');
const stateOf = (a: Alert) => `${a.state}${a.silenced ? ' (silenced)' : ''}`;

export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('alerts: firing, acknowledged and resolved');

  alerts
    .command('list')
    .description('alerts, newest first')
    .option('--state <state>', 'pending, firing, acknowledged or resolved')
    .option('--severity <severity>', 'info, warning or critical')
    .option('-c, --cluster <name>', 'only this cluster')
    .option('--limit <n>', 'at most this many (default 100)', wholeNumber('--limit'), 100)
    .action(async (opts: { state?: string; severity?: string; cluster?: string; limit: number }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ alerts: Alert[]; nextCursor: string | null }>(BASE, {
        state: opts.state,
        severity: opts.severity,
        cluster: opts.cluster,
        limit: opts.limit,
      });
      show(ctx.json, answer, () =>
        printTable(
          ['id', 'rule', 'state', 'severity', 'where', 'value', 'since', 'summary'],
          answer.alerts.map((a) => [a.id, a.rule, stateOf(a), a.severity, where(a), a.value, ago(a.firedAt ?? a.startsAt), a.summary]),
          'no alerts',
        ),
      );
    });

  alerts
    .command('show')
    .description('an alert with its state changes and notifications')
    .argument('<id>')
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ alert: AlertDetail }>(`${BASE}/${seg(id)}`);
      const a = answer.alert;
      show(ctx.json, answer, () => {
        printFields([
          ['id', a.id],
          ['rule', a.rule],
          ['state', stateOf(a)],
          ['severity', a.severity],
          ['where', where(a)],
          ['labels', pairsText(a.labels)],
          ['value', a.value],
          ['summary', a.summary],
          ['fired', ago(a.firedAt)],
          ['acknowledged', a.ackedBy ? `${a.ackedBy} ${ago(a.ackedAt)}${a.ackNote ? `: ${a.ackNote}` : ''}` : null],
          ['resolved', a.resolvedAt ? `${ago(a.resolvedAt)}${a.resolvedBy ? ` by ${a.resolvedBy}` : ''}` : null],
        ]);
        printTable(
          ['at', 'from', 'to', 'actor', 'note'],
          a.events.map((e) => [ago(e.at), e.from, e.to, e.actor, e.note]),
          'no state changes',
        );
        printTable(
          ['at', 'channel', 'kind', 'step', 'status', 'attempts', 'error'],
          a.notifications.map((n) => [ago(n.at), n.channel, n.kind, n.step, n.status, n.attempts, n.error]),
          'no notifications',
        );
      });
    });

  alerts
    .command('ack')
    .description('acknowledge a firing alert: its escalation stops')
    .argument('<id>')
    .option('--note <text>', 'why, or what you are doing about it')
    .action(async (id: string, opts: { note?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.post<{ alert: Alert }>(`${BASE}/${seg(id)}/ack`, opts.note ? { note: opts.note } : {});
      show(ctx.json, answer, () =>
        process.stdout.write(`${answer.alert.rule} ${answer.alert.id}: ${answer.alert.state} by ${answer.alert.ackedBy}\n`),
      );
    });

  alerts
    .command('resolve')
    .description('resolve an open alert by hand (notified channels get the resolved notice)')
    .argument('<id>')
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.post<{ alert: Alert }>(`${BASE}/${seg(id)}/resolve`);
      show(ctx.json, answer, () => process.stdout.write(`${answer.alert.rule} ${answer.alert.id}: ${answer.alert.state}\n`));
    });
}

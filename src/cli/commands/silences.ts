/** sophon silences list|add|remove: mute alerts whose labels match, for a while. */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { SilenceView } from '../../features/alerts/routes.js';
import { parseDuration } from '../../features/alerts/expr.js';
import { seg } from '../api-client.js';
import { collect, ctxOf, removeCommand } from '../context.js';
import { ago, pairsText, printTable, show, usage } from '../output.js';
import { keyValues } from './values.js';

type Silence = z.infer<typeof SilenceView>;

const BASE = '/api/v1/silences';
const matchText = (s: Silence) => pairsText(s.matchers, ' ');

/** The create body: --duration as the rules' durations ('30s', '15m', '2h'), or an --until time. */
export function silenceBody(o: { match: string[]; duration?: string; until?: string; comment?: string }): Record<string, unknown> {
  if (o.match.length === 0) throw usage('silences add: pass at least one --match label=value');
  if ((o.duration === undefined) === (o.until === undefined))
    throw usage('silences add: pass one of --duration (e.g. 2h) or --until <ISO time>');
  let end: Record<string, unknown> = {};
  if (o.duration !== undefined) {
    const seconds = parseDuration(o.duration);
    if (!seconds) throw usage(`--duration: expected a duration such as '30s', '15m' or '2h', got ${JSON.stringify(o.duration)}`);
    end = { durationSeconds: seconds };
  } else end = { endsAt: o.until };
  return { matchers: keyValues(o.match, '--match'), ...end, ...(o.comment ? { comment: o.comment } : {}) };
}

export function registerSilences(program: Command): void {
  const silences = program.command('silences').description('silences: alerts that match are still recorded, nobody is notified');

  silences
    .command('list')
    .description('silences that have not ended')
    .option('--all', 'ended ones too')
    .action(async (opts: { all?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ silences: Silence[] }>(BASE, { all: opts.all ? 'true' : undefined });
      show(ctx.json, answer, () =>
        printTable(
          ['id', 'matchers', 'from', 'until', 'by', 'comment'],
          answer.silences.map((s) => [s.id, matchText(s), ago(s.startsAt), ago(s.endsAt), s.createdBy, s.comment]),
          'no silences',
        ),
      );
    });

  silences
    .command('add')
    .description('mute alerts whose labels all match, e.g. --match service=zookeeper --duration 2h')
    .option(
      '--match <label=value>',
      'a label matcher (repeatable; alertname, cluster, host, service, severity or a rule label)',
      collect,
      [],
    )
    .option('--duration <duration>', "how long: '30m', '2h'")
    .option('--until <time>', 'or until this ISO 8601 time')
    .option('--comment <text>', 'why')
    .action(async (opts: { match: string[]; duration?: string; until?: string; comment?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.post<{ silence: Silence }>(BASE, silenceBody(opts));
      show(ctx.json, answer, () =>
        process.stdout.write(`silence ${answer.silence.id} on ${matchText(answer.silence)} until ${ago(answer.silence.endsAt)}\n`),
      );
    });

  removeCommand(silences, { argument: '<id>', description: 'end a silence now', path: (_ctx, id) => `${BASE}/${seg(id)}` });
}

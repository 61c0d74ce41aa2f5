/** sophon services config get|set|diff|versions|rollback */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { ConfigDiff, ConfigVersionView, ConfigView } from '../../features/config/routes.js';
import { clusterOption, ctxOf, detachable, follow, servicePath, wholeNumber } from '../context.js';
import { ago, printFields, printTable, show } from '../output.js';
import type { Operation } from '../types.js';
import { keyValues, typed } from './values.js';

type Changes = z.infer<typeof ConfigDiff>['changes'];
const changeText = (c: Changes) =>
  Object.entries(c)
    .map(([k, v]) => `${k}: ${JSON.stringify(v.from)} → ${JSON.stringify(v.to)}`)
    .join(', ');

export function registerServiceConfig(services: Command): void {
  const config = services.command('config').description('config versions of a service');

  clusterOption(config.command('get').description('current parameter values (defaults marked)').argument('<service>')).action(
    async (service: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ config: z.infer<typeof ConfigView> }>(`${servicePath(ctx, service)}/config`);
      const c = answer.config;
      show(ctx.json, answer, () => {
        printFields([
          ['version', c.version],
          ['author', c.author],
          ['note', c.note],
          ['created', ago(c.createdAt)],
        ]);
        printTable(
          ['parameter', 'value', ''],
          Object.entries(c.values).map(([k, v]) => [k, JSON.stringify(v), c.defaults.includes(k) ? 'default' : '']),
        );
      });
    },
  );

  detachable(
    clusterOption(
      config
        .command('set')
        .description('change parameters: a new config version, applied with restarts only where needed')
        .argument('<service>')
        .argument('<key=value...>'),
    ),
  )
    .option('--note <text>', 'why, for the history')
    .action(async (service: string, pairs: string[], opts: { note?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const body = { values: keyValues(pairs, 'config set', typed), ...(opts.note ? { note: opts.note } : {}) };
      await follow(ctx, await ctx.client.put<{ operation: Operation }>(`${servicePath(ctx, service)}/config`, body));
    });

  clusterOption(config.command('versions').description('config versions, newest first').argument('<service>'))
    .option('--limit <n>', 'at most this many', wholeNumber('--limit'))
    .action(async (service: string, opts: { limit?: number }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ versions: Array<z.infer<typeof ConfigVersionView>> }>(
        `${servicePath(ctx, service)}/config/versions`,
        { limit: opts.limit },
      );
      show(ctx.json, answer, () =>
        printTable(
          ['version', 'created', 'author', 'note', 'changes', 'operation'],
          answer.versions.map((v) => [v.version, ago(v.createdAt), v.author, v.note, changeText(v.changes), v.operationId]),
        ),
      );
    });

  clusterOption(
    config
      .command('diff')
      .description('what changes between two versions: a unified diff per instance and file')
      .argument('<service>')
      .argument('<from>')
      .argument('<to>'),
  )
    .option('--host <host>', 'only the instance on this host')
    .action(async (service: string, from: string, to: string, opts: { host?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<z.infer<typeof ConfigDiff>>(
        `${servicePath(ctx, service)}/config/versions/${encodeURIComponent(from)}/diff/${encodeURIComponent(to)}`,
        { host: opts.host },
      );
      show(ctx.json, answer, () => {
        process.stdout.write(`changes: ${changeText(answer.changes) || '(none)'}\n`);
        for (const i of answer.instances)
          for (const f of i.files)
            process.stdout.write(`--- ${i.host} ${i.role} ${f.path}\n${f.diff.endsWith('\n') ? f.diff : f.diff + '\n'}`);
      });
    });

  detachable(
    clusterOption(
      config
        .command('rollback')
        .description("make an earlier version's values a new version, applied like any change")
        .argument('<service>')
        .argument('<version>', 'an earlier version', wholeNumber('version')),
    ),
  )
    .option('--note <text>', 'why, for the history')
    .action(async (service: string, version: number, opts: { note?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      await follow(
        ctx,
        await ctx.client.post<{ operation: Operation }>(`${servicePath(ctx, service)}/config/rollback`, {
          version,
          ...(opts.note ? { note: opts.note } : {}),
        }),
      );
    });
}

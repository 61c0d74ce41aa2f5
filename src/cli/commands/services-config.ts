/** sophon services config get|set|group|diff|versions|rollback */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { ConfigDiff, ConfigVersionView, ConfigView } from '../../features/config/routes.js';
import { clusterOption, ctxOf, detachable, follow, list, servicePath, wholeNumber } from '../context.js';
import { ago, printFields, printTable, show, usage } from '../output.js';
import type { Operation } from '../types.js';
import { keyValues, typed } from './values.js';

type Changes = z.infer<typeof ConfigDiff>['changes'];
type Config = z.infer<typeof ConfigView>;
const valuesText = (values: Record<string, unknown>) =>
  Object.entries(values)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
const changeText = (c: Changes) =>
  Object.entries(c)
    .map(([k, v]) => `${k}: ${JSON.stringify(v.from)} → ${JSON.stringify(v.to)}`)
    .join(', ');

export function registerServiceConfig(services: Command): void {
  const config = services.command('config').description('config versions of a service');

  clusterOption(config.command('get').description('current parameter values (defaults marked)').argument('<service>')).action(
    async (service: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ config: Config }>(`${servicePath(ctx, service)}/config`);
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
        if (Object.keys(c.groups).length > 0) {
          printTable(
            ['group', 'role', 'hosts', 'values', 'departed'],
            Object.entries(c.groups).map(([name, g]) => [name, g.role, g.hosts.join(','), valuesText(g.values), g.departed.join(',')]),
          );
        }
      });
    },
  );

  detachable(
    clusterOption(
      config
        .command('group')
        .description("set one role group (its hosts run these values instead of the service's) or --delete it; the other groups stay")
        .argument('<service>')
        .argument('<name>')
        .argument('[key=value...]'),
    ),
  )
    .option('--role <role>', "the group's role (default: its current one)")
    .option('--hosts <h1,h2>', "the group's hosts (default: its current ones)", list)
    .option('--delete', 'remove the group: its hosts run the service values again')
    .option('--note <text>', 'why, for the history')
    .action(
      async (
        service: string,
        name: string,
        pairs: string[],
        opts: { role?: string; hosts?: string[]; delete?: boolean; note?: string },
        cmd: Command,
      ) => {
        const ctx = ctxOf(cmd);
        const current = (await ctx.client.get<{ config: Config }>(`${servicePath(ctx, service)}/config`)).config.groups;
        const groups = Object.fromEntries(Object.entries(current).map(([n, g]) => [n, { role: g.role, hosts: g.hosts, values: g.values }]));
        if (opts.delete) {
          if (!groups[name]) throw usage(`${service} has no group '${name}'`);
          delete groups[name];
        } else {
          const role = opts.role ?? groups[name]?.role;
          if (!role) throw usage(`--role: a new group needs its role`);
          groups[name] = {
            role,
            hosts: opts.hosts ?? groups[name]?.hosts ?? [],
            values: { ...groups[name]?.values, ...keyValues(pairs, 'config group', typed) },
          };
        }
        const body = { groups, ...(opts.note ? { note: opts.note } : {}) };
        await follow(ctx, await ctx.client.put<{ operation: Operation }>(`${servicePath(ctx, service)}/config`, body));
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
        for (const i of answer.instances) {
          if (i.start) process.stdout.write(`--- ${i.host} ${i.role} start command\n-${i.start.from}\n+${i.start.to}\n`);
          for (const f of i.files)
            process.stdout.write(`--- ${i.host} ${i.role} ${f.path}\n${f.diff.endsWith('\n') ? f.diff : f.diff + '\n'}`);
        }
      });
    });

  detachable(
    clusterOption(
      config
        .command('rollback')
        .description("make an earlier version's values and groups a new version, applied like any change")
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

/** sophon hosts add|list|show|maintenance|remove */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { HostView } from '../../features/hosts/routes.js';
import { seg } from '../api-client.js';
import { clusterOf, clusterOption, collect, ctxOf, detachable, follow, removeCommand } from '../context.js';
import { ago, pairsText, printFields, printTable, show, usage } from '../output.js';
import type { Operation } from '../types.js';
import { keyValues } from './values.js';

type Host = z.infer<typeof HostView>;

export function registerHosts(program: Command): void {
  const hosts = program.command('hosts').description('hosts of a cluster, reached over SSH');

  detachable(clusterOption(hosts.command('add').description('add hosts (ranges like node[1-3] expand) and bootstrap them')))
    .requiredOption('--hostname <pattern>', 'host name, or a range such as node[1-3]')
    .option('--address <pattern>', 'address or range such as 10.0.0.[11-13] (default: the host name)')
    .option('--port <port>', 'SSH port', '22')
    .requiredOption('--credential <name>', 'SSH credential (sophon credentials list)')
    .option('--install-root <dir>', 'where Sophon installs components on the host')
    .option('--label <key=value>', 'a label (repeatable)', collect, [])
    .action(
      async (
        opts: { hostname: string; address?: string; port: string; credential: string; installRoot?: string; label: string[] },
        cmd: Command,
      ) => {
        const ctx = ctxOf(cmd);
        if (!/^\d{1,5}$/.test(opts.port)) throw usage(`--port: expected a TCP port number, got ${JSON.stringify(opts.port)}`);
        const spec = {
          hostname: opts.hostname,
          ...(opts.address ? { address: opts.address } : {}),
          port: Number(opts.port),
          credential: opts.credential,
          ...(opts.installRoot ? { installRoot: opts.installRoot } : {}),
          labels: keyValues(opts.label, '--label'),
        };
        const answer = await ctx.client.post<{ operation: Operation; hosts: Array<{ hostname: string }> }>(
          `/api/v1/clusters/${seg(clusterOf(ctx))}/hosts`,
          { hosts: [spec] },
        );
        await follow(
          ctx,
          answer,
          answer.hosts.map((h) => h.hostname),
        );
      },
    );

  clusterOption(hosts.command('list').description('list the hosts of a cluster')).action(async (_opts, cmd: Command) => {
    const ctx = ctxOf(cmd);
    const all: Host[] = [];
    let cursor: string | null = null;
    do {
      const page: { hosts: Host[]; nextCursor: string | null } = await ctx.client.get(`/api/v1/clusters/${seg(clusterOf(ctx))}/hosts`, {
        limit: 1000,
        cursor: cursor ?? undefined,
      });
      all.push(...page.hosts);
      cursor = page.nextCursor;
    } while (cursor);
    show(ctx.json, { hosts: all }, () =>
      printTable(
        ['host', 'address', 'status', 'maintenance', 'up/down', 'last seen', 'reason'],
        all.map((h) => [
          h.hostname,
          `${h.address}:${h.port}`,
          h.status,
          h.maintenance ? 'yes' : '',
          `${h.health.up}/${h.health.down}`,
          ago(h.lastSeenAt),
          h.statusReason,
        ]),
        'no hosts',
      ),
    );
  });

  clusterOption(hosts.command('show').description('show a host with its facts').argument('<host>', 'host name or id')).action(
    async (name: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const h = await ctx.client.get<Host>(`/api/v1/clusters/${seg(clusterOf(ctx))}/hosts/${seg(name)}`);
      show(ctx.json, h, () => {
        printFields([
          ['host', h.hostname],
          ['address', `${h.address}:${h.port}`],
          ['status', h.status + (h.statusReason ? ` (${h.statusReason})` : '')],
          ['maintenance', h.maintenance ? 'yes' : 'no'],
          ['credential', h.credential],
          ['install root', h.installRoot],
          ['host key', h.hostKeyFingerprint],
          ['labels', pairsText(h.labels)],
          ['last seen', ago(h.lastSeenAt)],
        ]);
        process.stdout.write('facts:\n');
        printTable(
          ['fact', 'value'],
          Object.entries(h.facts ?? {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]),
          '(not gathered yet)',
        );
      });
    },
  );

  clusterOption(
    hosts.command('maintenance').description('put a host in maintenance mode, or take it out').argument('<host>').argument('<on|off>'),
  ).action(async (name: string, mode: string, _opts, cmd: Command) => {
    if (mode !== 'on' && mode !== 'off') throw usage(`maintenance: expected on or off, got ${JSON.stringify(mode)}`);
    const ctx = ctxOf(cmd);
    const h = await ctx.client.patch<Host>(`/api/v1/clusters/${seg(clusterOf(ctx))}/hosts/${seg(name)}`, { maintenance: mode === 'on' });
    show(ctx.json, h, () => process.stdout.write(`${h.hostname}: maintenance ${h.maintenance ? 'on' : 'off'}\n`));
  });

  clusterOption(
    removeCommand(hosts, {
      argument: '<host>',
      description: 'remove a host that runs no service instances',
      path: (ctx, name) => `/api/v1/clusters/${seg(clusterOf(ctx))}/hosts/${seg(name)}`,
    }),
  );
}

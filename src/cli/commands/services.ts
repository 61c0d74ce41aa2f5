/** sophon services deploy|list|status|start|stop|restart|scale|upgrade|remove|discovery (config: services-config.ts, tasks: services-tasks.ts) */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { ServiceDetail, ServiceSummary as ServiceSummaryView } from '../../features/services/routes.js';
import { seg } from '../api-client.js';
import { clusterOf, clusterOption, collect, ctxOf, detachable, follow, list, servicePath, wholeNumber } from '../context.js';
import { ago, pairsText, printFields, printTable, show, usage } from '../output.js';
import type { Operation } from '../types.js';
import { instanceHosts } from '../watch.js';
import { registerServiceConfig } from './services-config.js';
import { registerServiceTasks } from './services-tasks.js';
import { keyValues, placementOf, typed } from './values.js';

type ServiceSummary = z.infer<typeof ServiceSummaryView>;

type Started = { operation: Operation };

const nonEmpty = (xs: string[] | undefined) => (xs && xs.length ? xs : undefined);

export function registerServices(program: Command): void {
  const services = program.command('services').description('services deployed from the catalog, and operations on them');

  detachable(
    clusterOption(
      services.command('deploy').description('deploy a service of the catalog').argument('<service>', 'a definition (sophon defs list)'),
    ),
  )
    .requiredOption('--placement <role=hosts>', 'role=host1,host2 (repeatable, one role each)', collect)
    .option('--set <key=value>', 'a parameter (repeatable); numbers and true/false are typed', collect, [])
    .option('--version <version>', "one of the definition's versions (default: its default)")
    .action(async (service: string, opts: { placement: string[]; set: string[]; version?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const placement = placementOf(opts.placement);
      const config = keyValues(opts.set, '--set', typed);
      const body = { service, ...(opts.version ? { version: opts.version } : {}), placement, ...(opts.set.length ? { config } : {}) };
      const answer = await ctx.client.post<Started>(`/api/v1/clusters/${seg(clusterOf(ctx))}/services`, body);
      await follow(ctx, answer, [...new Set(Object.values(placement).flat())]);
    });

  clusterOption(services.command('list').description('list the services of a cluster')).action(async (_opts, cmd: Command) => {
    const ctx = ctxOf(cmd);
    const answer = await ctx.client.get<{ services: ServiceSummary[] }>(`/api/v1/clusters/${seg(clusterOf(ctx))}/services`);
    show(ctx.json, answer, () =>
      printTable(
        ['service', 'status', 'version', 'target', 'config', 'updated'],
        answer.services.map((s) => [s.name, s.status, s.version, s.targetVersion, `v${s.configVersion}`, ago(s.updatedAt)]),
        'no services',
      ),
    );
  });

  clusterOption(
    services.command('status').description('a service with its instances: versions, desired and observed state').argument('<service>'),
  ).action(async (service: string, _opts, cmd: Command) => {
    const ctx = ctxOf(cmd);
    const answer = await ctx.client.get<{ service: z.infer<typeof ServiceDetail> }>(servicePath(ctx, service));
    const s = answer.service;
    show(ctx.json, answer, () => {
      printFields([
        ['service', s.name],
        ['status', s.status],
        ['version', s.version ?? `(deploying ${s.targetVersion})`],
        ['config version', s.configVersion],
        [
          'health',
          Object.entries(s.health)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
      ]);
      printTable(
        ['role', 'host', 'desired', 'observed', 'version', 'config', 'ports', 'observed at'],
        s.instances.map((i) => [
          i.role,
          i.host,
          i.desiredState,
          i.observedState + (i.statusReason ? ` (${i.statusReason})` : ''),
          i.version,
          i.configVersion === null ? null : `v${i.configVersion}${i.stale ? ' (stale)' : ''}`,
          pairsText(i.ports, ' '),
          ago(i.observedAt),
        ]),
        'no instances',
      );
    });
  });

  for (const action of ['start', 'stop', 'restart'] as const) {
    detachable(
      clusterOption(services.command(action).description(`${action} a service, or some of its roles or hosts`).argument('<service>')),
    )
      .option('--roles <roles>', 'only these roles (comma-separated)', list)
      .option('--hosts <hosts>', 'only instances on these hosts (comma-separated)', list)
      .option('--rolling', "batch by batch in the definition's order, each batch health-gated")
      .option('--batch <n>', 'instances per batch (implies --rolling)', wholeNumber('--batch'))
      .option('--max-failures <n>', 'failed instances tolerated before holding (implies --rolling)', wholeNumber('--max-failures'))
      .option('--pause <seconds>', 'pause between batches (implies --rolling)', wholeNumber('--pause'))
      .action(
        async (
          service: string,
          opts: { roles?: string[]; hosts?: string[]; rolling?: boolean; batch?: number; maxFailures?: number; pause?: number },
          cmd: Command,
        ) => {
          const ctx = ctxOf(cmd);
          const rolling = opts.rolling || opts.batch !== undefined || opts.maxFailures !== undefined || opts.pause !== undefined;
          const body = {
            action,
            ...(nonEmpty(opts.roles) ? { roles: opts.roles } : {}),
            ...(nonEmpty(opts.hosts) ? { hosts: opts.hosts } : {}),
            ...(rolling
              ? {
                  rolling: {
                    ...(opts.batch !== undefined ? { batchSize: opts.batch } : {}),
                    ...(opts.maxFailures !== undefined ? { maxFailures: opts.maxFailures } : {}),
                    ...(opts.pause !== undefined ? { pauseSeconds: opts.pause } : {}),
                  },
                }
              : {}),
          };
          // Without --hosts the watcher reads the service's hosts itself.
          await follow(ctx, await ctx.client.post<Started>(`${servicePath(ctx, service)}/actions`, body), nonEmpty(opts.hosts));
        },
      );
  }

  detachable(clusterOption(services.command('scale').description('add hosts to a role, or remove them').argument('<service>')))
    .requiredOption('--role <role>', 'the role to scale')
    .option('--add <hosts>', 'hosts to add (comma-separated)', list)
    .option('--remove <hosts>', 'hosts to remove (comma-separated)', list)
    .action(async (service: string, opts: { role: string; add?: string[]; remove?: string[] }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      if (!nonEmpty(opts.add) && !nonEmpty(opts.remove)) throw usage('scale: pass --add or --remove');
      const path = servicePath(ctx, service);
      const before = await instanceHosts(ctx.client, path);
      const answer = await ctx.client.post<Started>(`${path}/scale`, {
        role: opts.role,
        ...(nonEmpty(opts.add) ? { add: opts.add } : {}),
        ...(nonEmpty(opts.remove) ? { remove: opts.remove } : {}),
      });
      await follow(ctx, answer, [...new Set([...before, ...(opts.add ?? [])])]);
    });

  detachable(
    clusterOption(
      services
        .command('upgrade')
        .description('upgrade (or downgrade) to another version, rolling')
        .argument('<service>')
        .argument('<version>'),
    ),
  )
    .option('--batch <n>', 'instances upgraded at once', wholeNumber('--batch'))
    .option('--max-failures <n>', 'failed instances tolerated before holding', wholeNumber('--max-failures'))
    .option('--pause <seconds>', 'pause between batches', wholeNumber('--pause'))
    .action(async (service: string, version: string, opts: { batch?: number; maxFailures?: number; pause?: number }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const body = {
        version,
        ...(opts.batch !== undefined ? { batchSize: opts.batch } : {}),
        ...(opts.maxFailures !== undefined ? { maxFailures: opts.maxFailures } : {}),
        ...(opts.pause !== undefined ? { pauseSeconds: opts.pause } : {}),
      };
      await follow(ctx, await ctx.client.post<Started>(`${servicePath(ctx, service)}/upgrade`, body));
    });

  detachable(
    clusterOption(services.command('remove').description('stop a service and delete its files and inventory').argument('<service>')),
  ).action(async (service: string, _opts, cmd: Command) => {
    const ctx = ctxOf(cmd);
    const path = servicePath(ctx, service);
    const hosts = await instanceHosts(ctx.client, path);
    await follow(ctx, await ctx.client.delete<Started>(path), hosts);
  });

  clusterOption(services.command('discovery').description('live endpoints of a service per role').argument('<service>')).action(
    async (service: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{
        roles: Record<string, Array<{ host: string; address: string; ports: Record<string, number>; observedState: string }>>;
      }>(`/api/v1/clusters/${seg(clusterOf(ctx))}/discovery/${seg(service)}`);
      show(ctx.json, answer, () =>
        printTable(
          ['role', 'host', 'address', 'ports', 'observed'],
          Object.entries(answer.roles).flatMap(([role, eps]) =>
            eps.map((e) => [role, e.host, e.address, pairsText(e.ports, ' '), e.observedState]),
          ),
          'no endpoints',
        ),
      );
    },
  );

  registerServiceConfig(services);
  registerServiceTasks(services);
}

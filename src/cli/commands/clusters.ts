/** sophon clusters create|list|show */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { Cluster as ClusterView, ClusterDetail as ClusterDetailView } from '../../features/clusters/routes.js';
import { seg } from '../api-client.js';
import { ctxOf, detachable, follow } from '../context.js';
import { ago, printFields, printTable, show } from '../output.js';
import type { Operation } from '../types.js';

type Cluster = z.infer<typeof ClusterView>;
type ClusterDetail = z.infer<typeof ClusterDetailView>;

export function registerClusters(program: Command): void {
  const clusters = program.command('clusters').description('clusters: named groups of hosts');

  detachable(clusters.command('create').description('create a cluster').argument('<name>', 'lower-case letters, digits and "-"'))
    .option('--description <text>', 'what the cluster is for')
    .action(async (name: string, opts: { description?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.post<{ operation: Operation }>('/api/v1/clusters', {
        name,
        ...(opts.description ? { description: opts.description } : {}),
      });
      await follow(ctx, answer);
    });

  clusters
    .command('list')
    .description('list clusters')
    .action(async (_opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ clusters: Cluster[] }>('/api/v1/clusters');
      show(ctx.json, answer, () =>
        printTable(
          ['name', 'status', 'description', 'created'],
          answer.clusters.map((c) => [c.name, c.status, c.description, ago(c.createdAt)]),
          'no clusters',
        ),
      );
    });

  clusters
    .command('show')
    .description('show a cluster')
    .argument('<cluster>', 'name or id')
    .action(async (name: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const c = await ctx.client.get<ClusterDetail>(`/api/v1/clusters/${seg(name)}`);
      show(ctx.json, c, () =>
        printFields([
          ['name', c.name],
          ['id', c.id],
          ['status', c.status],
          ['description', c.description],
          ['created', ago(c.createdAt)],
          ['Temporal UI', c.temporalUiUrl],
        ]),
      );
    });
}

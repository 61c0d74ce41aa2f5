/** sophon defs list|show (from the API) and validate (a local directory) */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { ServiceSummary } from '../../features/defs/routes.js';
import { seg } from '../api-client.js';
import { ctxOf } from '../context.js';
import { printJson, printTable, show } from '../output.js';

type DefSummary = z.infer<typeof ServiceSummary>;

export function registerDefs(program: Command): void {
  const defs = program.command('defs').description('service definitions (the catalog)');

  defs
    .command('list')
    .description('the definitions of the catalog the API serves')
    .action(async (_opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ serviceDefs: DefSummary[] }>('/api/v1/service-defs');
      show(ctx.json, answer, () =>
        printTable(
          ['name', 'label', 'versions', 'default', 'roles', 'needs'],
          answer.serviceDefs.map((d) => [
            d.name,
            d.label,
            d.versions.join(', '),
            d.defaultVersion,
            d.roles.map((r) => `${r.name} (${r.cardinality})`).join(', '),
            d.dependencies.join(', '),
          ]),
        ),
      );
    });

  defs
    .command('show')
    .description('one definition as the API serves it (JSON)')
    .argument('<name>')
    .action(async (name: string, _opts, cmd: Command) => {
      printJson(await ctxOf(cmd).client.get(`/api/v1/service-defs/${seg(name)}`));
    });

  defs
    .command('validate')
    .description('check every definition in a directory; prints all problems, exits 1 when there are any')
    .argument('[dir]', 'directory of service definitions', 'service-defs')
    .action(async (dir: string) => {
      const { runDefsValidate } = await import('../../features/defs/index.js');
      process.exitCode = await runDefsValidate(dir, process.stdout);
    });
}

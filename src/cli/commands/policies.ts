/** sophon policies list|show|add|remove: escalation policies (steps of channels and waits, repeated). */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { Policy as PolicyView } from '../../features/notify/routes.js';
import { seg } from '../api-client.js';
import { ctxOf, removeCommand } from '../context.js';
import { printFields, printTable, show, usage } from '../output.js';
import { jsonFile, jsonObject } from './values.js';

type Policy = z.infer<typeof PolicyView>;

const BASE = '/api/v1/escalation-policies';
const stepsText = (p: Policy) =>
  p.steps.map((s) => `${s.channels.join('+')}${s.waitSeconds ? `, wait ${s.waitSeconds}s` : ''}`).join(' → ');

export function registerPolicies(program: Command): void {
  const policies = program.command('policies').description('escalation policies: which channels an alert pages, in steps with waits');

  policies
    .command('list')
    .description('escalation policies')
    .action(async (_opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ policies: Policy[] }>(BASE);
      show(ctx.json, answer, () =>
        printTable(
          ['name', 'steps', 'repeat', 'unack timeout', 'default'],
          answer.policies.map((p) => [
            p.name,
            stepsText(p),
            p.repeat,
            p.unackTimeoutSeconds === null ? null : `${p.unackTimeoutSeconds}s`,
            p.default ? 'yes' : '',
          ]),
          'no policies',
        ),
      );
    });

  policies
    .command('show')
    .description('a policy (by name or id) with its steps')
    .argument('<policy>')
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const p = await ctx.client.get<Policy>(`${BASE}/${seg(id)}`);
      show(ctx.json, p, () => {
        printFields([
          ['name', p.name],
          ['id', p.id],
          ['repeat', p.repeat],
          ['unack timeout', p.unackTimeoutSeconds === null ? null : `${p.unackTimeoutSeconds}s`],
          ['default', p.default ? 'yes' : 'no'],
        ]);
        printTable(
          ['step', 'channels', 'then wait'],
          p.steps.map((s, i) => [i + 1, s.channels.join(', '), `${s.waitSeconds}s`]),
        );
      });
    });

  policies
    .command('add')
    .description(
      'add a policy from JSON: {"name", "steps": [{"channels": [...], "waitSeconds"}], "repeat", "unackTimeoutSeconds", "default"}',
    )
    .option('--file <path>', 'a JSON file with the policy')
    .option('--json-body <json>', 'the policy as inline JSON')
    .action(async (opts: { file?: string; jsonBody?: string }, cmd: Command) => {
      if ((opts.file === undefined) === (opts.jsonBody === undefined))
        throw usage('policies add: pass one of --file <path> or --json-body <json>');
      const ctx = ctxOf(cmd);
      const body = opts.file !== undefined ? await jsonFile(opts.file, '--file') : jsonObject(opts.jsonBody!, '--json-body');
      const p = await ctx.client.post<Policy>(BASE, body);
      show(ctx.json, p, () => process.stdout.write(`policy ${p.name} added: ${stepsText(p)}\n`));
    });

  removeCommand(policies, {
    argument: '<policy>',
    description: 'remove a policy; its rules fall back to the default policy',
    path: (_ctx, id) => `${BASE}/${seg(id)}`,
  });
}

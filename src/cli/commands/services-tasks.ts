/** sophon services tasks|run-task: the custom commands a service's definition offers, run as operations. */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { TaskView } from '../../features/tasks/routes.js';
import { seg } from '../api-client.js';
import { clusterOption, collect, ctxOf, detachable, follow, list, servicePath } from '../context.js';
import { printTable, show } from '../output.js';
import type { Operation } from '../types.js';
import { keyValues, typed } from './values.js';

type Task = z.infer<typeof TaskView>;

const paramText = (p: Task['parameters'][number]) =>
  `${p.name}:${p.type}${p.default !== undefined ? `=${String(p.default)}` : ''}${p.enum ? ` (${p.enum.join('|')})` : ''}`;

export function registerServiceTasks(services: Command): void {
  clusterOption(
    services.command('tasks').description("the tasks (custom commands) a service's definition offers").argument('<service>'),
  ).action(async (service: string, _opts, cmd: Command) => {
    const ctx = ctxOf(cmd);
    const answer = await ctx.client.get<{ tasks: Task[] }>(`${servicePath(ctx, service)}/tasks`);
    show(ctx.json, answer, () =>
      printTable(
        ['task', 'role', 'where', 'timeout', 'parameters', 'label'],
        answer.tasks.map((t) => [t.name, t.role, t.where, `${t.timeout}s`, t.parameters.map(paramText).join(', '), t.label]),
        'no tasks',
      ),
    );
  });

  detachable(
    clusterOption(
      services
        .command('run-task')
        .description("run a task of a service as an operation, with each host's output")
        .argument('<service>')
        .argument('<task>'),
    ),
  )
    .option('--param <key=value>', 'a task parameter (repeatable); numbers and true/false are typed', collect, [])
    .option('--hosts <hosts>', "only instances on these hosts (comma-separated, of the task's role)", list)
    .action(async (service: string, task: string, opts: { param: string[]; hosts?: string[] }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const path = servicePath(ctx, service);
      const body = {
        ...(opts.param.length ? { parameters: keyValues(opts.param, '--param', typed) } : {}),
        ...(opts.hosts?.length ? { hosts: opts.hosts } : {}),
      };
      const answer = await ctx.client.post<{ operation: Operation }>(`${path}/tasks/${seg(task)}`, body);
      await follow(ctx, answer, opts.hosts);
    });
}

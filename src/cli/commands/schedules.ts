/** sophon schedules list|show|create|pause|resume|trigger|delete: maintenance schedules (Temporal Schedules whose runs start operations). */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { ScheduleView } from '../../features/maintenance/routes.js';
import { seg } from '../api-client.js';
import { clusterOf, clusterOption, collect, ctxOf, list, removeCommand, wholeNumber } from '../context.js';
import { ago, printFields, printTable, show, usage } from '../output.js';
import { jsonObject, keyValues, typed } from './values.js';

type Schedule = z.infer<typeof ScheduleView>;

const BASE = '/api/v1/maintenance-schedules';
const when = (s: Schedule) => ('cron' in s.spec ? `cron '${s.spec.cron}' ${s.spec.timezone ?? 'UTC'}` : `every ${s.spec.everySeconds}s`);
const what = (s: Schedule) => `${s.action.kind} ${s.action.service}${'task' in s.action ? ` ${s.action.task}` : ''}`;

interface CreateOpts {
  cron?: string;
  timezone?: string;
  every?: number;
  service?: string;
  task?: string;
  restart?: boolean;
  param: string[];
  hosts?: string[];
  actionJson?: string;
  window?: number;
  paused?: boolean;
}

/** The create body from the flags: one of --cron / --every, one of --task / --restart / --action-json. */
export function scheduleBody(name: string, cluster: string, o: CreateOpts): Record<string, unknown> {
  if ((o.cron === undefined) === (o.every === undefined))
    throw usage('schedules create: pass one of --cron (with --timezone) or --every <seconds>');
  if (o.timezone !== undefined && o.cron === undefined) throw usage('--timezone goes with --cron');
  const kinds = [o.task !== undefined, Boolean(o.restart), o.actionJson !== undefined].filter(Boolean).length;
  if (kinds !== 1) throw usage('schedules create: pass one of --task <task>, --restart or --action-json <json>');
  let action: Record<string, unknown>;
  if (o.actionJson !== undefined) {
    action = jsonObject(o.actionJson, '--action-json');
  } else {
    if (!o.service) throw usage(`schedules create: --${o.restart ? 'restart' : 'task'} needs --service <name>`);
    const hosts = o.hosts?.length ? { hosts: o.hosts } : {};
    action = o.restart
      ? { kind: 'restart', service: o.service, ...hosts }
      : {
          kind: 'task',
          service: o.service,
          task: o.task,
          ...(o.param.length ? { parameters: keyValues(o.param, '--param', typed) } : {}),
          ...hosts,
        };
  }
  return {
    name,
    cluster,
    spec: o.cron !== undefined ? { cron: o.cron, ...(o.timezone ? { timezone: o.timezone } : {}) } : { everySeconds: o.every },
    action,
    ...(o.window !== undefined ? { window: { durationSeconds: o.window } } : {}),
    ...(o.paused ? { paused: true } : {}),
  };
}

function printSchedule(s: Schedule): void {
  printFields([
    ['name', s.name],
    ['id', s.id],
    ['cluster', s.cluster],
    ['when', when(s)],
    ['action', what(s)],
    ['action body', JSON.stringify(s.action)],
    ['window', s.window ? `${s.window.durationSeconds}s after each run` : null],
    ['paused', s.paused ? 'yes' : 'no'],
    ['next run', ago(s.nextRunAt)],
    ['created by', s.createdBy],
  ]);
  printTable(
    ['run at', 'status', 'operation', 'reason'],
    s.recentRuns.map((r) => [ago(r.at), r.status, r.operationId, r.reason]),
    'no runs yet',
  );
}

export function registerSchedules(program: Command): void {
  const schedules = program
    .command('schedules')
    .description('maintenance schedules: tasks, restarts, reconfigures or upgrades on a cron or an interval');

  schedules
    .command('list')
    .description('schedules with their next run and last outcome')
    .action(async (_opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ schedules: Schedule[] }>(BASE);
      show(ctx.json, answer, () =>
        printTable(
          ['name', 'cluster', 'action', 'when', 'paused', 'next run', 'last run'],
          answer.schedules.map((s) => [
            s.name,
            s.cluster,
            what(s),
            when(s),
            s.paused ? 'yes' : '',
            ago(s.nextRunAt),
            s.recentRuns[0] ? `${s.recentRuns[0].status} ${ago(s.recentRuns[0].at)}` : null,
          ]),
          'no schedules',
        ),
      );
    });

  schedules
    .command('show')
    .description('a schedule (by name or id) with its recent runs')
    .argument('<schedule>')
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ schedule: Schedule }>(`${BASE}/${seg(id)}`);
      show(ctx.json, answer, () => printSchedule(answer.schedule));
    });

  clusterOption(
    schedules
      .command('create')
      .description('create a schedule')
      .argument('<name>', 'letters, digits, . _ - (runs are requested by schedule:<name>)'),
  )
    .option('--cron <expr>', "five fields: minute hour day-of-month month day-of-week, e.g. '30 3 * * 0'")
    .option('--timezone <zone>', 'IANA time zone of --cron (default UTC)')
    .option('--every <seconds>', 'a run every this many seconds', wholeNumber('--every'))
    .option('--service <name>', 'the service of --task or --restart')
    .option('--task <task>', 'run this task of --service (sophon services tasks)')
    .option('--param <key=value>', 'a parameter of --task (repeatable)', collect, [])
    .option('--restart', 'restart --service')
    .option('--hosts <hosts>', 'only instances on these hosts (comma-separated)', list)
    .option('--action-json <json>', 'the whole action, e.g. {"kind":"upgrade","service":"zookeeper","version":"3.9.3"}')
    .option('--window <seconds>', 'keep the service in maintenance during each run and this long after', wholeNumber('--window'))
    .option('--paused', 'create it paused')
    .action(async (name: string, opts: CreateOpts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.post<{ schedule: Schedule }>(BASE, scheduleBody(name, clusterOf(ctx), opts));
      show(ctx.json, answer, () => printSchedule(answer.schedule));
    });

  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    schedules
      .command(verb)
      .description(`${verb} a schedule`)
      .argument('<schedule>')
      .action(async (id: string, _opts, cmd: Command) => {
        const ctx = ctxOf(cmd);
        const answer = await ctx.client.patch<{ schedule: Schedule }>(`${BASE}/${seg(id)}`, { paused });
        show(ctx.json, answer, () =>
          process.stdout.write(
            `${answer.schedule.name}: ${paused ? 'paused' : `resumed, next run ${ago(answer.schedule.nextRunAt) ?? '-'}`}\n`,
          ),
        );
      });
  }

  schedules
    .command('trigger')
    .description('run a schedule once now (its run shows in sophon schedules show, its operation in sophon ops list)')
    .argument('<schedule>')
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.post<{ schedule: Schedule }>(`${BASE}/${seg(id)}/trigger`);
      show(ctx.json, answer, () =>
        process.stdout.write(`${answer.schedule.name}: triggered; see sophon schedules show ${answer.schedule.name}\n`),
      );
    });

  removeCommand(schedules, {
    verb: 'delete',
    argument: '<schedule>',
    description: 'delete a schedule (operations it started stay)',
    path: (_ctx, id) => `${BASE}/${seg(id)}`,
  });
}

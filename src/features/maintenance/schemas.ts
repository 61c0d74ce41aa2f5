/**
 * The request shapes of maintenance schedules: when (a cron expression in a time zone, or
 * every N seconds) and what (a task, or the body of the restart, reconfigure or upgrade
 * endpoints). Shared by the routes and the activity that starts a run.
 */
import { z } from 'zod';
import { safeText } from '../../platform/validation.js';
import { RunTaskBody } from '../tasks/routes.js';
import { ConfigValuesChange } from '../config/routes.js';
import { ServiceActionBody, UpgradeServiceBody } from '../services/routes.js';

const NAME = safeText().min(1).max(253);

export const ScheduleSpec = z.union([
  z.strictObject({
    cron: safeText().min(1).max(200).describe("five fields: minute hour day-of-month month day-of-week, e.g. '30 3 * * 0'"),
    timezone: safeText().min(1).max(100).optional().describe("an IANA time zone such as 'Europe/Paris'; UTC when absent"),
  }),
  z.strictObject({
    everySeconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 86_400)
      .describe('a run every this many seconds'),
  }),
]);

export const ScheduleAction = z.discriminatedUnion('kind', [
  RunTaskBody.extend({
    kind: z.literal('task'),
    service: NAME,
    task: NAME.describe("one of the service's tasks (GET .../services/:service/tasks)"),
  }),
  ServiceActionBody.omit({ action: true }).extend({ kind: z.literal('restart'), service: NAME }),
  ConfigValuesChange.extend({ kind: z.literal('reconfigure'), service: NAME }),
  UpgradeServiceBody.extend({ kind: z.literal('upgrade'), service: NAME }),
]);

export const ScheduleWindow = z.strictObject({
  durationSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .describe('maintenance lasts the run and this long after it'),
});

export type ScheduleSpec = z.output<typeof ScheduleSpec>;
export type ScheduleAction = z.output<typeof ScheduleAction>;
export type ScheduleWindow = z.output<typeof ScheduleWindow>;

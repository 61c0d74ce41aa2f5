/** HTTP routes of maintenance schedules (see src/platform/http/registry.ts): parse, then delegate to the maintenance service. */
import { z } from 'zod';
import { actorOf } from '../../platform/http/auth.js';
import { route } from '../../platform/http/registry.js';
import { Timestamp } from '../../platform/http/schemas.js';
import { safeText } from '../../platform/validation.js';
import { ScheduleAction, ScheduleSpec, ScheduleWindow } from './schemas.js';
import type { MaintenanceService } from './service.js';

export const CreateScheduleBody = z.strictObject({
  name: safeText()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, . _ - (it names the runs: requested by schedule:<name>)'),
  cluster: safeText().min(1).max(253),
  spec: ScheduleSpec,
  action: ScheduleAction,
  paused: z.boolean().optional(),
  window: ScheduleWindow.optional().describe(
    'puts the service (and the hosts of an action limited to hosts) in maintenance while a run lasts, and this long after',
  ),
});

export const PatchScheduleBody = z
  .strictObject({
    paused: z.boolean().optional(),
    spec: ScheduleSpec.optional(),
    action: ScheduleAction.optional(),
    window: ScheduleWindow.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'expected at least one of paused, spec, action, window')
  .meta({ minProperties: 1 });

const Run = z.object({
  at: Timestamp,
  operationId: z.uuid().nullable().describe('the operation the run started; for SKIPPED, the operation that kept the service busy'),
  status: z.string().describe('the operation status, or SKIPPED (service busy) or FAILED (the action could not start)'),
  reason: z.string().nullable(),
  workflowId: z.string().describe("the run's workflow in Temporal"),
});

export const ScheduleView = z.object({
  id: z.uuid(),
  name: z.string(),
  cluster: z.string(),
  spec: ScheduleSpec,
  action: ScheduleAction,
  paused: z.boolean(),
  window: ScheduleWindow.nullable(),
  temporalScheduleId: z.string(),
  nextRunAt: Timestamp.nullable().describe('null while paused, or when Temporal does not answer'),
  recentRuns: z.array(Run).describe('newest first'),
  createdBy: z.string(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const BASE = '/api/v1/maintenance-schedules';

export function maintenanceRoutes(maintenance: MaintenanceService) {
  return [
    route({
      method: 'post',
      path: BASE,
      summary: 'Create a maintenance schedule: a Temporal Schedule whose runs start a task, restart, reconfigure or upgrade as operations',
      body: CreateScheduleBody,
      status: 201,
      response: z.object({ schedule: ScheduleView }),
      handler: async ({ req, body }) => ({ schedule: await maintenance.create(body, actorOf(req)) }),
    }),
    route({
      method: 'get',
      path: BASE,
      summary: 'List maintenance schedules with their next run times and recent runs',
      status: 200,
      response: z.object({ schedules: z.array(ScheduleView) }),
      handler: async () => ({ schedules: await maintenance.list() }),
    }),
    route({
      method: 'get',
      path: `${BASE}/:id`,
      summary: 'Show a maintenance schedule (by id or name) with its recent runs',
      status: 200,
      response: z.object({ schedule: ScheduleView }),
      handler: async ({ params }) => ({ schedule: await maintenance.get(params.id!) }),
    }),
    route({
      method: 'patch',
      path: `${BASE}/:id`,
      summary: 'Pause or resume a maintenance schedule, or change its spec, action or window',
      body: PatchScheduleBody,
      status: 200,
      response: z.object({ schedule: ScheduleView }),
      handler: async ({ req, params, body }) => ({ schedule: await maintenance.patch(params.id!, body, actorOf(req)) }),
    }),
    route({
      method: 'delete',
      path: `${BASE}/:id`,
      summary: 'Delete a maintenance schedule and its Temporal Schedule (operations it started stay)',
      status: 204,
      handler: async ({ req, params }) => maintenance.remove(params.id!, actorOf(req)),
    }),
    route({
      method: 'post',
      path: `${BASE}/:id/trigger`,
      summary: 'Run a maintenance schedule once now',
      status: 202,
      response: z.object({ schedule: ScheduleView }),
      handler: async ({ req, params }) => ({ schedule: await maintenance.trigger(params.id!, actorOf(req)) }),
    }),
  ];
}

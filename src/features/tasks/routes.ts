/** HTTP routes of service tasks (see src/platform/http/registry.ts): parse, then delegate to the tasks service. */
import { z } from 'zod';
import { requesterOf } from '../../platform/http/idempotency.js';
import { route } from '../../platform/http/registry.js';
import { OperationView } from '../operations/routes.js';
import { safeText } from '../../platform/validation.js';
import type { TasksService } from './service.js';

const NAME = safeText().min(1).max(253);

export const RunTaskBody = z.strictObject({
  parameters: z
    .record(NAME, z.union([z.string().max(4096), z.number(), z.boolean()]))
    .optional()
    .describe("the task's parameters; defaults fill the rest"),
  hosts: z.array(NAME).max(1000).optional().describe("only instances on these hosts (of the task's role)"),
});

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
export const TaskView = z.object({
  name: z.string(),
  label: z.string(),
  role: z.string(),
  where: z.enum(['one', 'each', 'leader']),
  timeout: z.number().int().describe('seconds'),
  parameters: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      default: Scalar.optional(),
      description: z.string().optional(),
      min: z.number().optional(),
      max: z.number().optional(),
      enum: z.array(Scalar).optional(),
    }),
  ),
});

const BASE = '/api/v1/clusters/:cluster/services/:service/tasks';

export function taskRoutes(tasks: TasksService) {
  return [
    route({
      method: 'get',
      path: BASE,
      summary: "The tasks (custom commands) the service's definition offers",
      status: 200,
      response: z.object({ tasks: z.array(TaskView) }),
      handler: async ({ params }) => ({ tasks: await tasks.list(params.cluster!, params.service!) }),
    }),
    route({
      method: 'post',
      path: `${BASE}/:task`,
      summary: "Run a task on one instance of its role, on each, or on the leader; the operation's steps carry each host's output",
      body: RunTaskBody,
      idempotent: true,
      status: 202,
      response: z.object({ operation: OperationView }),
      handler: ({ req, params, body }) => tasks.run(params.cluster!, params.service!, params.task!, body, requesterOf(req)),
    }),
  ];
}

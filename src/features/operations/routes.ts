/** HTTP routes of operations (see src/platform/http/registry.ts): parse, then delegate to the operations service. */
import { z } from 'zod';
import { OPERATION_STATUSES } from './repo.js';
import type { OperationsService } from './service.js';
import { safeText } from '../../platform/validation.js';
import { DECISION_ACTIONS } from './workflow/messages.js';
import { actorOf } from '../../platform/http/auth.js';
import { decodeCursor, PageQuery } from '../../platform/http/paging.js';
import { route } from '../../platform/http/registry.js';
import { NextCursor, Timestamp } from '../../platform/http/schemas.js';

const ListQuery = z.object({
  cluster: safeText().max(253).optional(),
  service: safeText().max(253).optional(),
  status: z.enum(OPERATION_STATUSES, { error: `expected one of ${OPERATION_STATUSES.join(', ')}` }).optional(),
  ...PageQuery,
});

const GetQuery = z.strictObject({ attempts: z.enum(['latest', 'all']).default('latest') });

export const DecisionBody = z.strictObject({
  action: z.enum(DECISION_ACTIONS, { error: `expected one of ${DECISION_ACTIONS.join(', ')}` }),
});

export const OperationView = z.object({
  id: z.uuid(),
  type: z.string(),
  status: z.enum(OPERATION_STATUSES),
  cluster: z.string().nullable(),
  service: z.string().nullable(),
  workflowId: z.string(),
  runId: z.string().nullable(),
  temporalUiUrl: z.string(),
  requestedBy: z.string(),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  result: z.unknown(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  phase: z.string().nullable(),
  holding: z.array(z.object({ host: z.string(), role: z.string(), phase: z.string(), step: z.string(), reason: z.string() })).nullable(),
  canRollback: z.boolean(),
});

export const StepView = z.object({
  host: z.string(),
  role: z.string(),
  phase: z.string(),
  step: z.string(),
  status: z.string(),
  attempt: z.number().int(),
  exitCode: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
  stdoutTail: z.string().nullable(),
  stderrTail: z.string().nullable(),
  message: z.string().nullable(),
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
});

/** An operation with its progress and steps (GET /api/v1/operations/:id). */
export const OperationDetail = OperationView.extend({
  percent: z.number().int().nullable(),
  input: z.record(z.string(), z.unknown()),
  steps: z.array(StepView),
});

export function operationRoutes(operations: OperationsService) {
  return [
    route({
      method: 'get',
      path: '/api/v1/operations',
      summary: 'List operations, newest first (filters: cluster, service, status; paged)',
      query: ListQuery,
      status: 200,
      response: z.object({ operations: z.array(OperationView), nextCursor: NextCursor }),
      handler: ({ query }) =>
        operations.list({ ...query, after: decodeCursor(query.cursor, z.tuple([z.string().regex(/^\d{1,17}$/), z.uuid()])) }),
    }),
    route({
      method: 'get',
      path: '/api/v1/operations/:id',
      summary:
        'Show an operation: status, phase, percent, what it holds on, and the latest attempt of each step (?attempts=all: every attempt)',
      query: GetQuery,
      status: 200,
      response: z.object({ operation: OperationDetail }),
      handler: async ({ params, query }) => ({ operation: await operations.get(params.id!, { attempts: query.attempts === 'all' }) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/operations/:id/decision',
      summary: 'Decide for a HOLDING operation: retry, skip, abort or rollback (the Temporal Update `decide`)',
      body: DecisionBody,
      status: 202,
      response: z.object({ operation: OperationView }),
      handler: async ({ req, params, body }) => ({ operation: await operations.decide(params.id!, body.action, actorOf(req)) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/operations/:id/cancel',
      summary: 'Cancel a running operation',
      status: 202,
      response: z.object({ operation: OperationView }),
      handler: async ({ req, params }) => ({ operation: await operations.cancel(params.id!, actorOf(req)) }),
    }),
  ];
}

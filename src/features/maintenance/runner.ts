/**
 * Starts a schedule's action through the same path as the API (services, config and tasks
 * services: checks, lock, operation row, workflow), as `schedule:<name>`. The run's workflow
 * id is the idempotency key, so a retried start finds the operation it started.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../../platform/settings.js';
import type { Pool } from '../../platform/db/pool.js';
import type { Catalog } from '../defs/index.js';
import { SophonError } from '../../platform/errors.js';
import type { OperationsService } from '../operations/service.js';
import { createConfigService } from '../config/service.js';
import { createServicesService } from '../services/service.js';
import type { Requester } from '../../platform/http/idempotency.js';
import { createTasksService } from '../tasks/service.js';
import type { ScheduleRow } from './maintenance-repo.js';

export type RunStart =
  { status: 'STARTED'; operationId: string } | { status: 'SKIPPED' | 'FAILED'; operationId: string | null; reason: string };

export function createActionStarter(deps: {
  pool: Pool;
  catalog: Catalog;
  operations: OperationsService;
  config: Pick<Config, 'packageRepo'>;
}) {
  const services = createServicesService(deps);
  const config = createConfigService(deps);
  const tasks = createTasksService(deps);

  async function lockHolder(s: ScheduleRow): Promise<string | null> {
    const res = await deps.pool.query<{ id: string }>(
      `SELECT operation_id AS id FROM operation_locks WHERE cluster_id = $1 AND (service = $2 OR service = '') LIMIT 1`,
      [s.clusterId, s.service],
    );
    return res.rows[0]?.id ?? null;
  }

  function start(s: ScheduleRow, who: Requester) {
    const a = s.action;
    switch (a.kind) {
      case 'task': {
        const { kind: _kind, service, task, ...req } = a;
        return tasks.run(s.clusterId, service, task, req, who);
      }
      case 'restart': {
        const { kind: _kind, service, ...req } = a;
        return services.action(s.clusterId, service, { action: 'restart', ...req }, who);
      }
      case 'reconfigure': {
        const { kind: _kind, service, ...req } = a;
        return config.put(s.clusterId, service, { note: `maintenance schedule ${s.name}`, ...req }, who);
      }
      case 'upgrade': {
        const { kind: _kind, service, ...req } = a;
        return services.upgrade(s.clusterId, service, req, who);
      }
    }
  }

  /**
   * Starts the run's operation. A service busy with another operation is SKIPPED, naming it;
   * an action that no longer fits (service removed, task gone) is FAILED with the reason;
   * an unavailable dependency throws, so the activity retries.
   */
  return async function startRun(s: ScheduleRow, runWorkflowId: string): Promise<RunStart> {
    const actor = `schedule:${s.name}`;
    const who: Requester = {
      actor,
      requestId: runWorkflowId,
      idempotency: {
        key: runWorkflowId,
        actor,
        method: 'POST',
        path: `/api/v1/maintenance-schedules/${s.id}/runs`,
        requestHash: createHash('sha256').update(runWorkflowId).digest('hex'),
        fieldHashes: {},
      },
    };
    try {
      const { operation } = await start(s, who);
      return { status: 'STARTED', operationId: operation.id };
    } catch (err) {
      if (!(err instanceof SophonError) || err.code === 'DEPENDENCY_UNAVAILABLE') throw err;
      if (err.code === 'CONFLICT') {
        // Refused before the lock was tried (the service is DEPLOYING, say): the lock names the operation.
        const holder = (err as SophonError & { holderOperationId?: string }).holderOperationId ?? (await lockHolder(s));
        const reason = holder && !err.message.includes(holder) ? `${err.message} (operation ${holder})` : err.message;
        return { status: 'SKIPPED', operationId: holder, reason };
      }
      return { status: 'FAILED', operationId: null, reason: err.message };
    }
  };
}

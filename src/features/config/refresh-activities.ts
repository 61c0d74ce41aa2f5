/**
 * Activities of refreshes: after a service's members change, the services that read it
 * (dependencies and optional dependencies) get a follow-up operation that re-renders their
 * files and rolls the instances whose files now differ from their hosts'.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { findCluster } from '../clusters/repo.js';
import { hostsRepo } from '../hosts/repo.js';
import { targetOf } from '../hosts/activities.js';
import { createOperationsService } from '../operations/service.js';
import { renderInstanceFiles, sceneOf } from '../services/render.js';
import { effectiveValues } from './groups.js';
import { servicesRepo } from '../services/repo.js';
import { inRollingOrder, rollingPolicyOf } from '../services/activities/steps.js';
import { hostSums } from '../services/activities/on-host.js';
import { mapBounded } from '../../platform/concurrency.js';
import { notFound, SophonError } from '../../platform/errors.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';
import { configWorkflowIds, type FollowUp, type RefreshPlan } from './types.js';

export function createRefreshActivities({ pool, ssh, catalog, temporal, config, logger }: ActivityDeps) {
  const services = servicesRepo(pool);
  const hosts = hostsRepo(pool);
  const operations = createOperationsService({ config, pool, temporal, logger });

  return {
    /** The instances whose rendered files differ from what their hosts have; an unreachable host counts as differing. */
    async refreshPlan(serviceId: string): Promise<RefreshPlan> {
      const svc = await services.get(serviceId);
      if (!svc) throw notFound('Service', serviceId);
      const def = catalog.get(svc.name);
      const scene = await sceneOf(pool, svc, def);
      const config = await services.configSet(svc.id, svc.configVersion);
      const signal = Context.current().cancellationSignal;
      const checked = await mapBounded(inRollingOrder(def, scene.instances), 8, async (ref) => {
        Context.current().heartbeat(ref.host);
        const inst = scene.instances.find((i) => i.id === ref.id)!;
        const host = await hosts.get(inst.hostId);
        if (!host) throw notFound('Host', inst.hostId);
        const files = renderInstanceFiles(scene, inst, host.installRoot, effectiveValues(config, inst));
        const changed = await ssh
          .connect(targetOf(host))
          .then((conn) => hostSums(conn, files, signal))
          .then((sums) => files.filter((f) => sums.get(f.path) !== f.sha256).map((f) => f.path))
          .catch((err: Error) => [`(not read: ${err.message})`]);
        return { ...ref, files: changed, restart: inst.desiredState !== 'STOPPED' };
      });
      return {
        instances: checked.filter((i) => i.files.length > 0),
        unchanged: checked.filter((i) => i.files.length === 0).length,
        ...rollingPolicyOf(def),
      };
    },

    /**
     * Starts a refresh of every active service that reads `serviceId`, once per causing
     * operation (a retry gets the same operations back); a dependent busy with another
     * operation is reported, not waited for.
     */
    async startDependentRefreshes(input: { operationId: string; serviceId: string }): Promise<FollowUp[]> {
      const svc = await services.get(input.serviceId);
      if (!svc) return [];
      const cluster = await findCluster(pool, svc.clusterId);
      const readers = (await services.list(svc.clusterId)).filter((d) => {
        if (d.id === svc.id || d.status !== 'ACTIVE' || !catalog.has(d.name)) return false;
        const def = catalog.get(d.name);
        return [...def.dependencies, ...def.optionalDependencies].includes(svc.name);
      });
      const followUps: FollowUp[] = [];
      for (const d of readers) {
        try {
          const { operation } = await operations.start({
            type: 'service.refresh',
            workflowType: 'refreshServiceWorkflow',
            workflowId: (opId) => configWorkflowIds.refresh(cluster.name, d.name, opId),
            args: (opId) => ({ operationId: opId, serviceId: d.id, cause: { operationId: input.operationId, service: svc.name } }),
            cluster: { id: cluster.id, name: cluster.name },
            service: d.name,
            lock: { service: d.name },
            requestedBy: 'sophon',
            idempotency: {
              key: `refresh:${input.operationId}:${d.name}`,
              actor: 'sophon',
              method: 'POST',
              path: `/follow-ups/${input.operationId}`,
              requestHash: createHash('sha256').update(d.name).digest('hex'),
              fieldHashes: {},
            },
          });
          followUps.push({ service: d.name, operationId: operation.id });
        } catch (err) {
          if (!(err instanceof SophonError) || err.status >= 500) throw err;
          followUps.push({ service: d.name, refused: `${err.message}; refresh it by hand (POST .../services/${d.name}/refresh)` });
        }
      }
      return followUps;
    },
  };
}

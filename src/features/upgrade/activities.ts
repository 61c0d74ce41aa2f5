/**
 * Activities of upgrades besides the host steps they share with other service operations
 * (src/features/services/activities/steps.ts): the reachability pre-check, the versions instances run, and the
 * service's version once an upgrade ends.
 */
import { hostsRepo } from '../hosts/repo.js';
import { notFound } from '../../platform/errors.js';
import { servicesRepo } from '../services/repo.js';
import { sh } from '../../platform/ssh/index.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';
import { targetOf } from '../hosts/activities.js';
import { trackStep } from '../operations/steps.js';

export function createUpgradeActivities({ pool, ssh }: ActivityDeps) {
  const services = servicesRepo(pool);
  const hosts = hostsRepo(pool);

  return {
    /** A quick `true` over SSH: the host answers now. */
    async checkHostReachable(input: { operationId: string; phase: string; hostId: string }): Promise<void> {
      const host = await hosts.get(input.hostId);
      if (!host) throw notFound('Host', input.hostId);
      await trackStep(
        pool,
        { operationId: input.operationId, host: host.hostname, phase: input.phase, step: 'reachable' },
        async (output) => {
          await ssh.exec(targetOf(host), sh`true`, { timeoutMs: 15_000, signal: output.signal });
          return { outcome: { message: `${host.hostname} answers over SSH` } };
        },
      );
    },

    /** Instance id → the version it runs (the service's when the instance has none recorded). */
    async instanceVersions(serviceId: string): Promise<Record<string, string | null>> {
      const svc = await services.get(serviceId);
      if (!svc) throw notFound('Service', serviceId);
      return Object.fromEntries((await services.instances(serviceId)).map((i) => [i.id, i.version ?? svc.version]));
    },

    async markServiceUpgraded(serviceId: string, version: string): Promise<void> {
      await services.markUpgraded(serviceId, version);
    },

    async dropServiceTarget(serviceId: string): Promise<void> {
      await services.dropTarget(serviceId);
    },
  };
}

/** Activities of scale operations that only read or write Postgres: the plan and the membership rows. */
import { notFound } from '../../platform/errors.js';
import { servicesRepo, type InstanceRow } from '../services/repo.js';
import type { InstanceRef } from '../services/types.js';
import { initPlanOf } from '../services/activities/steps.js';
import type { ScalePlan, ScaleServiceInput } from './types.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';

export function createScaleActivities({ pool, catalog }: ActivityDeps) {
  const services = servicesRepo(pool);

  return {
    /** Who joins, who leaves, who stays, in rolling order, with the role's membership rule. */
    async scalePlan(input: ScaleServiceInput): Promise<ScalePlan> {
      const svc = await services.get(input.serviceId);
      if (!svc) throw notFound('Service', input.serviceId);
      const def = catalog.get(svc.name);
      const role = def.roles.find((r) => r.name === input.role);
      if (!role) throw notFound('Role', `${svc.name}/${input.role}`);
      const all = await services.instances(svc.id);
      const reverse = def.rolling.order === 'reverse-index';
      const ordered = all.filter((i) => i.role === role.name).sort((a, b) => (reverse ? b.idx - a.idx : a.idx - b.idx));
      const joining = new Set(input.add);
      const ref = (i: InstanceRow): InstanceRef => ({
        id: i.id,
        role: i.role,
        host: i.hostname,
        hostId: i.hostId,
        startOrder: role.startOrder,
        ...(joining.has(i.id) ? initPlanOf(def, i, all) : {}),
      });
      const leaving = new Set(input.remove);
      // A host keeps the service's files while another of its instances stays there.
      const hostsOf = (rows: InstanceRow[], others: InstanceRow[]) => {
        const kept = new Set(others.map((i) => i.hostId));
        const hosts = new Map(rows.filter((i) => !kept.has(i.hostId)).map((i) => [i.hostId, i.hostname]));
        return [...hosts].map(([hostId, hostname]) => ({ hostId, hostname }));
      };
      return {
        joining: ordered
          .filter((i) => joining.has(i.id))
          .sort((a, b) => a.idx - b.idx)
          .map(ref),
        peers: ordered.filter((i) => !joining.has(i.id)).map(ref),
        leaving: ordered.filter((i) => leaving.has(i.id)).map(ref),
        survivors: ordered.filter((i) => !leaving.has(i.id)).map(ref),
        installHosts: hostsOf(
          all.filter((i) => joining.has(i.id)),
          all.filter((i) => !joining.has(i.id)),
        ),
        removeHosts: hostsOf(
          all.filter((i) => leaving.has(i.id)),
          all.filter((i) => !leaving.has(i.id)),
        ),
        decommission: def.decommission.flatMap((s, index) => (s.role === role.name ? [{ index, name: s.name }] : [])),
        membership: { peers: role.membership?.peers ?? false, quorum: role.membership?.quorum ?? false },
        leaderRole: def.rolling.order === 'followers-first' && def.rolling.leader?.role === role.name ? role.name : null,
        leaderHandoff:
          def.rolling.order === 'followers-first' && def.rolling.leader?.role === role.name && def.rolling.leader.handoff !== undefined,
        rolling: { batchSize: def.rolling.batchSize, maxFailures: 0, pauseSeconds: def.rolling.pauseSeconds },
      };
    },

    /** Leaving members drop out of their peers' configurations from now on. */
    async markLeaving(instanceIds: string[]): Promise<void> {
      await services.setLeaving(instanceIds);
    },

    async forgetInstances(instanceIds: string[]): Promise<void> {
      await services.deleteInstances(instanceIds);
    },
  };
}

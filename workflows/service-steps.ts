/**
 * Steps shared by service workflows: the activity proxies, one instance's steps in order,
 * stopping by start order, removing files, and the rolling loop (batches in the definition's
 * order, the leader last, found anew before each batch).
 */
import { ActivityCancellationType, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Engine } from './engine.js';
import type { InstanceRef, RollingPolicy } from './shared.js';

/** Hosts worked on at once by one operation. */
export const HOST_CONCURRENCY = 50;

// Host steps heartbeat every few seconds: a dead worker or a hung host is noticed within 20 s.
// Transient failures retry here; once retries are spent the engine holds for a decision.
// A cancel waits for the step to confirm that its remote process is gone.
export const host = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3 },
});
export const db = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

export type InstanceStep = 'configure' | 'stop' | 'start' | 'health';
const RUN: Record<InstanceStep, typeof host.startInstance> = {
  configure: host.configureInstance,
  stop: host.stopInstance,
  start: host.startInstance,
  health: host.checkInstanceHealth,
};

/** Instances grouped by the definition's start order, lowest first. */
export function byStartOrder(instances: InstanceRef[]): InstanceRef[][] {
  const orders = [...new Set(instances.map((i) => i.startOrder))].sort((a, b) => a - b);
  return orders.map((o) => instances.filter((i) => i.startOrder === o));
}

/** Runs steps on one instance in order; false (and the host is noted) when one is skipped or tolerated. */
export async function onInstance(
  engine: Engine,
  operationId: string,
  phase: string,
  i: InstanceRef,
  steps: InstanceStep[],
  opts?: { tolerate?: () => boolean },
): Promise<boolean> {
  for (const step of steps) {
    const ok = await engine.step(
      { host: i.host, role: i.role, phase, step },
      () => RUN[step]({ operationId, phase, instanceId: i.id }),
      opts,
    );
    if (!ok) return false;
  }
  return true;
}

/** Stops instances, last-started roles first. */
export async function stopAll(engine: Engine, operationId: string, phase: string, instances: InstanceRef[], skipped: Set<string>) {
  for (const group of byStartOrder(instances).reverse()) {
    await engine.forEach(group, HOST_CONCURRENCY, async (i) => {
      if (!(await onInstance(engine, operationId, phase, i, ['stop']))) skipped.add(i.host);
    });
  }
}

/** Removes the service's files from hosts (the whole service directory under each install root). */
export async function removeFromHosts(
  engine: Engine,
  operationId: string,
  serviceId: string,
  phase: string,
  hosts: Array<{ hostId: string; hostname: string }>,
) {
  await engine.forEach(hosts, HOST_CONCURRENCY, async (h) => {
    await engine.step({ host: h.hostname, phase, step: 'remove-files' }, () =>
      host.removeServiceFromHost({ operationId, phase, serviceId, hostId: h.hostId }),
    );
  });
}

export interface Roll {
  serviceId: string;
  /** In rolling order. */
  instances: InstanceRef[];
  steps: InstanceStep[];
  policy: RollingPolicy;
  /** Role whose leader goes last (the definition's leader check), or null. */
  leaderRole: string | null;
  /** Phase name of a batch, e.g. `restart batch`. */
  phase: string;
}

/**
 * Runs `steps` on instances batch by batch; the leader goes last. Up to `maxFailures`
 * failing instances are tolerated (listed in `failed`); skipped hosts go to `skipped`.
 */
export async function rollInstances(engine: Engine, operationId: string, roll: Roll, skipped: Set<string>, failed: string[]): Promise<number> {
  const { policy } = roll;
  const queue = [...roll.instances];
  const total = Math.ceil(queue.length / policy.batchSize);
  const tolerate = () => failed.length < policy.maxFailures;
  for (let n = 1; queue.length > 0; n++) {
    // The leader goes last, found anew before each batch (leadership moves during a roll).
    let candidates = queue;
    if (roll.leaderRole && queue.some((i) => i.role === roll.leaderRole)) {
      const leader = await db.findLeader(roll.serviceId, roll.leaderRole);
      const followers = queue.filter((i) => i.id !== leader);
      if (followers.length > 0) candidates = followers;
    }
    const batch = candidates.slice(0, policy.batchSize);
    for (const i of batch) queue.splice(queue.indexOf(i), 1);
    const phase = `${roll.phase} ${n}`;
    await engine.phase(`${phase} of ${total}`);
    await engine.forEach(batch, policy.batchSize, async (i) => {
      const ok = await onInstance(engine, operationId, phase, i, roll.steps, {
        tolerate: () => (tolerate() ? (failed.push(`${i.role}@${i.host}`), true) : false),
      });
      if (!ok && !failed.includes(`${i.role}@${i.host}`)) skipped.add(i.host);
    });
    if (queue.length > 0 && policy.pauseSeconds > 0) await sleep(policy.pauseSeconds * 1000);
  }
  return total;
}

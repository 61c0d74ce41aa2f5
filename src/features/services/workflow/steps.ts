/**
 * Building blocks of service workflows: the activity proxies, instance steps run through the
 * engine, stop/start in the definition's order, and the rolling loop (batches, leader last).
 */
import { ActivityCancellationType, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';
import type { Engine } from '../../operations/workflow/engine.js';
import type { InstanceRef, RollingPolicy } from '../types.js';
import { proxyHostActivities } from '../../operations/workflow/step-summary.js';

/** Hosts worked on at once by one operation. */
export const HOST_CONCURRENCY = 50;

// Host steps heartbeat every few seconds: a dead worker or a hung host is noticed within 20 s.
// Transient failures retry here; once retries are spent the engine holds for a decision.
// A cancel waits for the step to confirm that its remote process is gone.
export const host = proxyHostActivities({
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

/** Runs the instance's init steps (those it has), then starts it and waits until it is healthy. */
export async function initAndStart(engine: Engine, operationId: string, phase: string, i: InstanceRef): Promise<boolean> {
  for (const s of i.init ?? []) {
    const ok = await engine.step({ host: i.host, role: i.role, phase, step: `init: ${s.name}` }, () =>
      host.initInstance({ operationId, phase, instanceId: i.id, step: s.step }),
    );
    if (!ok) return false;
  }
  return onInstance(engine, operationId, phase, i, ['start', 'health']);
}

/** Instances that wait for their role's first instance come in a second wave. */
export function startWaves(group: InstanceRef[]): InstanceRef[][] {
  return [group.filter((i) => !i.afterFirst), group.filter((i) => i.afterFirst)].filter((w) => w.length > 0);
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

/**
 * Takes the next rolling batch off `queue` (kept in the definition's order): the leader goes
 * last, found anew before each batch because leadership moves during a roll.
 */
export async function nextBatch(
  serviceId: string,
  queue: InstanceRef[],
  leaderRole: string | null,
  batchSize: number,
): Promise<{ batch: InstanceRef[]; leader: string | null }> {
  let candidates = queue;
  let leader: string | null = null;
  if (leaderRole && queue.some((i) => i.role === leaderRole)) {
    leader = await db.findLeader(serviceId, leaderRole);
    const followers = queue.filter((i) => i.id !== leader);
    if (followers.length > 0) candidates = followers;
  }
  const batch = candidates.slice(0, batchSize);
  for (const i of batch) queue.splice(queue.indexOf(i), 1);
  return { batch, leader };
}

/**
 * The definition's `rolling.leader.handoff` as a step on the leader before it goes down (an HA
 * NameNode fails over to its standby first); undefined when the plan has none.
 */
export function leaderHandoff(engine: Engine, operationId: string, plan: { leaderHandoff?: boolean }): RollingRun['handoff'] {
  if (!plan.leaderHandoff) return undefined;
  return (i, phase) =>
    engine.step({ host: i.host, role: i.role, phase, step: 'handoff' }, () =>
      host.handOffLeadership({ operationId, phase, instanceId: i.id }),
    );
}

export interface RollingRun {
  serviceId: string;
  /** In rolling order. */
  instances: InstanceRef[];
  policy: RollingPolicy;
  /** With a leader role, its current leader goes last, found anew before each batch. */
  leaderRole: string | null;
  phase: (batch: number) => string;
  /** Instances (`role@host`) whose failure was tolerated under `maxFailures`; filled in. */
  failed: string[];
  /** Hosts whose step was skipped by the operator; filled in. */
  skipped: Set<string>;
  /** Works on one instance; false when a step was skipped or tolerated. */
  run: (i: InstanceRef, phase: string, tolerate: () => boolean) => Promise<boolean>;
  /** Runs on the leader before `run` takes it down (see leaderHandoff). */
  handoff?: ((leader: InstanceRef, phase: string) => Promise<boolean>) | undefined;
}

/** Batch by batch, `pauseSeconds` apart, tolerating up to `maxFailures` failed instances. */
export async function rollingBatches(engine: Engine, r: RollingRun): Promise<{ batches: number }> {
  const { policy, failed } = r;
  const queue = [...r.instances];
  const total = Math.ceil(queue.length / policy.batchSize);
  for (let n = 1; queue.length > 0; n++) {
    const { batch, leader } = await nextBatch(r.serviceId, queue, r.leaderRole, policy.batchSize);
    const phase = r.phase(n);
    await engine.phase(`${phase} of ${total}`);
    await engine.forEach(batch, policy.batchSize, async (i) => {
      const name = `${i.role}@${i.host}`;
      if (r.handoff && i.id === leader && !(await r.handoff(i, phase))) return void r.skipped.add(i.host);
      const ok = await r.run(i, phase, () => (failed.length < policy.maxFailures ? (failed.push(name), true) : false));
      if (!ok && !failed.includes(name)) r.skipped.add(i.host);
    });
    if (queue.length > 0 && policy.pauseSeconds > 0) await sleep(policy.pauseSeconds * 1000);
  }
  return { batches: total };
}

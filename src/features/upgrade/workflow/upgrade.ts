/**
 * Rolling upgrade (or downgrade) of a service to another of its definition's versions.
 * Pre-checks first (hosts answer, instances healthy, packages in the repository with their
 * sha256): one failing ends the operation FAILED with nothing changed. Then batch by batch in
 * the definition's rolling order: stop → install the version and point `current` at it (the
 * old version stays on disk) → render configs for it → start → health gate. A failing step
 * holds; `rollback` returns every instance the upgrade began on to the version it ran, in
 * reverse order, through the same steps and gates.
 */
import { ActivityCancellationType, ApplicationFailure, isCancellation, sleep } from '@temporalio/workflow';
import { mapBounded } from '../../../platform/concurrency.js';
import { createEngine, type Engine } from '../../operations/workflow/engine.js';
import { describeFailure, runOperation } from '../../operations/workflow/run-operation.js';
import { db, host, HOST_CONCURRENCY, nextBatch, onInstance } from '../../services/workflow/steps.js';
import type { InstanceRef, ServicePlan } from '../../services/types.js';
import type { UpgradeServiceInput } from '../types.js';
import { proxyHostActivities, stepSummary, withSummary } from '../../operations/workflow/step-summary.js';

/** How long a pre-check gives an instance to pass its health checks. */
const PRECHECK_HEALTH_SECONDS = 15;
/** Pre-check failures named in the operation's error; the rest are counted. */
const PROBLEMS_NAMED = 10;

// A pre-check is tried twice, then counts as failed: nothing holds before anything changed.
const checks = proxyHostActivities({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', maximumAttempts: 2 },
});

/** An instance and the version it is moved to. */
interface Move {
  i: InstanceRef;
  version: string;
}

const nameOf = (i: InstanceRef) => `${i.role}@${i.host}`;

/** Runs every pre-check (none stops the others); returns what failed, named. */
async function preChecks(operationId: string, serviceId: string, version: string, plan: ServicePlan): Promise<string[]> {
  const phase = 'pre-checks';
  const problems: string[] = [];
  const check = async (
    what: string,
    step: { host: string; role?: string; step: string },
    run: () => Promise<unknown>,
  ): Promise<boolean> => {
    try {
      await withSummary(stepSummary({ ...step, phase }), run);
      return true;
    } catch (err) {
      if (isCancellation(err)) throw err;
      problems.push(`${what}: ${describeFailure(err).message}`);
      return false;
    }
  };
  const unreachable = new Set<string>();
  await mapBounded(plan.hosts, HOST_CONCURRENCY, async (h) => {
    const reachable = () => checks.checkHostReachable({ operationId, phase, hostId: h.hostId });
    if (!(await check(`${h.hostname} is unreachable`, { host: h.hostname, step: 'reachable' }, reachable))) unreachable.add(h.hostId);
    const usable = () => checks.verifyServicePackage({ operationId, phase, serviceId, hostId: h.hostId, version });
    await check(`${h.hostname} has no usable package`, { host: h.hostname, step: `package ${version}` }, usable);
  });
  await mapBounded(
    plan.instances.filter((i) => !unreachable.has(i.hostId)),
    HOST_CONCURRENCY,
    (i) =>
      check(`${nameOf(i)} is not healthy`, { host: i.host, role: i.role, step: 'health' }, () =>
        checks.checkInstanceHealth({ operationId, phase, instanceId: i.id, waitSeconds: PRECHECK_HEALTH_SECONDS }),
      ),
  );
  return problems;
}

/**
 * Moves one batch: stop, install the version on its hosts (switching `current`), configure
 * for it, start and health gate. Returns the instances that did not make it (a step skipped
 * by the operator or a failure `tolerate` accepted).
 */
async function moveBatch(
  engine: Engine,
  { operationId, serviceId }: UpgradeServiceInput,
  phase: string,
  batch: Move[],
  tolerate: (name: string) => boolean,
): Promise<InstanceRef[]> {
  const dropped = new Set<string>();
  const width = Math.max(batch.length, 1);
  const opts = (i: InstanceRef) => ({ tolerate: () => tolerate(nameOf(i)) });
  await engine.forEach(batch, width, async ({ i }) => {
    if (!(await onInstance(engine, operationId, phase, i, ['stop'], opts(i)))) dropped.add(i.id);
  });
  const perHost = new Map<string, Move>();
  for (const m of batch) if (!dropped.has(m.i.id) && !perHost.has(m.i.hostId)) perHost.set(m.i.hostId, m);
  await engine.forEach([...perHost.values()], width, async ({ i, version }) => {
    const ok = await engine.step(
      { host: i.host, phase, step: 'install' },
      () => host.installServicePackage({ operationId, phase, serviceId, hostId: i.hostId, version }),
      opts(i),
    );
    if (!ok) for (const m of batch) if (m.i.hostId === i.hostId) dropped.add(m.i.id);
  });
  await engine.forEach(
    batch.filter((m) => !dropped.has(m.i.id)),
    width,
    async ({ i, version }) => {
      const ok =
        (await engine.step(
          { host: i.host, role: i.role, phase, step: 'configure' },
          () => host.configureInstance({ operationId, phase, instanceId: i.id, version }),
          opts(i),
        )) && (await onInstance(engine, operationId, phase, i, ['start', 'health'], opts(i)));
      if (!ok) dropped.add(i.id);
    },
  );
  return batch.filter((m) => dropped.has(m.i.id)).map((m) => m.i);
}

export async function upgradeServiceWorkflow(input: UpgradeServiceInput) {
  const { operationId, serviceId, version } = input;
  const engine = createEngine(operationId, {
    canRollback: false,
    noRollbackReason: 'the pre-checks have changed nothing yet; use retry, skip or abort',
  });
  // Every instance the upgrade began on, in order, with the version it ran before.
  const begun: Move[] = [];
  let batchSize = 1;

  return runOperation(
    operationId,
    async () => {
      const plan = await db.servicePlan(serviceId);
      const versions = await db.instanceVersions(serviceId);
      const todo = new Set(plan.instances.filter((i) => versions[i.id] !== version).map((i) => i.id));
      if (todo.size === 0) {
        await db.markServiceUpgraded(serviceId, version);
        return { version, nothingToDo: true, message: `every instance runs ${version} already; nothing to do`, upgraded: [] };
      }

      const todoHosts = new Set(plan.instances.filter((i) => todo.has(i.id)).map((i) => i.hostId)).size;
      await engine.plan(plan.hosts.length * 2 + plan.instances.length + todo.size * 4 + todoHosts);
      await engine.phase('pre-checks');
      const problems = await preChecks(operationId, serviceId, version, plan);
      if (problems.length > 0) {
        await db.dropServiceTarget(serviceId);
        const more = problems.length > PROBLEMS_NAMED ? `; and ${problems.length - PROBLEMS_NAMED} more` : '';
        throw ApplicationFailure.nonRetryable(
          `Pre-checks failed, nothing was changed: ${problems.slice(0, PROBLEMS_NAMED).join('; ')}${more}`,
          'PRECHECK_FAILED',
        );
      }

      const order = await db.actionPlan({ serviceId, action: 'restart' });
      const policy = { ...order.rolling, ...input.rolling };
      batchSize = policy.batchSize;
      const queue = order.instances.filter((i) => todo.has(i.id));
      engine.allowRollback(true);
      const failed: string[] = [];
      const skipped = new Set<string>();
      const upgraded: string[] = [];
      const tolerate = (name: string) => (failed.length < policy.maxFailures ? (failed.push(name), true) : false);
      let n = 0;
      while (queue.length > 0) {
        n++;
        const { batch } = await nextBatch(serviceId, queue, order.leaderRole, policy.batchSize);
        // Instances on one host share its `current` link, so they move together.
        for (const other of queue.filter((q) => batch.some((b) => b.hostId === q.hostId))) {
          batch.push(other);
          queue.splice(queue.indexOf(other), 1);
        }
        const phase = `upgrade batch ${n}`;
        await engine.phase(`${phase} (${queue.length} instances after it)`);
        begun.push(...batch.map((i) => ({ i, version: versions[i.id] ?? version })));
        const dropped = await moveBatch(
          engine,
          input,
          phase,
          batch.map((i) => ({ i, version })),
          tolerate,
        );
        for (const i of batch) {
          if (!dropped.includes(i)) upgraded.push(nameOf(i));
          else if (!failed.includes(nameOf(i))) skipped.add(i.host);
        }
        if (queue.length > 0 && policy.pauseSeconds > 0) await sleep(policy.pauseSeconds * 1000);
      }
      const complete = failed.length === 0 && skipped.size === 0;
      if (complete) await db.markServiceUpgraded(serviceId, version);
      return {
        version,
        batches: n,
        upgraded,
        skippedHosts: [...skipped].sort(),
        failed,
        ...(complete ? {} : { message: `not every instance runs ${version}, so the service keeps its version` }),
      };
    },
    // Every instance the upgrade began on goes back to its version, last first, batch by batch.
    async (reason) => {
      engine.allowRollback(false, 'the operation is already rolling back');
      const back = [...begun].reverse();
      const skipped = new Set<string>();
      const batches = Math.ceil(back.length / batchSize);
      for (let k = 0; k < batches; k++) {
        const phase = `rollback batch ${k + 1}`;
        await engine.phase(`${phase} of ${batches}`);
        const dropped = await moveBatch(engine, input, phase, back.slice(k * batchSize, (k + 1) * batchSize), () => false);
        for (const i of dropped) skipped.add(i.host);
      }
      await db.dropServiceTarget(serviceId);
      return { reason, restored: back.map((m) => `${nameOf(m.i)}: ${m.version}`), skippedHosts: [...skipped].sort() };
    },
  );
}

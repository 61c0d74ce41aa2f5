/**
 * Fake activities for the service workflows, registered under the real activity names: each
 * operation's hosts, the failures a test injects into its steps, and what the workflow asked
 * for (calls in order, reported states, skipped steps, the final outcome).
 */
import { randomUUID } from 'node:crypto';
import type { Activities } from '../../../activities/index.js';
import type { StepKey } from '../../../src/features/operations/steps.js';
import type { OperationState, OperationStatus } from '../../../src/features/operations/repo.js';
import type { OperationError } from '../../../src/features/operations/types.js';

type FakeActivities = Pick<
  Activities,
  | 'markOperationRunning'
  | 'startDependentRefreshes'
  | 'finishOperation'
  | 'reportOperationState'
  | 'recordSkippedStep'
  | 'servicePlan'
  | 'actionPlan'
  | 'findLeader'
  | 'installServicePackage'
  | 'configureInstance'
  | 'startInstance'
  | 'checkInstanceHealth'
  | 'stopInstance'
  | 'removeServiceFromHost'
  | 'markServiceDeployed'
  | 'setServiceStatus'
  | 'deleteServiceRows'
>;

const worlds = new Map<string, FakeOperation>();

/** One operation on one service with one `server` instance on each host. */
export class FakeOperation {
  readonly operationId = randomUUID();
  readonly serviceId = randomUUID();
  /** Host steps as `<step> <host>` and service bookkeeping by activity name, in the order they ran (every attempt). */
  readonly calls: string[] = [];
  readonly skipped: Array<{ key: StepKey; reason: string }> = [];
  finished?: { status: OperationStatus; result?: unknown; error?: OperationError };
  private newest?: { seq: number; state: OperationState };
  private readonly failures = new Map<string, Error>();
  private readonly gates = new Map<string, { entered: () => void; released: Promise<void> }>();

  constructor(readonly hosts: string[]) {
    worlds.set(this.operationId, this);
    worlds.set(this.serviceId, this);
  }

  /** The newest state the workflow reported (Postgres keeps the highest sequence number). */
  get state(): OperationState | undefined {
    return this.newest?.state;
  }

  /** Every attempt of `call` (e.g. `install h2`) throws `error` until healed. */
  fail(call: string, error: Error): void {
    this.failures.set(call, error);
  }

  heal(call: string): void {
    this.failures.delete(call);
  }

  /** `call` waits once it has started until released; `entered` settles when it has started. */
  gate(call: string): { entered: Promise<void>; release: () => void } {
    let entered!: () => void;
    let release!: () => void;
    const started = new Promise<void>((resolve) => (entered = resolve));
    this.gates.set(call, { entered, released: new Promise<void>((resolve) => (release = resolve)) });
    return { entered: started, release };
  }

  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  instanceId(host: string): string {
    return `${this.serviceId}/server@${host}`;
  }

  async run(call: string): Promise<void> {
    this.calls.push(call);
    const gate = this.gates.get(call);
    if (gate) {
      this.gates.delete(call);
      gate.entered();
      await gate.released;
    }
    const error = this.failures.get(call);
    if (error) throw error;
  }

  report(seq: number, state: OperationState): void {
    if (!this.newest || seq > this.newest.seq) this.newest = { seq, state };
  }

  get instances() {
    return this.hosts.map((host) => ({ id: this.instanceId(host), role: 'server', host, hostId: `id-${host}`, startOrder: 0 }));
  }
}

function world(id: string): FakeOperation {
  const w = worlds.get(id);
  if (!w) throw new Error(`no fake operation or service ${id}`);
  return w;
}

const hostOf = (hostId: string) => hostId.replace(/^id-/, '');
const instanceHost = (instanceId: string) => instanceId.slice(instanceId.indexOf('@') + 1);

export function fakeActivities(): FakeActivities {
  return {
    async markOperationRunning(operationId) {
      world(operationId).calls.push('markOperationRunning');
    },
    async finishOperation(operationId, status, outcome) {
      world(operationId).finished = { status, ...outcome };
    },
    async reportOperationState(operationId, seq, state) {
      world(operationId).report(seq, state);
    },
    async recordSkippedStep(key, reason) {
      world(key.operationId).skipped.push({ key, reason });
    },
    async servicePlan(serviceId) {
      const w = world(serviceId);
      return { hosts: w.hosts.map((h) => ({ hostId: `id-${h}`, hostname: h })), instances: w.instances };
    },
    async actionPlan(input) {
      const w = world(input.serviceId);
      return {
        instances: w.instances.filter((i) => !input.hosts?.length || input.hosts.includes(i.host)),
        rolling: { batchSize: 1, maxFailures: 0, pauseSeconds: 0 },
        leaderRole: null,
        leaderHandoff: false,
      };
    },
    async findLeader() {
      return null;
    },
    async installServicePackage(input) {
      await world(input.operationId).run(`install ${hostOf(input.hostId)}`);
    },
    async configureInstance(input) {
      await world(input.operationId).run(`configure ${instanceHost(input.instanceId)}`);
    },
    async startInstance(input) {
      await world(input.operationId).run(`start ${instanceHost(input.instanceId)}`);
    },
    async checkInstanceHealth(input) {
      await world(input.operationId).run(`health ${instanceHost(input.instanceId)}`);
    },
    async stopInstance(input) {
      await world(input.operationId).run(`stop ${instanceHost(input.instanceId)}`);
    },
    async removeServiceFromHost(input) {
      await world(input.operationId).run(`remove-files ${hostOf(input.hostId)}`);
    },
    async markServiceDeployed(serviceId) {
      world(serviceId).calls.push('markServiceDeployed');
    },
    // No service reads the fake one.
    async startDependentRefreshes() {
      return [];
    },
    async setServiceStatus(serviceId, status) {
      world(serviceId).calls.push(`setServiceStatus ${status}`);
    },
    async deleteServiceRows(serviceId) {
      world(serviceId).calls.push('deleteServiceRows');
    },
  };
}

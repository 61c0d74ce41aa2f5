import { hostsRepo, type Host, type HostStatus } from './repo.js';
import { notFound, SophonError } from '../../platform/errors.js';
import { checkPrerequisites, gatherFacts, sh, type HostFacts, type SshTarget } from '../../platform/ssh/index.js';
import { mapBounded } from '../../platform/concurrency.js';
import type { BootstrapStep } from './types.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';
import { trackStep, type StepOutput } from '../operations/steps.js';

export interface BootstrapStepInput {
  operationId: string;
  hostId: string;
  step: BootstrapStep;
}

/** What every host must offer before Sophon installs anything on it. */
export const HOST_REQUIREMENTS = {
  minFreeBytes: 512 * 2 ** 20,
  commands: ['sh', 'tar', 'gzip', 'sha256sum', 'mkdir', 'kill'],
};

export const targetOf = (host: Host): SshTarget => ({
  host: host.hostname,
  address: host.address,
  port: host.port,
  credential: host.credentialId,
  cluster: host.clusterName,
  ...(host.hostKeyFingerprint ? { hostKeyFingerprint: host.hostKeyFingerprint } : {}),
});

export function createHostActivities({ pool, ssh }: ActivityDeps) {
  const hosts = hostsRepo(pool);

  async function load(hostId: string): Promise<Host> {
    const host = await hosts.get(hostId);
    if (!host) throw notFound('Host', hostId);
    return host;
  }

  const steps: Record<BootstrapStep, (host: Host, output: StepOutput) => Promise<{ message: string }>> = {
    // Trust on first use: the key seen now is pinned; later connections must present it.
    async connect(host) {
      const conn = await ssh.connect(targetOf(host));
      const pinned = await hosts.pinHostKey(host.id, conn.hostKeyFingerprint);
      return { message: `connected to ${conn.endpoint}; host key ${pinned}` };
    },
    async facts(host, { signal }) {
      const facts = await gatherFacts(await ssh.connect(targetOf(host)), host.installRoot, { signal });
      await hosts.setFacts(host.id, facts);
      return { message: `${facts.os.prettyName}, ${facts.arch}, ${facts.cpus} CPUs, clock offset ${facts.clockOffsetMs} ms` };
    },
    async prerequisites(host) {
      if (!host.facts) throw new SophonError('PREREQUISITES_FAILED', `No facts recorded for ${host.hostname}; run the facts step first`);
      const { ok, problems } = checkPrerequisites(host.facts as unknown as HostFacts, HOST_REQUIREMENTS);
      if (!ok) {
        throw new SophonError(
          'PREREQUISITES_FAILED',
          `${host.hostname} does not meet the prerequisites: ${problems.map((p) => p.message).join('; ')}`,
        );
      }
      return { message: 'all prerequisites met' };
    },
    async 'install-root'(host, io) {
      const conn = await ssh.connect(targetOf(host));
      await conn.run(sh`mkdir -p -- ${host.installRoot} && test -w ${host.installRoot}`, { timeoutMs: 30_000, ...io });
      return { message: `install root ${host.installRoot} ready` };
    },
  };

  return {
    async bootstrapHostStep(input: BootstrapStepInput): Promise<void> {
      const host = await load(input.hostId);
      await trackStep(pool, { operationId: input.operationId, host: host.hostname, step: input.step }, async (output) => {
        const { message } = await steps[input.step](host, output);
        return { outcome: { message } };
      });
    },

    /** The hosts an operation bootstraps (workflow inputs carry only the operation id). */
    async operationHostIds(operationId: string): Promise<string[]> {
      return hosts.idsOfOperation(operationId);
    },

    /** The hosts an operation bootstraps, with their names (its child workflows are named by them). */
    async operationHosts(operationId: string): Promise<Array<{ id: string; hostname: string }>> {
      return hosts.ofOperation(operationId);
    },

    async setHostStatus(hostId: string, status: HostStatus, reason: string | null): Promise<void> {
      await hosts.setStatus(hostId, status, reason);
    },

    /** Checks every bootstrapped host with a trivial command and records READY or UNREACHABLE. */
    async probeHosts(): Promise<{ ready: number; unreachable: number }> {
      const counts = { ready: 0, unreachable: 0 };
      await mapBounded(await hosts.monitored(), 16, async (host) => {
        try {
          await ssh.exec(targetOf(host), sh`true`, { timeoutMs: 10_000 });
          await hosts.setStatus(host.id, 'READY', null);
          counts.ready++;
        } catch (err) {
          await hosts.setStatus(host.id, 'UNREACHABLE', err instanceof Error ? err.message : String(err));
          counts.unreachable++;
        }
      });
      return counts;
    },
  };
}

/**
 * The whole of Sophon in one process for benchmarks: embedded Postgres, a Temporal dev
 * server, the worker and the API, plus a fleet of real sshd hosts. Also measures the
 * controller's CPU: this process (API + worker) and the Temporal and Postgres process trees.
 * The fleet's sshd processes are the hosts' side and are left out.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/platform/settings.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { tokensRepo } from '../../src/features/tokens/repo.js';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres.js';
import { startEmbeddedTemporal } from '../../src/dev/embedded-temporal.js';
import { commandLine, findProcesses } from '../../src/dev/leftovers.js';
import { createLogger } from '../../src/platform/log.js';
import type { SshPool } from '../../src/platform/ssh/index.js';
import { connectCore, startApi, type Core } from '../../src/runtime.js';
import { createActivityDeps, installRuntimeLogger, startSophonWorker } from '../../src/worker.js';
import { descendants, startFleet, type Fleet } from '../../test/fleet/fleet.js';
import { freePort } from '../../test/helpers/ports.js';
import { treeCpuSeconds } from './cpu.js';

export interface OperationStep {
  host: string;
  /** Service steps only: e.g. `deploy`, `restart batch 2`. */
  phase?: string;
  step: string;
  status: string;
  attempt: number;
  durationMs: number | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Operation {
  id: string;
  type: string;
  status: string;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  steps?: OperationStep[];
}

/** What some work cost: wall time, the controller's CPU, the hosts' CPU and SSH sessions. */
export interface Usage {
  ms: number;
  /** Worker + API (this process), Temporal and Postgres. */
  cpuSeconds: number;
  /** The same, part by part (Sophon only). */
  cpuParts?: { worker: number; temporal: number; postgres: number };
  /** The fleet's sshd processes and what they ran. */
  hostCpuSeconds: number;
  /** Commands and SFTP sessions started on the hosts, from their sshd logs. */
  sshSessions: number;
  /** SSH logins (connections) the hosts accepted. */
  sshLogins: number;
}

export interface BenchStack {
  fleet: Fleet;
  /** Postgres pool, Temporal client and configuration of the stack (for fixtures and workflows the API does not start). */
  core: Core;
  /** Name of the credential that holds the fleet's client key. */
  credential: string;
  call<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Starts an operation (expects 202) and polls it until it SUCCEEDED; throws, printing it, otherwise. */
  runOperation(method: string, route: string, body?: unknown): Promise<Operation>;
  /**
   * Runs an operation and tells what it cost. Its wall time is the operation's own (row
   * created → finished), so polling can be slow and cost the controller next to nothing.
   */
  measureOperation(method: string, route: string, body?: unknown): Promise<{ operation: Operation; usage: Usage }>;
  /** The body of POST /api/v1/clusters/:cluster/hosts for the fleet's first `size` hosts. */
  hostsBody(size: number): unknown;
  /** Creates a cluster and bootstraps the first `size` fleet hosts into it. */
  bootstrap(cluster: string, size: number): Promise<Operation>;
  /** Starts measuring; the function it returns tells what was used since. */
  meter(): () => Usage;
  /** Closes the worker's pooled SSH connections, so the next operation connects afresh. */
  closeSshConnections(): void;
  stop(): Promise<void>;
}

const STOPPED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK', 'HOLDING']);

export async function startStack(opts: {
  hosts: number;
  base: string;
  packageRepo?: string;
  env?: Record<string, string>;
}): Promise<BenchStack> {
  const logger = createLogger('warn');
  installRuntimeLogger(logger);
  const scratch = await mkdtemp(path.join(tmpdir(), 'sophon-bench-'));
  await chmod(scratch, 0o755);
  // Whatever started is stopped again, in reverse, on the way out or when start-up fails.
  const stops: (() => Promise<void>)[] = [() => rm(scratch, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const fleet = await startFleet({ hosts: opts.hosts, baseAddress: opts.base });
    stops.push(() => fleet.stop());
    const postgresDir = path.join(scratch, 'postgres');
    const postgres = await startEmbeddedPostgres(postgresDir, await freePort(), logger);
    stops.push(() => postgres.stop());
    const temporal = await startEmbeddedTemporal({ namespace: 'default', cli: process.env.TEMPORAL_CLI, port: await freePort() }, logger);
    stops.push(() => temporal.stop());
    const masterKey = randomBytes(32);
    const config = loadConfig({
      SOPHON_HOME: scratch,
      DATABASE_URL: postgres.url,
      TEMPORAL_ADDRESS: temporal.address,
      SOPHON_API_PORT: '1',
      ...(opts.packageRepo ? { SOPHON_PACKAGE_REPO: opts.packageRepo } : {}),
      // The reachability probe would add SSH traffic of its own to the timings.
      SOPHON_HOST_CHECK_INTERVAL_SECONDS: '3600',
      // So would the clusters' polls (status checks and scrapes); bench/poll.ts starts its own.
      SOPHON_POLL_INTERVAL_SECONDS: '3600',
      ...opts.env,
    });
    await migrate(postgres.url, logger);
    const core = await connectCore(
      { ...config, api: { ...config.api, host: '127.0.0.1', port: 0 } },
      logger,
      { databaseUrl: postgres.url, temporalAddress: temporal.address },
      masterKey,
    );
    stops.push(() => core.close());
    const deps = await createActivityDeps(config, core.pool, logger, masterKey, temporal.address);
    const worker = await startSophonWorker({ config, address: temporal.address, deps });
    stops.push(() => worker.stop());
    const api = await startApi(core);
    stops.push(() => api.close());

    const mine = new Set(descendants(process.pid));
    const temporalPid = (await findProcesses((argv) => argv.includes('start-dev'))).find((pid) => mine.has(pid));
    const postgresPid = Number(readFileSync(path.join(postgresDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (temporalPid === undefined || !mine.has(postgresPid)) {
      throw new Error(`could not find the Temporal (${temporalPid}) and Postgres (${postgresPid}) processes this benchmark started`);
    }
    const sshdPids: number[] = [];
    for (const pid of mine) {
      // The listener names itself "sshd: /usr/sbin/sshd -D -e -f <fleet dir>/hostN/sshd_config [listener] ..."; sessions do not.
      const argv = (await commandLine(pid)).join(' ');
      if (argv.includes(`${fleet.dir}/`) && argv.includes('sshd_config')) sshdPids.push(pid);
    }
    if (sshdPids.length !== fleet.hosts.length) throw new Error(`found ${sshdPids.length} sshd processes for ${fleet.hosts.length} hosts`);
    return await connect(fleet, api.url, core, deps.ssh, { temporal: temporalPid, postgres: postgresPid, sshd: sshdPids }, stopAll);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function connect(
  fleet: Fleet,
  apiUrl: string,
  core: Core,
  ssh: SshPool,
  pids: { temporal: number; postgres: number; sshd: number[] },
  stop: () => Promise<void>,
): Promise<BenchStack> {
  const { token } = await tokensRepo(core.pool).create({ name: 'bench', role: 'admin', createdBy: 'bench' });
  const call = async <T>(method: string, route: string, body?: unknown) => {
    const res = await fetch(`${apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  const runOperation = async (method: string, route: string, body?: unknown) => {
    const answer = await call<{ operation?: Operation }>(method, route, body);
    if (answer.status !== 202 || !answer.body.operation) {
      throw new Error(`${method} ${route} answered ${answer.status}: ${JSON.stringify(answer.body, null, 2)}`);
    }
    for (;;) {
      const { body: polled } = await call<{ operation: Operation }>('GET', `/api/v1/operations/${answer.body.operation.id}`);
      const { operation } = polled;
      if (STOPPED.has(operation.status)) {
        if (operation.status !== 'SUCCEEDED') {
          throw new Error(`${method} ${route} ended ${operation.status}:\n${JSON.stringify(operation, null, 2)}`);
        }
        return operation;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  const credential = 'fleet';
  const created = await call('POST', '/api/v1/credentials', { name: credential, username: fleet.username, privateKey: fleet.clientKey });
  if (created.status !== 201) throw new Error(`creating the fleet credential answered ${created.status}: ${JSON.stringify(created.body)}`);

  const hostsBody = (size: number) => ({
    hosts: fleet.hosts
      .slice(0, size)
      .map((h) => ({ hostname: h.name, address: h.address, port: h.port, credential, installRoot: h.installRoot })),
  });

  const meter = () => {
    const parts = () => {
      const self = process.cpuUsage();
      return { worker: (self.user + self.system) / 1e6, temporal: treeCpuSeconds(pids.temporal), postgres: treeCpuSeconds(pids.postgres) };
    };
    const hostCpu = () => pids.sshd.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
    const logged = (line: RegExp) => fleet.hosts.reduce((sum, h) => sum + (readFileSync(h.logPath, 'utf8').match(line)?.length ?? 0), 0);
    const sessions = () => logged(/^Starting session: /gm);
    const logins = () => logged(/^Accepted publickey /gm);
    const start = { at: performance.now(), cpu: parts(), host: hostCpu(), sessions: sessions(), logins: logins() };
    return () => {
      const now = parts();
      const cpuParts = {
        worker: now.worker - start.cpu.worker,
        temporal: now.temporal - start.cpu.temporal,
        postgres: now.postgres - start.cpu.postgres,
      };
      return {
        ms: performance.now() - start.at,
        cpuSeconds: cpuParts.worker + cpuParts.temporal + cpuParts.postgres,
        cpuParts,
        hostCpuSeconds: hostCpu() - start.host,
        sshSessions: sessions() - start.sessions,
        sshLogins: logins() - start.logins,
      };
    };
  };

  return {
    fleet,
    core,
    credential,
    call,
    runOperation,
    async measureOperation(method, route, body) {
      const used = meter();
      const operation = await runOperation(method, route, body);
      return { operation, usage: { ...used(), ms: Date.parse(operation.finishedAt!) - Date.parse(operation.createdAt) } };
    },
    hostsBody,
    async bootstrap(cluster, size) {
      await runOperation('POST', '/api/v1/clusters', { name: cluster });
      return runOperation('POST', `/api/v1/clusters/${cluster}/hosts`, hostsBody(size));
    },
    meter,
    closeSshConnections: () => ssh.closeAll(),
    stop,
  };
}

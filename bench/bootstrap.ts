/**
 * Bootstrap wall time through the whole stack — API, Temporal workflows, worker, SSH —
 * against a real sshd fleet, on embedded Postgres and a Temporal dev server it starts itself:
 *   npx tsx bench/bootstrap.ts [--base 127.0.30.1]
 * Compares each batch with running its hosts one after another (n × the 1-host time).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { tokensRepo } from '../src/db/repos/tokens.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { startEmbeddedTemporal } from '../src/dev/embedded-temporal.js';
import { createLogger } from '../src/log.js';
import { connectCore, startApi } from '../src/runtime.js';
import { createActivityDeps, installRuntimeLogger, startSophonWorker } from '../src/worker.js';
import { startFleet } from '../test/fleet/fleet.js';
import { freePort } from '../test/helpers/ports.js';

const { values } = parseArgs({ options: { base: { type: 'string', default: '127.0.30.1' } } });
const SIZES = [1, 10, 50];
const logger = createLogger('warn');
installRuntimeLogger(logger);

const scratch = await mkdtemp(path.join(tmpdir(), 'sophon-bench-'));
await chmod(scratch, 0o755);
console.log(`starting Postgres, Temporal and ${Math.max(...SIZES)} sshd hosts...`);
const fleet = await startFleet({ hosts: Math.max(...SIZES), baseAddress: values.base });
const postgres = await startEmbeddedPostgres(path.join(scratch, 'postgres'), await freePort(), logger);
const temporal = await startEmbeddedTemporal({ namespace: 'default', cli: process.env.TEMPORAL_CLI, port: await freePort() }, logger);
const masterKey = randomBytes(32);
const config = loadConfig({ SOPHON_HOME: scratch, DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: temporal.address, SOPHON_API_PORT: '1' });
await migrate(postgres.url, logger);
const core = await connectCore({ ...config, api: { ...config.api, host: '127.0.0.1', port: 0 } }, logger, { databaseUrl: postgres.url, temporalAddress: temporal.address }, masterKey);
const deps = await createActivityDeps(config, core.pool, logger, masterKey, temporal.address);
const worker = await startSophonWorker({ config, address: temporal.address, deps });
const api = await startApi(core);

const { token } = await tokensRepo(core.pool).create({ name: 'bench', role: 'admin', createdBy: 'bench' });
const call = async (method: string, route: string, body?: unknown) => {
  const res = await fetch(`${api.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return (await res.json()) as { operation: { id: string; status: string; finishedAt: string | null; error: unknown } };
};
const waitFor = async (operationId: string) => {
  for (;;) {
    const { operation } = await call('GET', `/api/v1/operations/${operationId}`);
    if (operation.finishedAt) return operation;
    await new Promise((r) => setTimeout(r, 50));
  }
};

const rows: string[][] = [];
try {
  await call('POST', '/api/v1/credentials', { name: 'fleet', username: fleet.username, privateKey: fleet.clientKey });
  let oneHostMs = 0;
  for (const size of SIZES) {
    const cluster = `bench-${size}`;
    await waitFor((await call('POST', '/api/v1/clusters', { name: cluster })).operation.id);
    const hosts = fleet.hosts.slice(0, size).map((h) => ({ hostname: h.name, address: h.address, port: h.port, credential: 'fleet', installRoot: h.installRoot }));
    const started = performance.now();
    const op = await waitFor((await call('POST', `/api/v1/clusters/${cluster}/hosts`, { hosts })).operation.id);
    const ms = performance.now() - started;
    if (op.status !== 'SUCCEEDED') throw new Error(`bootstrap of ${size} hosts ended ${op.status}: ${JSON.stringify(op.error)}`);
    if (size === 1) oneHostMs = ms;
    const sequential = oneHostMs * size;
    rows.push([String(size), ms.toFixed(0), sequential.toFixed(0), (sequential / ms).toFixed(1) + 'x', (ms / size).toFixed(0)]);
  }
} finally {
  await api.close();
  await worker.stop();
  await core.close();
  await temporal.stop();
  await postgres.stop();
  await fleet.stop();
  await rm(scratch, { recursive: true, force: true });
}

const header = ['hosts', 'bootstrap ms', 'one-by-one ms (n × 1 host)', 'speed-up', 'ms per host'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
console.log('\nbootstrapHosts through API + Temporal + SSH (connect, pin, facts, prerequisites, install root)');
console.log(line(header));
for (const r of rows) console.log(line(r));

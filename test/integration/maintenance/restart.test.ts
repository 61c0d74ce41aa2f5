/**
 * Maintenance schedules live in Temporal: the whole of Sophon (`sophon start`: API, worker,
 * Temporal dev server, Postgres) is killed with SIGKILL and started again, and the schedule
 * fires after the restart. A start also reconciles Postgres and Temporal both ways: a lost
 * Temporal Schedule is recreated, one without a definition is deleted.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { eventually } from '../../helpers/harness.js';
import { callSophon, embeddedSophonEnv, killAll, sophonProcess } from '../../helpers/sophon-process.js';
import { fleetBase } from '../ssh/helpers.js';
import { pgrep } from '../services/helpers.js';

let home: string;
let env: NodeJS.ProcessEnv;
let fleet: Fleet;
const started: ChildProcess[] = [];

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'sophon-maint-restart-'));
  await chmod(home, 0o755);
  fleet = await startFleet({ hosts: 1, baseAddress: fleetBase(73) });
  env = await embeddedSophonEnv(home);
});

after(async () => {
  killAll(started);
  for (const pid of pgrep(fleet?.hosts[0]?.installRoot ?? '/nonexistent-root')) process.kill(pid, 'SIGKILL');
  await fleet?.stop();
  await rm(home, { recursive: true, force: true });
});

const sophonStart = () => sophonProcess(['start'], env, started);

const call = (method: string, route: string, token: string, body?: unknown) => callSophon(env, method, route, token, body);

const finished = (token: string, id: string) =>
  eventually(
    async () => {
      const op = (await call('GET', `/api/v1/operations/${id}`, token)).body.operation;
      return op.finishedAt ? op : undefined;
    },
    `operation ${id} to finish`,
    180_000,
  );

async function temporalClient() {
  const connection = await Connection.connect({ address: `127.0.0.1:${env.TEMPORAL_PORT}` });
  return { client: new Client({ connection }), connection };
}

test(
  'a schedule survives SIGKILL of the whole of Sophon and fires after the restart; a start reconciles Temporal with Postgres',
  { timeout: 600_000 },
  async () => {
    const first = sophonStart();
    await first.ready;
    const token = (await readFile(path.join(home, 'admin-token'), 'utf8')).trim();
    assert.equal(
      (await call('POST', '/api/v1/credentials', token, { name: 'fleet', username: fleet.username, privateKey: fleet.clientKey })).status,
      201,
    );
    assert.equal(
      (await finished(token, (await call('POST', '/api/v1/clusters', token, { name: 'mk' })).body.operation.id)).status,
      'SUCCEEDED',
    );
    const h = fleet.hosts[0]!;
    const hosts = [{ hostname: 'k0', address: h.address, port: h.port, credential: 'fleet', installRoot: h.installRoot }];
    assert.equal(
      (await finished(token, (await call('POST', '/api/v1/clusters/mk/hosts', token, { hosts })).body.operation.id)).status,
      'SUCCEEDED',
    );
    const deploy = await call('POST', '/api/v1/clusters/mk/services', token, {
      service: 'node-exporter',
      placement: { exporter: ['k0'] },
      config: { port: 19173 },
    });
    assert.equal((await finished(token, deploy.body.operation.id)).status, 'SUCCEEDED');

    const created = await call('POST', '/api/v1/maintenance-schedules', token, {
      name: 'restart-exporter',
      cluster: 'mk',
      spec: { everySeconds: 5 },
      action: { kind: 'restart', service: 'node-exporter' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.schedule.id;
    const runs = async () =>
      (await call('GET', `/api/v1/maintenance-schedules/${id}`, token)).body.schedule.recentRuns as Array<{
        at: string;
        status: string;
        operationId: string;
      }>;
    await eventually(
      async () => ((await runs()).some((r) => r.status === 'SUCCEEDED') ? true : undefined),
      'a run before the kill',
      120_000,
    );

    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;

    const second = sophonStart();
    await second.ready;
    const restartedAt = Date.now();
    const after = await eventually(
      async () => {
        const r = (await runs()).filter((x) => Date.parse(x.at) > restartedAt && x.status === 'SUCCEEDED');
        return r.length > 0 ? r : undefined;
      },
      'a run after the restart',
      180_000,
    );
    const op = (await call('GET', `/api/v1/operations/${after[0]!.operationId}`, token)).body.operation;
    assert.deepEqual([op.type, op.requestedBy, op.status], ['service.restart', 'schedule:restart-exporter', 'SUCCEEDED']);

    // Lose the Temporal Schedule and plant one without a definition; the next start puts both right.
    const { client, connection } = await temporalClient();
    const scheduleId = `sophon-maintenance/sophon/${id}`;
    const orphanId = 'sophon-maintenance/sophon/00000000-0000-4000-8000-000000000000';
    try {
      await client.schedule.getHandle(scheduleId).delete();
      await client.schedule.create({
        scheduleId: orphanId,
        spec: { intervals: [{ every: '1h' }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'maintenanceRunWorkflow',
          taskQueue: 'sophon',
          args: [{ scheduleId: '00000000-0000-4000-8000-000000000000' }],
        },
      });
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0, second.output());
    } finally {
      await connection.close();
    }
    const third = sophonStart();
    await third.ready;
    const again = await temporalClient();
    try {
      const d = await again.client.schedule.getHandle(scheduleId).describe();
      assert.equal(d.state.paused, false);
      await assert.rejects(again.client.schedule.getHandle(orphanId).describe(), ScheduleNotFoundError);
      const thirdAt = Date.now();
      await eventually(
        async () => ((await runs()).some((x) => Date.parse(x.at) > thirdAt && x.status === 'SUCCEEDED') ? true : undefined),
        'a run of the recreated schedule',
        180_000,
      );
    } finally {
      await again.connection.close();
    }

    assert.equal((await call('DELETE', `/api/v1/maintenance-schedules/${id}`, token)).status, 204);
    const removal = await call('DELETE', '/api/v1/clusters/mk/services/node-exporter', token);
    assert.equal((await finished(token, removal.body.operation.id)).status, 'SUCCEEDED');
    third.child.kill('SIGTERM');
    assert.equal(await third.exited, 0, third.output());
  },
);

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../src/platform/settings.js';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../helpers/harness.js';
import type { RunningWorker } from '../../src/worker.js';
import { assertProblem } from '../helpers/problems.js';

let db: TestDatabase;
let config: Config;
let api: TestApi;
let worker: RunningWorker;
let admin: string;
let operator: string;
let viewer: string;

before(async () => {
  db = await createTestDatabase();
  config = testConfig(db);
  worker = await startTestWorker(config, db.pool);
  api = await startTestApi(config, db);
  [admin, operator, viewer] = await Promise.all([api.token('admin'), api.token('operator'), api.token('viewer')]);
});

after(async () => {
  await api?.stop();
  await worker?.stop();
  await db?.drop();
});

describe('health, metrics and the OpenAPI document', () => {
  test('healthz and readyz answer without a token', async () => {
    assert.equal((await api.call('GET', '/healthz')).status, 200);
    const ready = await api.call('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(
      ready.body.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]),
      [
        ['postgres', true],
        ['temporal', true],
      ],
    );
  });

  test('metrics include the request duration histogram per route', async () => {
    await api.call('GET', '/api/v1/clusters', { token: viewer });
    const res = await api.call('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.body, /sophon_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/clusters"/);
    assert.match(res.body, /sophon_process_cpu_seconds_total/);
  });

  test('openapi.json describes the endpoints with request schemas', async () => {
    const res = await api.call('GET', '/api/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    const post = res.body.paths['/api/v1/clusters'].post;
    assert.equal(post.requestBody.content['application/json'].schema.properties.name.type, 'string');
    const docs = await api.call('GET', '/docs');
    assert.equal(docs.status, 200);
    assert.match(docs.body, /<code>\/api\/v1\/clusters\/\{cluster\}\/hosts<\/code>/);
  });
});

describe('authentication and roles', () => {
  test('no token → 401 problem', async () => {
    assertProblem(await api.call('GET', '/api/v1/clusters'), 401, 'UNAUTHENTICATED');
  });

  test('a wrong token → 401 problem', async () => {
    assertProblem(await api.call('GET', '/api/v1/clusters', { token: 'sph_not-a-real-token' }), 401, 'UNAUTHENTICATED');
  });

  test('a viewer reads but cannot mutate → 403 problem', async () => {
    assert.equal((await api.call('GET', '/api/v1/clusters', { token: viewer })).status, 200);
    const res = await api.call('POST', '/api/v1/clusters', { token: viewer, body: { name: 'viewer-made' } });
    assertProblem(res, 403, 'FORBIDDEN');
    assert.match(res.body.detail, /needs the operator role/);
  });

  test('only admins manage tokens; a revoked token stops working', async () => {
    assertProblem(await api.call('GET', '/api/v1/tokens', { token: operator }), 403, 'FORBIDDEN');
    const created = await api.call('POST', '/api/v1/tokens', { token: admin, body: { name: 'ci', role: 'viewer' } });
    assert.equal(created.status, 201);
    assert.match(created.body.token, /^sph_/);
    const listed = await api.call('GET', '/api/v1/tokens', { token: admin });
    assert.ok(listed.body.tokens.some((t: { name: string }) => t.name === 'ci'));
    assert.ok(!JSON.stringify(listed.body).includes(created.body.token), 'token secret must not be listed');
    assert.equal((await api.call('GET', '/api/v1/clusters', { token: created.body.token })).status, 200);
    assert.equal((await api.call('DELETE', `/api/v1/tokens/${created.body.id}`, { token: admin })).status, 200);
    assertProblem(await api.call('GET', '/api/v1/clusters', { token: created.body.token }), 401, 'UNAUTHENTICATED');
  });

  test('a token body with a bad role names the field', async () => {
    const res = await api.call('POST', '/api/v1/tokens', { token: admin, body: { name: 'x', role: 'root' } });
    assertProblem(res, 400, 'VALIDATION_FAILED');
    assert.equal(res.body.errors[0].path, 'role');
  });
});

describe('problem+json for bad requests', () => {
  test('malformed JSON → 400 problem', async () => {
    const res = await api.call('POST', '/api/v1/clusters', { token: operator, rawBody: '{"name": "x",' });
    assertProblem(res, 400, 'MALFORMED_JSON');
  });

  test('unknown routes → 404 problem', async () => {
    assertProblem(await api.call('GET', '/no/such/route'), 404, 'NOT_FOUND');
    assertProblem(await api.call('GET', '/api/v1/no-such-resource', { token: viewer }), 404, 'NOT_FOUND');
  });

  test('an unknown operation id → 404 problem', async () => {
    assertProblem(await api.call('GET', '/api/v1/operations/00000000-0000-0000-0000-000000000000', { token: viewer }), 404, 'NOT_FOUND');
    assertProblem(await api.call('GET', '/api/v1/operations/not-a-uuid', { token: viewer }), 404, 'NOT_FOUND');
  });
});

describe('service definitions', () => {
  test('the catalog is listed and one definition is shown', async () => {
    const list = await api.call('GET', '/api/v1/service-defs', { token: viewer });
    assert.equal(list.status, 200);
    const names = list.body.serviceDefs.map((d: { name: string }) => d.name);
    for (const name of ['zookeeper', 'kafka', 'hdfs', 'redis', 'prometheus']) assert.ok(names.includes(name), `${name} missing`);
    const zk = await api.call('GET', '/api/v1/service-defs/zookeeper', { token: viewer });
    assert.equal(zk.status, 200);
    assert.ok(zk.body.roles.length >= 1);
    assert.equal(zk.body.dir, undefined, 'server paths stay private');
    assertProblem(await api.call('GET', '/api/v1/service-defs/nope', { token: viewer }), 404, 'NOT_FOUND');
  });
});

describe('creating a cluster through a workflow', () => {
  test('202 with the operation, which succeeds and links to the Temporal UI', async () => {
    const res = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'analytics', description: 'batch jobs' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const op = res.body.operation;
    assert.equal(op.type, 'cluster.create');
    assert.match(op.workflowId, /^cluster-create\/analytics\//);
    assert.equal(
      op.temporalUiUrl,
      `http://localhost:8233/namespaces/default/workflows/${encodeURIComponent(op.workflowId)}/${op.runId}/history`,
    );

    const done = await eventually(async () => {
      const r = await api.call('GET', `/api/v1/operations/${op.id}`, { token: viewer });
      return r.body.operation.status === 'SUCCEEDED' ? r.body.operation : undefined;
    }, 'the create operation to succeed');
    assert.equal(done.workflowId, op.workflowId);
    assert.ok(done.startedAt && done.finishedAt);

    const cluster = await api.call('GET', '/api/v1/clusters/analytics', { token: viewer });
    assert.equal(cluster.body.status, 'ACTIVE');
    assert.equal(cluster.body.description, 'batch jobs');
    assert.equal(cluster.body.temporalUiUrl, 'http://localhost:8233/namespaces/default/workflows?query=SophonCluster%3D%22analytics%22');
    const byId = await api.call('GET', `/api/v1/clusters/${cluster.body.id}`, { token: viewer });
    assert.equal(byId.body.name, 'analytics');

    const listed = await api.call('GET', '/api/v1/operations?cluster=analytics', { token: viewer });
    assert.deepEqual(
      listed.body.operations.map((o: { id: string }) => o.id),
      [op.id],
    );

    // The operation's row says SUCCEEDED once its last activity ran; the run closes a moment later.
    const handle = api.core.temporal.workflow.getHandle(op.workflowId);
    await handle.result();
    const description = await handle.describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(description.searchAttributes.SophonCluster?.[0], 'analytics');
    assert.equal(description.searchAttributes.SophonKind?.[0], 'operation');
    assert.equal(await description.staticSummary(), 'create cluster analytics, by token:test-operator');
    assert.match((await description.staticDetails()) ?? '', new RegExp(`Sophon operation \`${op.id}\``));
  });

  test('a duplicate name → 409 naming the cluster', async () => {
    const first = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'dup-test' } });
    assert.equal(first.status, 202);
    const second = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'dup-test' } });
    assertProblem(second, 409, 'CONFLICT');
    assert.match(second.body.detail, /'dup-test' already exists/);
  });

  test('an invalid name → 400 with the field path', async () => {
    for (const name of ['Bad Name', '-x', 'a', 'x'.repeat(64), 42]) {
      const res = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name } });
      assertProblem(res, 400, 'VALIDATION_FAILED');
      assert.deepEqual(
        res.body.errors.map((e: { path: string }) => e.path),
        ['name'],
      );
    }
    const extra = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'ok-name', size: 3 } });
    assertProblem(extra, 400, 'VALIDATION_FAILED');
  });

  test('the audit log records who asked for what', async () => {
    const res = await api.call('GET', '/api/v1/audit', { token: admin });
    assert.equal(res.status, 200);
    const actions = res.body.entries.map((e: { action: string; target: string }) => `${e.action} ${e.target}`);
    assert.ok(actions.includes('cluster.create.requested analytics'));
    assert.ok(actions.includes('cluster.created analytics'));
    assertProblem(await api.call('GET', '/api/v1/audit', { token: operator }), 403, 'FORBIDDEN');
  });
});

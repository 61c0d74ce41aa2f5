/**
 * Issue 7 ("one request must never take Sophon down"): each defect found by fuzzing the API,
 * reproduced against the real API, Postgres and Temporal. Bootstraps run without a worker
 * here (it is stopped after the first test), so hosts stay where the API put them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { createApp } from '../../src/platform/http/app.js';
import { openApiPath } from '../../src/platform/http/registry.js';
import type { Config } from '../../src/platform/settings.js';
import type { RunningWorker } from '../../src/worker.js';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../helpers/harness.js';
import { assertBadField, assertProblem, watchHealth } from '../helpers/problems.js';
import { fleetBase } from './ssh/helpers.js';

let db: TestDatabase;
let config: Config;
let api: TestApi;
let worker: RunningWorker | undefined;
let fleet: Fleet;
let admin: string;
let operator: string;

const hostsOf = (specs: object[]) => ({ hosts: specs });
const addHosts = (body: unknown, token = operator) => api.call('POST', '/api/v1/clusters/lab/hosts', { token, body });

before(async () => {
  fleet = await startFleet({ hosts: 1, baseAddress: fleetBase(61) });
  db = await createTestDatabase();
  config = testConfig(db, { SOPHON_SSH_CONNECT_TIMEOUT_SECONDS: '3' });
  worker = await startTestWorker(config, db.pool);
  api = await startTestApi(config, db);
  [admin, operator] = await Promise.all([api.token('admin'), api.token('operator')]);
  const fleetCred = await api.call('POST', '/api/v1/credentials', {
    token: admin,
    body: { name: 'fleet', username: fleet.username, privateKey: fleet.clientKey },
  });
  assert.equal(fleetCred.status, 201, JSON.stringify(fleetCred.body));
  const key = ssh2.utils.generateKeyPairSync('ed25519').private;
  assert.equal(
    (await api.call('POST', '/api/v1/credentials', { token: admin, body: { name: 'k', username: 'sophon', privateKey: key } })).status,
    201,
  );
  const created = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'lab' } });
  await finished(created.body.operation.id);
});

after(async () => {
  await api?.stop();
  await worker?.stop();
  await db?.drop();
  await fleet?.stop();
});

async function finished(operationId: string) {
  return eventually(
    async () => {
      const res = await api.call('GET', `/api/v1/operations/${operationId}`, { token: operator });
      return res.body.operation.finishedAt ? res.body.operation : undefined;
    },
    `operation ${operationId} to finish`,
    90_000,
  );
}

describe('defect 3: workflow inputs carry ids, the bootstrap reads its hosts from Postgres', () => {
  after(async () => {
    await worker?.stop();
    worker = undefined;
  });

  test('a bootstrap started with only the operation id bootstraps the hosts of its operation', async () => {
    const h = fleet.hosts[0]!;
    const res = await addHosts(
      hostsOf([{ hostname: 'real1', address: h.address, port: h.port, credential: 'fleet', installRoot: h.installRoot }]),
    );
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const op = await finished(res.body.operation.id);
    assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op.error));
    const started = await api.core.temporal.workflow.getHandle(op.workflowId).fetchHistory();
    const input = started.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    assert.deepEqual(Object.keys(JSON.parse(Buffer.from(input!).toString('utf8'))).sort(), ['cluster', 'operationId']);
    assert.equal((await api.call('GET', '/api/v1/clusters/lab/hosts/real1', { token: operator })).body.status, 'READY');
  });
});

describe('defect 1: a range past safe integers is a 400, not a dead process', () => {
  test('n[9007199254740993-9007199254740993] names the field, and the API keeps answering', async () => {
    const res = await addHosts(hostsOf([{ hostname: 'n[9007199254740993-9007199254740993]', credential: 'k' }]));
    assertBadField(res, 'hosts.0.hostname', /at most 9 digits/);
    const address = await addHosts(hostsOf([{ hostname: 'n[1-2]', address: '10.0.0.[1-99999999999]', credential: 'k' }]));
    assertBadField(address, 'hosts.0.address', /at most 9 digits/);
    assert.equal((await api.call('GET', '/healthz')).status, 200);
  });
});

describe('defect 2: hosts per request are capped before expanding; duplicates in linear time', () => {
  test('1000 entries × 1000 hosts are refused naming hosts, while /healthz keeps answering', async () => {
    const health = watchHealth(api.url);
    const body = hostsOf(Array.from({ length: 1000 }, (_, i) => ({ hostname: `e${i}-[1-1000]`, credential: 'k' })));
    assertBadField(await addHosts(body), 'hosts', /at most 1000 hosts per request/);
    // One range alone past the cap, too, before a single name is made.
    assertBadField(await addHosts(hostsOf([{ hostname: 'r[1-999999999]', credential: 'k' }])), 'hosts', /SOPHON_MAX_HOSTS_PER_REQUEST/);
    const statuses = await health.stop();
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 200), `healthz answered ${statuses.join(',')}`);
  });

  test('a host named twice (once through a range) is a 400 naming the host', async () => {
    const res = await addHosts(
      hostsOf([
        { hostname: 'd[1-3]', credential: 'k' },
        { hostname: 'd2', credential: 'k' },
      ]),
    );
    assertBadField(res, 'hosts', /^d2 named more than once/);
  });
});

describe('defect 3: large batches are inserted in batches and the lists are paged', () => {
  test('1000 hosts in one request: accepted, listed 100 per page by default, walked with cursors', async () => {
    const res = await addHosts(hostsOf([{ hostname: 'big[0001-1000]', credential: 'k', labels: { rack: 'r1' } }]));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.hosts.length, 1000);
    assert.equal(res.body.operation.runId !== null, true);
    const linked = await db.pool.query('SELECT count(*)::int AS n FROM operation_hosts WHERE operation_id = $1', [res.body.operation.id]);
    assert.equal(linked.rows[0].n, 1000);

    const first = await api.call('GET', '/api/v1/clusters/lab/hosts', { token: operator });
    assert.equal(first.body.hosts.length, 100);
    assert.equal(typeof first.body.nextCursor, 'string');

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { hosts: Array<{ hostname: string }>; nextCursor: string | null } } = await api.call(
        'GET',
        `/api/v1/clusters/lab/hosts?limit=300${cursor ? `&cursor=${cursor}` : ''}`,
        { token: operator },
      );
      seen.push(...page.body.hosts.map((h) => h.hostname));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.equal(seen.length, 1001, 'the 1000 new hosts and real1');
    assert.equal(new Set(seen).size, seen.length);
    assert.deepEqual(seen, [...seen].sort());
  });

  test('limit and cursor are checked', async () => {
    assertBadField(await api.call('GET', '/api/v1/clusters/lab/hosts?limit=1001', { token: operator }), 'limit');
    assertBadField(await api.call('GET', '/api/v1/clusters/lab/hosts?cursor=bm9wZQ', { token: operator }), 'cursor');
    assertBadField(await api.call('GET', '/api/v1/operations?cursor=%5B%5D', { token: operator }), 'cursor');
    assertBadField(await api.call('GET', '/api/v1/audit?limit=0', { token: admin }), 'limit');
  });
});

describe('defect 4: races answer 409 or 404, never 500, and audit only what happened', () => {
  test('20 parallel POSTs of the same host: one 202, nineteen 409', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => addHosts(hostsOf([{ hostname: 'same1', credential: 'k' }]))));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(
      statuses,
      [202, ...Array<number>(19).fill(409)],
      JSON.stringify(results.filter((r) => r.status >= 500).map((r) => r.body)),
    );
    for (const r of results.filter((x) => x.status === 409)) assertProblem(r, 409, 'CONFLICT');
  });

  test('PATCH racing DELETE: 200 or 404, and no update audited for a deleted host', async () => {
    for (let i = 0; i < 5; i++) {
      const name = `race${i}`;
      assert.equal((await addHosts(hostsOf([{ hostname: name, credential: 'k' }]))).status, 202);
      const path = `/api/v1/clusters/lab/hosts/${name}`;
      const [patch, del] = await Promise.all([
        api.call('PATCH', path, { token: operator, body: { maintenance: true } }),
        api.call('DELETE', path, { token: operator }),
      ]);
      assert.equal(del.status, 204, JSON.stringify(del.body));
      assert.ok([200, 404].includes(patch.status), `PATCH answered ${patch.status}: ${JSON.stringify(patch.body)}`);
      const audited = await db.pool.query(`SELECT action FROM audit_log WHERE target = $1 ORDER BY id`, [`lab/${name}`]);
      const actions = audited.rows.map((r) => r.action);
      assert.deepEqual(actions, patch.status === 200 ? ['host.update', 'host.delete'] : ['host.delete']);
      assertProblem(await api.call('PATCH', path, { token: operator, body: { maintenance: false } }), 404, 'NOT_FOUND');
    }
  });

  test('two DELETEs at once: one 204, one 404, one audit row', async () => {
    for (let i = 0; i < 5; i++) {
      const name = `twice${i}`;
      assert.equal((await addHosts(hostsOf([{ hostname: name, credential: 'k' }]))).status, 202);
      const path = `/api/v1/clusters/lab/hosts/${name}`;
      const results = await Promise.all([api.call('DELETE', path, { token: operator }), api.call('DELETE', path, { token: operator })]);
      assert.deepEqual(results.map((r) => r.status).sort(), [204, 404]);
      const audited = await db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'host.delete' AND target = $1`, [
        `lab/${name}`,
      ]);
      assert.equal(audited.rows[0].n, 1);
    }
  });
});

describe('defect 5: control characters and bad percent-encoding are 400s naming the field', () => {
  test('NUL and bidi overrides in names, descriptions and labels', async () => {
    assertBadField(
      await api.call('POST', '/api/v1/tokens', { token: admin, body: { name: 'a\u0000b', role: 'viewer' } }),
      'name',
      /control characters/,
    );
    assertBadField(
      await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'nul', description: 'x\u0000' } }),
      'description',
    );
    assertBadField(
      await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'bidi', description: 'abc\u202edcba' } }),
      'description',
    );
    assertBadField(await addHosts(hostsOf([{ hostname: 'l1', credential: 'k', labels: { env: 'a\u0000' } }])), 'hosts.0.labels.env');
    assertBadField(
      await api.call('PATCH', '/api/v1/clusters/lab/hosts/real1', { token: operator, body: { labels: { env: '\u2066x' } } }),
      'labels.env',
    );
    assertBadField(await api.call('GET', '/api/v1/operations?cluster=a%00b', { token: operator }), 'cluster');
  });

  test('a%00b and %ff in path parameters', async () => {
    assertBadField(await api.call('GET', '/api/v1/clusters/a%00b', { token: operator }), 'cluster', /control characters/);
    assertBadField(await api.call('GET', '/api/v1/clusters/%ff', { token: operator }), 'cluster', /percent-encoded/);
    assertBadField(await api.call('GET', '/api/v1/clusters/lab/hosts/%ff', { token: operator }), 'host');
    assertBadField(await api.call('DELETE', '/api/v1/clusters/lab/hosts/x%01', { token: operator }), 'host');
  });
});

describe('defect 6: one bootstrap per host, claimed with the operation', () => {
  test('ten parallel repins: one 202, nine 409, one operation', async () => {
    assert.equal((await addHosts(hostsOf([{ hostname: 'repin1', credential: 'k' }]))).status, 202);
    const before = await db.pool.query(`SELECT count(*)::int AS n FROM operations`);
    const path = '/api/v1/clusters/lab/hosts/repin1/repin-host-key';
    const results = await Promise.all(Array.from({ length: 10 }, () => api.call('POST', path, { token: admin })));
    assert.deepEqual(
      results.map((r) => r.status).sort(),
      [202, ...Array<number>(9).fill(409)],
      JSON.stringify(results.map((r) => r.body.detail)),
    );
    const afterCount = await db.pool.query(`SELECT count(*)::int AS n FROM operations`);
    assert.equal(afterCount.rows[0].n - before.rows[0].n, 1);
    assert.equal((await api.call('GET', '/api/v1/clusters/lab/hosts/repin1', { token: operator })).body.status, 'BOOTSTRAPPING');
  });
});

describe('defect 8: /metrics labels are route patterns', () => {
  test('no cluster names in labels; unmatched requests share one label', async () => {
    await api.call('GET', '/api/v1/clusters/lab/hosts', { token: operator });
    await api.call('GET', '/api/v1/clusters/nope/hosts', { token: operator });
    await api.call('GET', '/no/such/thing');
    const metrics = (await api.call('GET', '/metrics')).body as string;
    const routes = new Set([...metrics.matchAll(/sophon_http_request_duration_seconds_count\{[^}]*route="([^"]*)"/g)].map((m) => m[1]));
    assert.ok(routes.has('/api/v1/clusters/:cluster/hosts'), [...routes].join(' '));
    assert.ok(routes.has('unmatched'));
    assert.ok(![...routes].some((r) => r!.includes('lab') || r!.includes('nope') || r === '/'), [...routes].join(' '));
  });
});

describe('defect 9: loose input', () => {
  test('installRoot refuses .. segments, / alone and //', async () => {
    for (const installRoot of ['/opt/../etc', '/', '//opt', '/opt//sophon', '/opt/sophon/..']) {
      assertBadField(await addHosts(hostsOf([{ hostname: 'ir1', credential: 'k', installRoot }])), 'hosts.0.installRoot');
    }
    assert.equal((await addHosts(hostsOf([{ hostname: 'ir1', credential: 'k', installRoot: '/opt/sophon..d/x.y' }]))).status, 202);
  });

  test('re-pinning a host key needs the admin role', async () => {
    const res = await api.call('POST', '/api/v1/clusters/lab/hosts/ir1/repin-host-key', { token: operator });
    assertProblem(res, 403, 'FORBIDDEN');
    assert.match(res.body.detail, /needs the admin role/);
  });
});

describe('defect 11: protocol details', () => {
  test('405 with Allow for a known path and another method', async () => {
    const res = await api.call('PUT', '/api/v1/clusters', { token: operator, body: {} });
    assertProblem(res, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.get('allow'), 'GET, HEAD, POST');
    assert.equal((await api.call('DELETE', '/api/v1/clusters/lab')).headers.get('allow'), 'GET, HEAD');
  });

  test('415 for a JSON route given another content type', async () => {
    const res = await api.call('POST', '/api/v1/clusters', {
      token: operator,
      rawBody: 'name=x',
      contentType: 'application/x-www-form-urlencoded',
    });
    assertProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('413 has its own code', async () => {
    const res = await api.call('POST', '/api/v1/clusters', {
      token: operator,
      rawBody: JSON.stringify({ name: 'big', description: 'x'.repeat(2_000_000) }),
    });
    assertProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('PATCH {} is refused, and the document says so (minProperties)', async () => {
    assertProblem(await api.call('PATCH', '/api/v1/clusters/lab/hosts/real1', { token: operator, body: {} }), 400, 'VALIDATION_FAILED');
    const doc = (await api.call('GET', '/api/openapi.json')).body;
    const schema = doc.paths['/api/v1/clusters/{cluster}/hosts/{host}'].patch.requestBody.content['application/json'].schema;
    assert.equal(schema.minProperties, 1);
    const key = doc.paths['/api/v1/credentials'].post.requestBody.content['application/json'].schema.properties.privateKey;
    assert.match(key.description, /OpenSSH .* PEM/);
  });
});

describe('defect 11: the OpenAPI document is generated from the registered routes', () => {
  test('every route express serves is in the document, with a success response schema', async () => {
    const doc = (await api.call('GET', '/api/openapi.json')).body;
    type Layer = { route?: { path: string; methods: Record<string, boolean> } };
    const stack = (createApp(api.core) as unknown as { router: { stack: Layer[] } }).router.stack;
    const served = stack.flatMap((l) => (l.route ? Object.keys(l.route.methods).map((m) => [m, l.route!.path] as const) : []));
    assert.ok(served.length >= 25, `only ${served.length} routes found`);
    for (const [method, path] of served) {
      const op = doc.paths[openApiPath(path)]?.[method];
      assert.ok(op, `${method.toUpperCase()} ${path} is served but missing from the document`);
      const [status, success] = Object.entries(op.responses as Record<string, { content?: Record<string, { schema?: object }> }>).find(
        ([code]) => code.startsWith('2'),
      )!;
      if (status !== '204')
        assert.ok(Object.values(success.content ?? {})[0]?.schema, `${method.toUpperCase()} ${path} has no success schema`);
    }
    assert.ok(doc.paths['/api/v1/credentials/{credential}']?.get, 'GET /api/v1/credentials/{credential} is documented');
    assert.deepEqual(doc.paths['/api/v1/clusters/{cluster}/hosts'].get.responses['200'].content['application/json'].schema.required, [
      'hosts',
      'nextCursor',
    ]);
  });
});

describe('after all of it', () => {
  test('/healthz answered throughout the bad requests and /readyz is 200', async () => {
    const health = watchHealth(api.url, 20);
    const bad = [
      addHosts(hostsOf([{ hostname: 'n[9007199254740993-9007199254740993]', credential: 'k' }])),
      addHosts(hostsOf(Array.from({ length: 1000 }, (_, i) => ({ hostname: `f${i}-[1-1000]`, credential: 'k' })))),
      api.call('GET', '/api/v1/clusters/%ff', { token: operator }),
      api.call('POST', '/api/v1/tokens', { token: admin, body: { name: '\u0000', role: 'viewer' } }),
      ...Array.from({ length: 10 }, () => addHosts(hostsOf([{ hostname: 'last1', credential: 'k' }]))),
    ];
    const answers = await Promise.all(bad);
    assert.ok(
      answers.every((a) => a.status < 500),
      answers.map((a) => a.status).join(','),
    );
    const statuses = await health.stop();
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 200), `healthz answered ${statuses.join(',')}`);
    assert.equal((await api.call('GET', '/readyz')).status, 200);
  });
});

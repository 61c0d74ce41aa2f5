/**
 * Fuzzing: schemathesis (installed by scripts/install-schemathesis.sh) generates requests from
 * /api/openapi.json, valid and invalid, and sends them to the real API with an admin token.
 * Any 5xx, or an answer that does not match its declared schema, fails the test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../helpers/harness.js';

const SCHEMATHESIS = path.resolve('.tools/schemathesis-venv/bin/schemathesis');
/** Cases per API operation and phase: enough to find the defects of issue 7, under ~3 minutes here. */
const MAX_EXAMPLES = process.env.SOPHON_FUZZ_EXAMPLES ?? '100';

let db: TestDatabase;
let api: TestApi;

before(async () => {
  if (!existsSync(SCHEMATHESIS)) return;
  db = await createTestDatabase();
  const config = testConfig(db);
  api = await startTestApi(config, db);
  // Something to find: a cluster with a host and a credential. The worker makes the cluster
  // ACTIVE and is stopped, so fuzzed bootstraps wait instead of dialling made-up hosts.
  const worker = await startTestWorker(config, db.pool);
  try {
    const admin = await api.token('admin');
    const key = ssh2.utils.generateKeyPairSync('ed25519').private;
    assert.equal(
      (await api.call('POST', '/api/v1/credentials', { token: admin, body: { name: 'ops-key', username: 'sophon', privateKey: key } }))
        .status,
      201,
    );
    const created = await api.call('POST', '/api/v1/clusters', { token: admin, body: { name: 'lab' } });
    await eventually(async () => {
      const op = await api.call('GET', `/api/v1/operations/${created.body.operation.id}`, { token: admin });
      return op.body.operation.finishedAt ? true : undefined;
    }, 'the cluster to be created');
  } finally {
    await worker.stop();
  }
  assert.equal(
    (
      await api.call('POST', '/api/v1/clusters/lab/hosts', {
        token: await api.token('operator'),
        body: { hosts: [{ hostname: 'node1', credential: 'ops-key' }] },
      })
    ).status,
    202,
  );
});

after(async () => {
  await api?.stop();
  await db?.drop();
});

/** Runs a command in `cwd` (schemathesis keeps a cache in its working directory). */
function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

test(
  'schemathesis finds no 5xx and no answer outside its schema',
  { skip: existsSync(SCHEMATHESIS) ? false : `${SCHEMATHESIS} is missing: run scripts/install-schemathesis.sh` },
  async (t) => {
    const admin = await api.token('admin');
    const scratch = await mkdtemp(path.join(tmpdir(), 'sophon-fuzz-'));
    t.after(() => rm(scratch, { recursive: true, force: true }));
    const { code, output } = await run(
      SCHEMATHESIS,
      [
        'run',
        `${api.url}/api/openapi.json`,
        '--header',
        `Authorization: Bearer ${admin}`,
        '--checks',
        'not_a_server_error,response_schema_conformance',
        '--phases',
        'examples,coverage,fuzzing',
        '--max-examples',
        MAX_EXAMPLES,
        '--seed',
        process.env.SOPHON_FUZZ_SEED ?? '7',
        '--workers',
        '2',
        '--request-timeout',
        '30',
        '--generation-database',
        'none',
        '--no-color',
        // A channel test sends to the channel's URL: made-up URLs must never be dialled.
        '--exclude-path-regex',
        '/notification-channels/.+/test$',
      ],
      scratch,
    );
    const warnings = output.search(/=+ WARNINGS/);
    t.diagnostic(output.slice(Math.max(0, warnings >= 0 ? warnings : output.indexOf('==== SUMMARY'))));
    assert.equal(code, 0, output.slice(-20_000));
    assert.match(output, /passed/i, output.slice(-5000));
  },
);

/**
 * The production entry: bin/sophon.js runs the compiled dist/ (built here, the way a stale
 * checkout gets it), `sophon api` and `sophon worker` as separate processes, the worker on the
 * workflow bundle made ahead of time.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { MIGRATIONS_DIR } from '../../src/platform/db/migrate.js';
import { PROJECT_ROOT } from '../../src/dev/paths.js';
import { WORKFLOW_BUNDLE } from '../../src/worker.js';
import { createTestDatabase, eventually, temporalAddress, type TestDatabase } from '../helpers/harness.js';
import { freePort } from '../helpers/ports.js';

const run = promisify(execFile);
const children: ChildProcess[] = [];
let db: TestDatabase | undefined;

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await db?.drop();
});

function sophon(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['bin/sophon.js', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

test('bin/sophon.js builds dist/ when it is older than the sources, then runs the compiled CLI', { timeout: 600_000 }, async () => {
  // A build older than the sources, as after a pull or an edit.
  if (existsSync(WORKFLOW_BUNDLE)) utimesSync(WORKFLOW_BUNDLE, 0, 0);
  const started = Date.now();
  const first = await run(process.execPath, ['bin/sophon.js', '--help']);
  assert.match(first.stderr, /dist\/ is missing or older than the sources: building it/);
  assert.match(first.stdout, /^Usage: sophon /);
  assert.ok(statSync(WORKFLOW_BUNDLE).mtimeMs >= started, 'the workflow bundle was made again');
  const compiledMigrations = path.join(PROJECT_ROOT, 'dist', path.relative(PROJECT_ROOT, MIGRATIONS_DIR));
  assert.deepEqual(
    readdirSync(compiledMigrations).sort(),
    readdirSync(MIGRATIONS_DIR).sort(),
    'the SQL migrations are beside the compiled code',
  );

  const again = await run(process.execPath, ['bin/sophon.js', '--help']);
  assert.equal(again.stderr, '', 'an up-to-date build is not made again');
  assert.equal(again.stdout, first.stdout);
});

test('sophon api and sophon worker run as separate processes against external services', { timeout: 120_000 }, async () => {
  db = await createTestDatabase({ migrate: false });
  const port = await freePort();
  const env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: `prod-${randomBytes(4).toString('hex')}`,
    SOPHON_API_PORT: String(port),
    SOPHON_MASTER_KEY: randomBytes(32).toString('hex'),
    SOPHON_LOG_LEVEL: 'warn',
  };

  const api = sophon(['api'], env);
  const worker = sophon(['worker'], { ...env, SOPHON_LOG_LEVEL: 'info' });
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    () =>
      fetch(`${base}/readyz`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      ),
    'the API to be ready',
    60_000,
  );

  const { stdout } = await run(process.execPath, ['bin/sophon.js', 'create-token', '--name', 'ops', '--role', 'operator'], {
    env: { ...process.env, ...env },
  });
  const token = stdout.trim();
  assert.match(token, /^sph_/);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const created = await fetch(`${base}/api/v1/clusters`, { method: 'POST', headers, body: JSON.stringify({ name: 'prod-entry' }) });
  assert.equal(created.status, 202);
  const { operation } = (await created.json()) as { operation: { id: string } };
  await eventually(
    async () => {
      const res = await fetch(`${base}/api/v1/operations/${operation.id}`, { headers });
      const body = (await res.json()) as { operation: { status: string } };
      return body.operation.status === 'SUCCEEDED' ? true : undefined;
    },
    'the worker process to finish the operation',
    60_000,
  );

  assert.match(
    worker.output(),
    /"workflows":\{"workflowBundle":\{"codePath":"[^"]*\/dist\/workflow-bundle\.js"\}\}/,
    'the worker loads the prebuilt bundle',
  );

  api.child.kill('SIGTERM');
  worker.child.kill('SIGTERM');
  assert.equal(await api.exited, 0, api.output());
  assert.equal(await worker.exited, 0, worker.output());
});

test('sophon api without DATABASE_URL says what is missing', async () => {
  const api = sophon(['api'], { DATABASE_URL: '', TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(await api.exited, 2);
  assert.match(api.output(), /^sophon: DATABASE_URL must be set for 'sophon api'/);
});

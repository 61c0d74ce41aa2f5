/**
 * docker-compose.yml, validated the way `docker compose config` does it (schema, variable
 * interpolation, references), offline: with the Docker Compose plugin when the docker client
 * has it, else docker-compose v1 from PyPI (scripts/install-compose-validator.sh, run by .ci/run).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';

const V1 = path.resolve('.tools/compose-venv/bin/docker-compose');
const plugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
const validator: string[] | undefined = plugin ? ['docker', 'compose'] : existsSync(V1) ? [V1] : undefined;
const skip = validator ? false : `neither 'docker compose' nor ${V1} is available: run scripts/install-compose-validator.sh`;

const dir = mkdtempSync(path.join(tmpdir(), 'sophon-compose-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(file: string, env: Record<string, string>) {
  const [cmd, ...pre] = validator!;
  // Only the variables given: an operator's environment must not make the file look complete.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(POSTGRES_|TEMPORAL_|SOPHON_)/.test(k)));
  return spawnSync(cmd!, [...pre, '-f', file, '--project-directory', path.resolve('.'), 'config'], {
    encoding: 'utf8',
    env: { ...clean, ...env },
  });
}

test('docker-compose.yml validates and has the production shape', { skip }, () => {
  const r = config('docker-compose.yml', { POSTGRES_PASSWORD: 'pw' });
  assert.equal(r.status, 0, r.stderr);
  const c = parse(r.stdout);
  assert.deepEqual(Object.keys(c.services).sort(), [
    'postgres',
    'sophon-api',
    'sophon-worker',
    'temporal',
    'temporal-postgres',
    'temporal-ui',
  ]);
  for (const name of ['postgres', 'temporal-postgres', 'temporal', 'sophon-api'])
    assert.ok(c.services[name].healthcheck, `${name} has a health check`);
  const worker = c.services['sophon-worker'];
  assert.equal(worker.container_name, undefined, 'workers scale: no fixed container name');
  assert.equal(worker.ports, undefined, 'workers scale: no host port');
  assert.equal(worker.depends_on['sophon-api'].condition, 'service_healthy');
  for (const name of ['sophon-api', 'sophon-worker']) {
    const s = c.services[name];
    assert.equal(s.environment.DATABASE_URL, 'postgres://sophon:pw@postgres:5432/sophon');
    assert.equal(s.environment.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(s.environment.SOPHON_MASTER_KEY_FILE, '/run/secrets/sophon_master_key');
    assert.equal(s.environment.SOPHON_MASTER_KEY, undefined, 'the master key is a secret, not an environment variable');
    assert.ok(JSON.stringify(s.secrets).includes('sophon_master_key'));
  }
  assert.ok(c.secrets.sophon_master_key.file.endsWith('secrets/sophon-master.key'));
  assert.equal(c.services.temporal.environment.DB, 'postgres12', 'Temporal persists to Postgres');
  assert.deepEqual(Object.keys(c.volumes).sort(), ['sophon-packages', 'sophon-postgres', 'temporal-postgres']);
});

test('a missing password or a broken file is refused by the validator', { skip }, () => {
  const missing = config('docker-compose.yml', {});
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /POSTGRES_PASSWORD/);
  const broken = path.join(dir, 'docker-compose.yml');
  writeFileSync(broken, readFileSync('docker-compose.yml', 'utf8').replace('"127.0.0.1:8686:8686"', '{ not: a port }'));
  const bad = config(broken, { POSTGRES_PASSWORD: 'pw' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /ports/);
});

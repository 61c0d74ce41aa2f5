/**
 * Deploy refuses up front when the package repository lacks the version's package: a 422
 * naming the service, version and file and the command that builds the repository, with no
 * operation and no service recorded. The index is read afresh on every deploy, so once the
 * repository is built the same Sophon deploys without a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { defaultVersion, loadCatalog } from '../../../src/features/defs/index.js';
import { startStack, type Stack } from './helpers.js';

const built = process.env.SOPHON_TEST_PACKAGE_REPO;
const skip = built ? false : 'SOPHON_TEST_PACKAGE_REPO is not set';

let s: Stack;
let repo: string;

before(async () => {
  if (skip) return;
  // The stack's own repository, empty at first: what a fresh clone has before `npm run packages`.
  repo = await mkdtemp(path.join(tmpdir(), 'sophon-repo-'));
  s = await startStack({ hosts: 1, block: 87, cluster: 'pk', env: { SOPHON_PACKAGE_REPO: repo } });
});
after(async () => {
  await s?.stop();
  if (repo) await rm(repo, { recursive: true, force: true });
});

const recorded = async () => {
  const ops = await s.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM operations WHERE type = 'service.deploy'`);
  const services = await s.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM services`);
  return { operations: ops.rows[0]!.n, services: services.rows[0]!.n };
};

async function refused(body: object, facts: RegExp[]) {
  const res = await s.call('POST', '/api/v1/clusters/pk/services', body);
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.match(res.type, /problem\+json/);
  assert.equal(res.body.code, 'PACKAGE_MISSING');
  for (const fact of facts) assert.match(res.body.detail, fact);
  assert.deepEqual(
    res.body.errors.map((e: { path: string }) => e.path),
    ['version'],
  );
  return res;
}

test('a repository without index.json: the deploy is refused with the service, version, file and the build command', { skip }, async () => {
  const version = defaultVersion((await loadCatalog(s.defsDir)).get('zookeeper'));
  const quoted = version.replace(/\./g, '\\.');
  await refused({ service: 'zookeeper', placement: { server: ['n0'] } }, [
    new RegExp(`zookeeper ${quoted} cannot be deployed`),
    new RegExp(`its package zookeeper-${quoted}-noarch\\.tar\\.gz`),
    /no readable index\.json/,
    new RegExp(`\`npm run packages -- ${repo}\``),
  ]);
  assert.deepEqual(await recorded(), { operations: 0, services: 0 }, 'no operation, no service');
});

test(
  "an index that lacks the version's file: refused naming it; once the repository has it, the same Sophon deploys",
  { skip },
  async () => {
    const index = JSON.parse(await readFile(path.join(built!, 'index.json'), 'utf8')) as { packages: Array<{ file: string }> };
    const wanted = 'node-exporter-1.5.0-x86_64.tar.gz';
    await writeFile(path.join(repo, 'index.json'), JSON.stringify({ packages: index.packages.filter((p) => p.file !== wanted) }));
    const body = { service: 'node-exporter', version: '1.5.0', placement: { exporter: ['n0'] }, config: { port: 19187 } };
    await refused(body, [
      /node-exporter 1\.5\.0 cannot be deployed/,
      new RegExp(`its package ${wanted} is not in the package repository ${repo}`),
      /npm run packages/,
    ]);
    assert.deepEqual(await recorded(), { operations: 0, services: 0 }, 'no operation, no service');

    // "Build" the repository: the real index and tarballs.
    await writeFile(path.join(repo, 'index.json'), JSON.stringify(index));
    for (const file of await readdir(built!)) if (file.endsWith('.tar.gz')) await symlink(path.join(built!, file), path.join(repo, file));
    const res = await s.call('POST', '/api/v1/clusters/pk/services', body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
    assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
    const removed = await s.call('DELETE', '/api/v1/clusters/pk/services/node-exporter');
    assert.equal((await s.waitFor(removed.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  },
);

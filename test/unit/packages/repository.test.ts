import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from '../../../src/features/defs/index.js';
import { createPackageRepository, extractTarball, sha256File, type PackageIndex } from '../../../src/features/packages/index.js';
import { tarball } from './tarball.js';

const defsDir = join(dirname(fileURLToPath(import.meta.url)), '../../../service-defs');
const catalog = await loadCatalog(defsDir);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A repository directory with a node-exporter package and a zookeeper one (noarch). */
async function makeRepo(): Promise<{ dir: string; index: PackageIndex }> {
  const dir = await mkdtemp(join(tmpdir(), 'sophon-repo-'));
  const ne = tarball([{ path: 'bin/node_exporter', body: 'binary' }]);
  const zk = tarball([{ path: 'lib/zookeeper.jar', body: 'jar' }]);
  await writeFile(join(dir, 'node-exporter-1.5.0-x86_64.tar.gz'), ne);
  await writeFile(join(dir, 'zookeeper-3.8.0-deb12u2-noarch.tar.gz'), zk);
  const index: PackageIndex = {
    packages: [
      {
        service: 'node-exporter',
        version: '1.5.0',
        arch: 'x86_64',
        file: 'node-exporter-1.5.0-x86_64.tar.gz',
        sha256: sha(ne),
        size: ne.length,
      },
      {
        service: 'zookeeper',
        version: '3.8.0-deb12u2',
        arch: 'noarch',
        file: 'zookeeper-3.8.0-deb12u2-noarch.tar.gz',
        sha256: sha(zk),
        size: zk.length,
      },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return { dir, index };
}

async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').slice(1));
    if (name.includes('/')) return void res.writeHead(400).end();
    const stream = createReadStream(join(dir, name));
    stream.on('error', () => res.writeHead(404).end());
    stream.on('open', () => stream.pipe(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

for (const kind of ['directory', 'http'] as const) {
  void test(`${kind} repository: resolves, fetches and verifies packages`, async () => {
    const { dir } = await makeRepo();
    const http = kind === 'http' ? await serve(dir) : undefined;
    try {
      const repo = createPackageRepository(http?.url ?? dir);
      const entry = await repo.resolve(catalog.get('node-exporter'), '1.5.0', 'x86_64');
      assert.equal(entry.file, 'node-exporter-1.5.0-x86_64.tar.gz');
      // A Java package serves every architecture.
      assert.equal((await repo.resolve(catalog.get('zookeeper'), '3.8.0-deb12u2', 'aarch64')).arch, 'noarch');
      const dest = join(dir, 'fetched', entry.file);
      await repo.fetch(entry, dest);
      assert.equal(await sha256File(dest), entry.sha256);
      await extractTarball(dest, join(dir, 'installed'));
      assert.equal(await readFile(join(dir, 'installed/bin/node_exporter'), 'utf8'), 'binary');
    } finally {
      http?.server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test(`${kind} repository: a corrupt package is refused and not left behind`, async () => {
    const { dir, index } = await makeRepo();
    const http = kind === 'http' ? await serve(dir) : undefined;
    try {
      await writeFile(join(dir, 'node-exporter-1.5.0-x86_64.tar.gz'), 'tampered');
      const repo = createPackageRepository(http?.url ?? dir);
      const dest = join(dir, 'fetched', 'ne.tar.gz');
      await assert.rejects(repo.fetch(index.packages[0]!, dest), (err: { code: string; message: string }) => {
        assert.equal(err.code, 'PACKAGE_INVALID');
        assert.match(err.message, /node-exporter-1.5.0-x86_64.tar.gz is corrupt: sha256 [0-9a-f]{64}, expected/);
        return true;
      });
      assert.equal(await exists(dest), false);
    } finally {
      http?.server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

void test('resolve explains what is missing', async () => {
  const { dir } = await makeRepo();
  try {
    const repo = createPackageRepository(dir);
    await assert.rejects(
      repo.resolve(catalog.get('zookeeper'), '9.9.9', 'x86_64'),
      /zookeeper has no version '9.9.9'; available: 3.8.0-deb12u1, 3.8.0-deb12u2/,
    );
    await assert.rejects(
      repo.resolve(catalog.get('node-exporter'), '1.5.0', 'aarch64'),
      /node-exporter 1.5.0 has no package for aarch64 hosts; it has x86_64/,
    );
    await assert.rejects(
      repo.resolve(catalog.get('zookeeper'), '3.8.0-deb12u1', 'x86_64'),
      /zookeeper-3.8.0-deb12u1-noarch.tar.gz .* is not in the package repository/,
    );
    const def = catalog.get('node-exporter');
    const pinned = {
      ...def,
      versions: [{ ...def.versions[0]!, packages: [{ ...def.versions[0]!.packages[0]!, sha256: '0'.repeat(64) }] }],
    };
    await assert.rejects(repo.resolve(pinned, '1.5.0', 'x86_64'), /the definition expects sha256 0{64} but the repository lists/);
    await rm(join(dir, 'index.json'));
    await assert.rejects(createPackageRepository(dir).index(), { code: 'PACKAGE_INVALID', message: /Cannot read index.json/ });
    await writeFile(join(dir, 'index.json'), '{"packages": [{"file": "../x"}]}');
    await assert.rejects(createPackageRepository(dir).index(), { code: 'PACKAGE_INVALID', message: /index.json .* is malformed/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('an http repository that answers 404 is reported with the file', async () => {
  const { dir, index } = await makeRepo();
  const { url, server } = await serve(dir);
  try {
    await rm(join(dir, index.packages[0]!.file));
    await assert.rejects(
      createPackageRepository(url).fetch(index.packages[0]!, join(dir, 'x')),
      /answered 404 for node-exporter-1.5.0-x86_64.tar.gz/,
    );
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * The runnable catalog, for real: each definition's own rendered configs and commands deploy its
 * package from the built repository on loopback addresses, pass their health checks and stop.
 * Needs SOPHON_TEST_PACKAGE_REPO (built by scripts/build-packages.sh) and java on PATH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  buildContext,
  defaultVersion,
  loadCatalog,
  renderConfigFiles,
  renderCommand,
  resolveParameters,
  type HealthCheck,
  type HostRef,
  type ServiceDefinition,
  type TemplateContext,
} from '../../../src/features/defs/index.js';
import { createPackageRepository, extractTarball } from '../../../src/features/packages/index.js';

const sh = promisify(execFile);
const repoDir = process.env.SOPHON_TEST_PACKAGE_REPO;
const catalog = await loadCatalog(join(dirname(fileURLToPath(import.meta.url)), '../../../service-defs'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(cmd: string, timeoutSeconds: number): Promise<string> {
  const { stdout, stderr } = await sh('sh', ['-c', cmd], { timeout: timeoutSeconds * 1000 });
  return stdout + stderr;
}

async function healthy(def: ServiceDefinition, check: HealthCheck, ctx: TemplateContext): Promise<boolean> {
  try {
    if (check.type === 'tcp') {
      await new Promise<void>((resolve, reject) => {
        const s = connect(ctx.instance.ports[check.port]!, ctx.instance.address, () => (s.end(), resolve()));
        s.on('error', reject);
      });
      return true;
    }
    if (check.type === 'http') {
      const res = await fetch(`${check.scheme}://${ctx.instance.address}:${ctx.instance.ports[check.port]}${check.path}`, {
        signal: AbortSignal.timeout(check.timeout * 1000),
      });
      const body = await res.text();
      return res.status === check.expectStatus && (check.expectBody === undefined || body.includes(check.expectBody));
    }
    const out = await run(renderCommand(def, check.run, ctx), check.timeout);
    return check.expectOutput === undefined || out.includes(check.expectOutput);
  } catch {
    return false;
  }
}

/** Deploys every instance of `def` as placed, waits for all health checks, then stops them. */
async function deployAndStop(
  def: ServiceDefinition,
  version: string,
  placement: Record<string, HostRef[]>,
  params: Record<string, unknown>,
) {
  const base = await mkdtemp(join(tmpdir(), `sophon-${def.name}-`));
  const repo = createPackageRepository(repoDir!);
  const values = resolveParameters(def, params);
  const instances: Array<{ ctx: TemplateContext; role: ServiceDefinition['roles'][number] }> = [];
  try {
    for (const role of def.roles) {
      for (const host of placement[role.name] ?? []) {
        const installRoot = join(base, host.hostname);
        const ctx = buildContext({
          definition: def,
          version,
          clusterName: 'test',
          placement,
          role: role.name,
          hostname: host.hostname,
          params: values,
          installRoot,
        });
        const entry = await repo.resolve(def, version, 'x86_64');
        const versionDir = join(installRoot, def.name, version);
        await repo.fetch(entry, join(installRoot, 'packages', entry.file));
        await extractTarball(join(installRoot, 'packages', entry.file), versionDir);
        await symlink(version, ctx.paths.install).catch(() => undefined);
        for (const f of renderConfigFiles(def, ctx)) {
          await mkdir(dirname(f.path), { recursive: true });
          await writeFile(f.path, f.content, { mode: parseInt(f.mode, 8) });
        }
        instances.push({ ctx, role });
      }
    }
    for (const { ctx, role } of instances.sort((a, b) => a.role.startOrder - b.role.startOrder)) {
      await run(renderCommand(def, role.start!.run, ctx), role.start!.timeout);
    }
    for (const { ctx, role } of instances) {
      for (const check of role.healthChecks) {
        let ok = false;
        for (let i = 0; i < 120 && !ok; i++) {
          ok = await healthy(def, check, ctx);
          if (!ok) await sleep(500);
        }
        assert.ok(ok, `${def.name} ${role.name} on ${ctx.instance.hostname}: ${check.type} check passes`);
      }
      if (role.status) await run(renderCommand(def, role.status.run, ctx), role.status.timeout);
    }
    const leader = def.rolling.leader;
    // A lone server leads nothing (ZooKeeper says 'standalone').
    if (leader && instances.filter((i) => i.role.name === leader.role).length > 1) {
      const outputs = await Promise.all(
        instances
          .filter((i) => i.role.name === leader.role)
          .map((i) => run(renderCommand(def, leader.run, i.ctx), leader.timeout).catch(() => '')),
      );
      assert.equal(outputs.filter((o) => o.includes(leader.expectOutput)).length, 1, `exactly one ${def.name} leader`);
    }
    return instances;
  } finally {
    for (const { ctx, role } of instances.reverse()) {
      if (role.stop) await run(renderCommand(def, role.stop.run, ctx), role.stop.timeout).catch(() => undefined);
    }
    await rm(base, { recursive: true, force: true });
  }
}

const hosts = (n: number, first: number): HostRef[] =>
  Array.from({ length: n }, (_, i) => ({ hostname: `h${first + i}`, address: `127.0.77.${first + i}` }));
const skip = repoDir ? false : 'SOPHON_TEST_PACKAGE_REPO is not set';

void test('node-exporter starts, serves metrics and stops', { skip }, async () => {
  await deployAndStop(catalog.get('node-exporter'), '1.5.0', { exporter: hosts(2, 1) }, { port: 19100 });
});

void test("node-exporter 1.9.0 (Debian trixie's build, the upgrade target) starts, serves metrics and stops", { skip }, async () => {
  await deployAndStop(catalog.get('node-exporter'), '1.9.0', { exporter: hosts(2, 3) }, { port: 19101 });
});

void test('a three-server ZooKeeper ensemble elects one leader', { skip }, async () => {
  const def = catalog.get('zookeeper');
  await deployAndStop(def, defaultVersion(def), { server: hosts(3, 11) }, { clientPort: 12181, adminPort: 18080, heapMb: 128 });
});

void test('the older ZooKeeper build runs too', { skip }, async () => {
  await deployAndStop(
    catalog.get('zookeeper'),
    '3.8.0-deb12u1',
    { server: hosts(1, 15) },
    { clientPort: 12181, adminPort: 18080, heapMb: 128 },
  );
});

for (const version of ['7.0.15-deb12u7', '7.0.15-deb12u10']) {
  void test(`redis ${version}: a master and a replica answer PING`, { skip }, async () => {
    await deployAndStop(catalog.get('redis'), version, { master: hosts(1, 21), replica: hosts(1, 22) }, { port: 16379 });
  });
}

void test('prometheus starts, is ready and stops', { skip }, async () => {
  await deployAndStop(catalog.get('prometheus'), '2.42.0', { server: hosts(1, 31) }, { port: 19090 });
});

void test('two alertmanagers form a cluster and stop', { skip }, async () => {
  await deployAndStop(catalog.get('alertmanager'), '0.25.0', { server: hosts(2, 41) }, { port: 19093, clusterPort: 19094 });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildContext,
  defaultVersion,
  formatIssue,
  loadCatalog,
  parameterProblem,
  publicDefinition,
  restartNeeded,
  renderConfigFiles,
  renderCommand,
  renderString,
  resolveParameters,
  resolveTaskParameters,
  validateDefinitionsDir,
  type HostRef,
  type ServiceDefinition,
  type TemplateContext,
} from '../../../src/features/defs/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const defsDir = join(root, 'service-defs');
const goldenDir = join(root, 'test/golden');
// UPDATE_GOLDEN=1 rewrites the golden files after an intended change.
const update = process.env.UPDATE_GOLDEN === '1';

const RUNNABLE = ['node-exporter', 'zookeeper', 'redis', 'prometheus', 'alertmanager', 'kafka'];
/** Runnable from the Hadoop package built from Maven Central (scripts/packages/hadoop.sh). */
const HADOOP = ['hdfs', 'yarn'];
const FAITHFUL = ['spark', 'flink', 'doris', 'grafana', 'inference'];

/** A sample placement: as many hosts as the role's cardinality asks for, at least one. */
function samplePlacement(def: ServiceDefinition): Record<string, HostRef[]> {
  const out: Record<string, HostRef[]> = {};
  let next = 1;
  for (const role of def.roles) {
    const m = /^(\d+)/.exec(role.cardinality);
    const n = role.cardinality === 'odd' ? 3 : Math.max(1, Number(m?.[1] ?? 1));
    out[role.name] = Array.from({ length: n }, () => {
      const i = next++;
      return { hostname: `node${i}`, address: `127.0.10.${i}` };
    });
  }
  return out;
}

function sampleDeps(def: ServiceDefinition, all: Map<string, ServiceDefinition>): TemplateContext['deps'] {
  const deps: TemplateContext['deps'] = {};
  for (const name of [...def.dependencies, ...def.optionalDependencies]) {
    const dep = all.get(name);
    assert.ok(dep, `${def.name} depends on ${name}`);
    const params = resolveParameters(dep);
    const placement = samplePlacement(dep);
    const anyRole = dep.roles[0]!.name;
    const ctx = buildContext({
      definition: dep,
      version: defaultVersion(dep),
      clusterName: 'prod',
      placement,
      role: anyRole,
      hostname: placement[anyRole]![0]!.hostname,
      params,
      installRoot: '/opt/sophon',
    });
    deps[name] = { roles: ctx.cluster.roles };
  }
  return deps;
}

/** Every file and command of every instance, as one text per instance. */
function renderAll(def: ServiceDefinition, all: Map<string, ServiceDefinition>): Map<string, string> {
  const params = resolveParameters(def);
  const placement = samplePlacement(def);
  const deps = sampleDeps(def, all);
  const out = new Map<string, string>();
  for (const role of def.roles) {
    for (const host of placement[role.name]!) {
      const ctx = buildContext({
        definition: def,
        version: defaultVersion(def),
        clusterName: 'prod',
        placement,
        role: role.name,
        hostname: host.hostname,
        params,
        installRoot: '/opt/sophon',
        deps,
      });
      const parts: string[] = [];
      for (const cmd of ['start', 'stop', 'status', 'reload'] as const) {
        const c = role[cmd];
        if (c) parts.push(`### command ${cmd} (timeout ${c.timeout}s)\n${renderCommand(def, c.run, ctx)}\n`);
      }
      if (role.process)
        parts.push(`### process (stop timeout ${role.process.stopTimeout}s)\n${renderCommand(def, role.process.run, ctx)}\n`);
      for (const step of role.init) {
        parts.push(
          `### init ${step.name} (${step.where}, timeout ${step.timeout}s)\n${renderCommand(def, step.unless, ctx)}\n${renderCommand(def, step.run, ctx)}\n`,
        );
      }
      for (const h of role.healthChecks) {
        if (h.type === 'command') parts.push(`### health command\n${renderCommand(def, h.run, ctx)}\n`);
      }
      if (def.rolling.leader?.role === role.name) parts.push(`### leader check\n${renderCommand(def, def.rolling.leader.run, ctx)}\n`);
      for (const step of def.decommission.filter((d) => d.role === role.name)) {
        parts.push(`### decommission: ${step.name}\n${renderCommand(def, step.run, ctx)}\n`);
      }
      for (const task of def.tasks.filter((t) => t.role === role.name)) {
        // A parameter without a default gets a sample value (a string 'sample', or '/sample' where a path is
        // expected; a number its minimum).
        const sample = (p: (typeof task.parameters)[number]) =>
          p.type === 'string' ? (['sample', '/sample'].find((v) => parameterProblem(p, v) === null) ?? 'sample') : (p.min ?? 1);
        const samples = Object.fromEntries(task.parameters.filter((p) => p.default === undefined).map((p) => [p.name, sample(p)]));
        const taskCtx = { ...ctx, task: resolveTaskParameters(def, task, samples) };
        parts.push(`### task ${task.name} (${task.where}, timeout ${task.timeout}s)\n${renderCommand(def, task.run, taskCtx)}\n`);
      }
      for (const f of renderConfigFiles(def, ctx)) parts.push(`### file ${f.path} (${f.mode}, sha256 ${f.sha256})\n${f.content}`);
      out.set(`${role.name}-${host.hostname}.txt`, parts.join('\n'));
    }
  }
  return out;
}

void test('the catalog validates with no problem at all', async () => {
  const { definitions, issues } = await validateDefinitionsDir(defsDir);
  assert.deepEqual(issues.map(formatIssue), []);
  assert.deepEqual(definitions.map((d) => d.name).sort(), [...RUNNABLE, ...HADOOP, ...FAITHFUL].sort());
});

void test('loadCatalog lists summaries and gets definitions by name', async () => {
  const catalog = await loadCatalog(defsDir);
  const zk = catalog.list().find((s) => s.name === 'zookeeper');
  assert.equal(zk?.defaultVersion, '3.8.0-deb12u2');
  assert.deepEqual(zk?.versions, ['3.8.0-deb12u1', '3.8.0-deb12u2']);
  assert.deepEqual(catalog.get('yarn').dependencies, ['hdfs']);
  assert.throws(() => catalog.get('nope'), { code: 'NOT_FOUND' });
});

void test('the runnable services name their packages <service>-<version>-<arch>.tar.gz; zookeeper, redis and kafka come in two versions', async () => {
  const catalog = await loadCatalog(defsDir);
  assert.equal(catalog.get('zookeeper').versions.length, 2);
  assert.equal(catalog.get('redis').versions.length, 2);
  assert.equal(catalog.get('kafka').versions.length, 2);
  for (const name of RUNNABLE) {
    for (const v of catalog.get(name).versions) {
      for (const p of v.packages) assert.equal(p.file, `${name}-${v.version}-${p.arch}.tar.gz`);
    }
  }
});

void test('HDFS and YARN run the same two builds of the Hadoop package on Java 17', async () => {
  const catalog = await loadCatalog(defsDir);
  for (const name of HADOOP) {
    const def = catalog.get(name);
    assert.equal(def.requires.java, 17);
    assert.deepEqual(
      def.versions.map((v) => v.packages.map((p) => p.file)),
      [['hadoop-3.4.1-noarch.tar.gz'], ['hadoop-3.4.2-noarch.tar.gz']],
    );
  }
});

void test('every definition renders, deterministically, as its golden files say', async () => {
  const catalog = await loadCatalog(defsDir);
  const all = new Map(catalog.list().map((s) => [s.name, catalog.get(s.name)]));
  for (const def of all.values()) {
    const first = renderAll(def, all);
    const second = renderAll(def, all);
    assert.deepEqual(second, first, `${def.name} renders the same twice`);
    for (const [name, text] of first) {
      const file = join(goldenDir, def.name, name);
      if (update) {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, text);
        continue;
      }
      const golden = await readFile(file, 'utf8').catch(() => null);
      assert.equal(text, golden, `${def.name}/${name} differs from ${file} (UPDATE_GOLDEN=1 to accept)`);
    }
  }
});

void test('a ZooKeeper ensemble gets its myid and the server list', async () => {
  const catalog = await loadCatalog(defsDir);
  const def = catalog.get('zookeeper');
  const placement = { server: [1, 2, 3].map((i) => ({ hostname: `zk${i}`, address: `127.0.0.${i + 10}` })) };
  const ctx = buildContext({
    definition: def,
    version: '3.8.0-deb12u2',
    clusterName: 'c',
    placement,
    role: 'server',
    hostname: 'zk2',
    params: resolveParameters(def, { clientPort: 12181 }),
    installRoot: '/srv',
  });
  const files = renderConfigFiles(def, ctx);
  const zoo = files.find((f) => f.path.endsWith('/zoo.cfg'))!;
  assert.match(zoo.content, /^clientPort=12181$/m);
  assert.match(zoo.content, /^server\.3=127\.0\.0\.13:2888:3888$/m);
  const myid = files.find((f) => f.path.endsWith('/myid'))!;
  assert.equal(myid.path, '/srv/zookeeper/data/server/myid');
  assert.equal(myid.content, '2\n');
});

void test('stored indexes keep ZooKeeper ids when a server in the middle has left', async () => {
  const def = (await loadCatalog(defsDir)).get('zookeeper');
  // zk2 (index 1) left; zk4 joined later with the next free index.
  const placement = {
    server: [
      [1, 0],
      [3, 2],
      [4, 3],
    ].map(([n, index]) => ({ hostname: `zk${n}`, address: `127.0.0.${n! + 10}`, index })),
  };
  const ctx = buildContext({
    definition: def,
    version: '3.8.0-deb12u2',
    clusterName: 'c',
    placement,
    role: 'server',
    hostname: 'zk3',
    params: resolveParameters(def),
    installRoot: '/srv',
  });
  const files = renderConfigFiles(def, ctx);
  const servers = files
    .find((f) => f.path.endsWith('/zoo.cfg'))!
    .content.split('\n')
    .filter((l) => l.startsWith('server.'));
  assert.deepEqual(servers, ['server.1=127.0.0.11:2888:3888', 'server.3=127.0.0.13:2888:3888', 'server.4=127.0.0.14:2888:3888']);
  assert.equal(files.find((f) => f.path.endsWith('/myid'))!.content, '3\n');
});

void test('rendering refuses an undefined variable', async () => {
  const catalog = await loadCatalog(defsDir);
  const def = catalog.get('redis');
  const placement = { master: [{ hostname: 'r1', address: '127.0.0.2' }] };
  const ctx = buildContext({
    definition: def,
    version: '7.0.15-deb12u10',
    clusterName: 'c',
    placement,
    role: 'master',
    hostname: 'r1',
    params: resolveParameters(def),
    installRoot: '/srv',
  });
  assert.throws(() => renderString(def, '{{ params.nothere }}', ctx), { code: 'DEFINITION_INVALID' });
});

void test('a value with shell metacharacters never reaches a command; config files still render', async () => {
  const def = (await loadCatalog(defsDir)).get('zookeeper');
  const placement = { server: [{ hostname: 'z1', address: '127.0.0.11' }] };
  const ctx = buildContext({
    definition: def,
    version: '3.8.0-deb12u2',
    clusterName: 'c',
    placement,
    role: 'server',
    hostname: 'z1',
    params: resolveParameters(def),
    installRoot: '/srv/x;touch /tmp/pwned',
  });
  const start = def.roles.find((r) => r.name === 'server')!.start!.run;
  assert.throws(
    () => renderCommand(def, start, ctx, 'server start'),
    (err: { code: string; message: string; errors: Array<{ path: string }> }) => {
      assert.equal(err.code, 'VALIDATION_FAILED');
      assert.match(
        err.message,
        /zookeeper: server start: paths\.\w+ is "\/srv\/x;touch \/tmp\/pwned\/zookeeper\/.*", which cannot go into a shell command/,
      );
      assert.match(err.errors[0]!.path, /^paths\./);
      return true;
    },
  );
  const zoo = renderConfigFiles(def, ctx).find((f) => f.path.endsWith('/zoo.cfg'))!;
  assert.match(zoo.content, /^dataDir=\/srv\/x;touch \/tmp\/pwned\/zookeeper\/data\/server$/m);
});

void test('parameters are checked all at once', async () => {
  const def = (await loadCatalog(defsDir)).get('zookeeper');
  assert.throws(
    () => resolveParameters(def, { tickTime: 'fast', clientPort: 80, bogus: 1 }),
    (err: { code: string; errors: Array<{ path: string }> }) => {
      assert.equal(err.code, 'VALIDATION_FAILED');
      assert.deepEqual(err.errors.map((e) => e.path).sort(), ['config.bogus', 'config.clientPort', 'config.tickTime']);
      return true;
    },
  );
});

void test('a sumsTo parameter takes name:number lists whose numbers add up, and says what is wrong otherwise', () => {
  const p = { name: 'queues', type: 'string', sumsTo: 100 };
  assert.equal(parameterProblem(p, 'default:60,etl:40'), null);
  assert.equal(parameterProblem(p, 'a:33.3,b:33.3,c:33.4'), null);
  assert.equal(parameterProblem(p, 'all:100'), null);
  assert.match(parameterProblem(p, 'default:60,etl:30')!, /numbers in 'queues' to sum to 100 \(they sum to 90\)/);
  assert.match(parameterProblem(p, 'a:50,a:50')!, /'a' is listed twice/);
  for (const bad of ['', 'a:50,', 'a:50, b:50', 'a=50,b:50', 'a:-10,b:110', 'a b:50,c:50', 'a:1e2']) {
    assert.match(parameterProblem(p, bad)!, /to be a list like 'a:60,b:40'/, bad);
  }
});

void test('HDFS with two NameNodes renders the nameservice of the cluster, the JournalNode quorum, ZooKeeper and each role by address', async () => {
  const catalog = await loadCatalog(defsDir);
  const all = new Map(catalog.list().map((s) => [s.name, catalog.get(s.name)]));
  const def = catalog.get('hdfs');
  const h = (i: number) => ({ hostname: `n${i}`, address: `127.0.20.${i}` });
  const placement = { namenode: [h(1), h(2)], zkfc: [h(1), h(2)], journalnode: [h(3), h(4), h(5)], datanode: [h(3), h(4), h(5)] };
  const render = (role: string, hostname: string) => {
    const ctx = buildContext({
      definition: def,
      version: '3.4.2',
      clusterName: 'prod',
      placement,
      role,
      hostname,
      params: resolveParameters(def),
      installRoot: '/opt/sophon',
      deps: sampleDeps(def, all),
    });
    return Object.fromEntries(renderConfigFiles(def, ctx).map((f) => [f.path.split('/').pop(), f.content]));
  };
  const nn2 = render('namenode', 'n2');
  assert.match(nn2['core-site.xml']!, /<value>hdfs:\/\/prod<\/value>/);
  assert.match(nn2['core-site.xml']!, /ha.zookeeper.quorum<\/name>\s*<value>127.0.10.1:2181,127.0.10.2:2181,127.0.10.3:2181</);
  assert.match(nn2['hdfs-site.xml']!, /dfs.ha.namenodes.prod<\/name><value>nn1,nn2</);
  assert.match(nn2['hdfs-site.xml']!, /dfs.namenode.rpc-address.prod.nn2<\/name><value>127.0.20.2:8020</);
  assert.match(nn2['hdfs-site.xml']!, /dfs.ha.namenode.id<\/name><value>nn2</);
  assert.match(nn2['hdfs-site.xml']!, /qjournal:\/\/127.0.20.3:8485;127.0.20.4:8485;127.0.20.5:8485\/prod/);
  assert.match(nn2['hdfs-site.xml']!, /dfs.replication<\/name><value>3</);
  assert.match(render('zkfc', 'n1')['hdfs-site.xml']!, /dfs.ha.namenode.id<\/name><value>nn1</);
  const dn = render('datanode', 'n4');
  assert.match(dn['hdfs-site.xml']!, /dfs.datanode.address<\/name><value>127.0.20.4:9866</);
  assert.match(dn['hdfs-site.xml']!, /dfs.datanode.hostname<\/name><value>127.0.20.4</);
  assert.doesNotMatch(dn['hdfs-site.xml']!, /dfs.ha.namenode.id/);
  assert.match(dn['core-site.xml']!, /sophon.ipc.client.bind-address<\/name>\s*<value>127.0.20.4</);
});

void test('the API view hides the server path; restartNeeded names only restart-bound changes', async () => {
  const catalog = await loadCatalog(defsDir);
  const redis = catalog.get('redis');
  const view = publicDefinition(redis);
  assert.equal('dir' in view, false);
  assert.deepEqual(Object.keys(view.templates), ['redis.conf.njk']);
  const before = resolveParameters(redis);
  const after = resolveParameters(redis, { maxmemoryMb: 512, appendonly: false });
  assert.deepEqual(restartNeeded(redis, before, after), ['appendonly']);
});

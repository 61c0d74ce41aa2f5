/**
 * Real Hadoop through the API on a real sshd fleet: ZooKeeper, then HDFS with NameNode HA (two
 * NameNodes, three JournalNodes, two ZKFCs, four DataNodes), then YARN (a ResourceManager and
 * three NodeManagers serving MapReduce shuffles), all from the hadoop package built from Maven
 * Central. One deployed cluster is shared by the tests of this file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../../helpers/harness.js';
import { startStack, type Stack } from '../services/helpers.js';

let s: Stack;
const CLUSTER = 'hadoop';
const FINAL = ['SUCCEEDED', 'FAILED', 'HOLDING', 'CANCELLED'];
const HOSTS = ['n0', 'n1', 'n2', 'n3'];
const NAMENODES = ['n0', 'n1'];
const NN_HTTP = 9870;
const RM_HTTP = 8088;

const address = (h: string) => s.fleet.hosts[Number(h.slice(1))]!.address;
const installRoot = (h: string) => s.fleet.hosts[Number(h.slice(1))]!.installRoot;

async function json(url: string, init?: RequestInit): Promise<any> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200, `${url}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

/** A NameNode's own word on its HA state, or 'down' when it does not answer. */
async function haState(h: string): Promise<string> {
  try {
    const body = await json(`http://${address(h)}:${NN_HTTP}/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus`);
    return body.beans[0].State;
  } catch {
    return 'down';
  }
}
const activeNameNode = () =>
  eventually(
    async () => {
      const states = await Promise.all(NAMENODES.map(haState));
      return states.filter((x) => x === 'active').length === 1 ? NAMENODES[states.indexOf('active')] : undefined;
    },
    'exactly one active NameNode',
    60_000,
  );

async function deploy(body: Record<string, unknown>) {
  const res = await s.call('POST', `/api/v1/clusters/${CLUSTER}/services`, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL, 600_000);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  logPhases(op);
  return op;
}

/** Prints how long each phase of an operation took (for the record, not asserted). */
function logPhases(op: { type: string; service: string; steps: Array<{ phase: string; startedAt: string; finishedAt: string }> }) {
  const phases = new Map<string, [number, number]>();
  for (const x of op.steps) {
    const [a, b] = phases.get(x.phase) ?? [Infinity, 0];
    phases.set(x.phase, [Math.min(a, Date.parse(x.startedAt)), Math.max(b, Date.parse(x.finishedAt))]);
  }
  const took = [...phases].map(([phase, [a, b]]) => `${phase} ${((b - a) / 1000).toFixed(0)}s`);
  console.log(`${op.type} ${op.service}: ${took.join(', ')}`);
}

async function runTask(service: string, task: string, parameters: Record<string, unknown> = {}) {
  const res = await s.call('POST', `/api/v1/clusters/${CLUSTER}/services/${service}/tasks/${task}`, { parameters });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL, 600_000);
  logPhases(op);
  return op;
}

/** PUT with node:http: the DataNode answers 100 Continue unasked, which fetch refuses as a bad response. */
function put(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': body.length }, timeout: 60_000 }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`PUT ${url} timed out`)));
    req.end(body);
  });
}

/** Writes `data` over WebHDFS through the NameNode on `nn`, which redirects to a DataNode; returns its address. */
async function webhdfsWrite(nn: string, file: string, data: Buffer) {
  const create = await fetch(`http://${address(nn)}:${NN_HTTP}/webhdfs/v1${file}?op=CREATE&overwrite=true&user.name=root`, {
    method: 'PUT',
    redirect: 'manual',
  });
  assert.equal(create.status, 307, await create.text());
  const location = create.headers.get('location')!;
  const written = await put(location, data);
  assert.equal(written.status, 201, `${location}: ${written.text}`);
  return new URL(location).hostname;
}
async function webhdfsRead(nn: string, file: string): Promise<Buffer> {
  const res = await fetch(`http://${address(nn)}:${NN_HTTP}/webhdfs/v1${file}?op=OPEN&user.name=root`);
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

/** Prints the resident memory of every role's JVM (for the record, not asserted). */
function logRss(placements: Record<string, Record<string, string[]>>) {
  const rows: string[] = [];
  for (const [service, roles] of Object.entries(placements)) {
    for (const [role, hosts] of Object.entries(roles)) {
      for (const h of hosts) {
        const pid = readFileSync(path.join(installRoot(h), `${service}/run/${role}/${role}.pid`), 'utf8').trim();
        const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        rows.push(`${role}@${h} ${Math.round(Number(rss) / 1024)}MiB`);
      }
    }
  }
  console.log(`RSS: ${rows.join(', ')}`);
}

const HDFS_CONFIG = { namenodeHeapMb: 128, datanodeHeapMb: 96, journalnodeHeapMb: 64, zkfcHeapMb: 64, replication: 2, jvmProfile: 'small' };

before(async () => {
  s = await startStack({ hosts: 4, block: 101, cluster: CLUSTER });
  await deploy({ service: 'zookeeper', placement: { server: ['n0', 'n1', 'n2'] }, config: { heapMb: 64 } });
});
after(async () => {
  await s?.stop();
});

test('HA placements HDFS cannot run are refused with 422 naming the role, and nothing is recorded', async () => {
  const operations = async () => (await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length;
  const before = await operations();
  const cases: Array<[Record<string, string[]>, string, RegExp]> = [
    [
      { namenode: ['n0', 'n1'], journalnode: ['n0', 'n1'], zkfc: ['n0', 'n1'], datanode: HOSTS },
      'placement.journalnode',
      /at least 3 hosts/,
    ],
    [{ namenode: ['n0'], journalnode: ['n0', 'n1', 'n2'], datanode: HOSTS }, 'placement.journalnode', /single NameNode/],
    [{ namenode: ['n0'], zkfc: ['n0'], datanode: HOSTS }, 'placement.zkfc', /second NameNode/],
    [
      { namenode: ['n0', 'n1'], journalnode: ['n0', 'n1', 'n2'], zkfc: ['n0', 'n2'], datanode: HOSTS },
      'placement.zkfc',
      /must be on the hosts of 'namenode'/,
    ],
  ];
  for (const [placement, field, why] of cases) {
    const res = await s.call('POST', `/api/v1/clusters/${CLUSTER}/services`, { service: 'hdfs', placement });
    assert.equal(res.status, 422, `${JSON.stringify(placement)} → ${JSON.stringify(res.body)}`);
    const error = res.body.errors.find((e: { path: string }) => e.path === field);
    assert.ok(error, `${field} in ${JSON.stringify(res.body.errors)}`);
    assert.match(error.message, why);
  }
  assert.equal(await operations(), before, 'no operation was created');
});

test('HA HDFS deploys: JournalNodes, formatted and bootstrapped NameNodes, one active, every DataNode live, safe mode off', async () => {
  const op = await deploy({
    service: 'hdfs',
    placement: { journalnode: ['n0', 'n1', 'n2'], namenode: NAMENODES, zkfc: NAMENODES, datanode: HOSTS },
    config: HDFS_CONFIG,
  });
  const inits = op.steps
    .filter((x: { step: string }) => x.step.startsWith('init:'))
    .map((x: { host: string; step: string; status: string }) => `${x.host} ${x.step} ${x.status}`)
    .sort();
  assert.deepEqual(inits, [
    'n0 init: format SUCCEEDED',
    'n0 init: format-zookeeper SUCCEEDED',
    'n1 init: bootstrap-standby SUCCEEDED',
    'n1 init: zookeeper-formatted SUCCEEDED',
  ]);

  const active = await activeNameNode();
  const standby = NAMENODES.find((h) => h !== active)!;
  assert.equal(await haState(standby), 'standby');
  const info = (await json(`http://${address(active)}:${NN_HTTP}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo`)).beans[0];
  assert.deepEqual(
    Object.keys(JSON.parse(info.LiveNodes)).sort(),
    HOSTS.map((h) => `${address(h)}:9866`).sort(),
    'every DataNode registered under its own address',
  );
  assert.equal(info.Safemode, '', 'safe mode is off');

  // Each role's JVM serves its metrics through the JMX exporter on its own address.
  const metrics = await (await fetch(`http://${address(active)}:27102/metrics`)).text();
  assert.match(metrics, /^hadoop_namenode_/m);

  const safemode = await runTask('hdfs', 'safemode');
  assert.equal(safemode.status, 'SUCCEEDED', JSON.stringify(safemode));
  assert.equal(safemode.steps[0].stdoutTail.match(/Safe mode is OFF/g)?.length, 2, safemode.steps[0].stdoutTail);
});

test('a file written over WebHDFS reads back byte-identical, and fsck finds the file system healthy', async () => {
  const active = await activeNameNode();
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const datanode = await webhdfsWrite(active, '/sophon/webhdfs.bin', data);
  assert.ok(HOSTS.map(address).includes(datanode), `the NameNode redirected to a DataNode's own address: ${datanode}`);
  assert.ok((await webhdfsRead(active, '/sophon/webhdfs.bin')).equals(data), 'read back byte-identical');

  const fsck = await runTask('hdfs', 'fsck');
  assert.equal(fsck.status, 'SUCCEEDED', JSON.stringify(fsck));
  assert.match(fsck.steps[0].stdoutTail, /is HEALTHY/);
});

test('the balancer, refresh-nodes and ha-state tasks run against the nameservice', async () => {
  const balancer = await runTask('hdfs', 'balancer', { threshold: 10 });
  assert.equal(balancer.status, 'SUCCEEDED', JSON.stringify(balancer));
  assert.match(`${balancer.steps[0].stdoutTail}${balancer.steps[0].stderrTail}`, /The cluster is balanced/);
  const refresh = await runTask('hdfs', 'refresh-nodes');
  assert.equal(refresh.status, 'SUCCEEDED', JSON.stringify(refresh));
  assert.equal(refresh.steps[0].stdoutTail.match(/Refresh nodes successful/g)?.length, 2, refresh.steps[0].stdoutTail);
  const ha = await runTask('hdfs', 'ha-state');
  assert.equal(ha.status, 'SUCCEEDED', JSON.stringify(ha));
  const active = await activeNameNode();
  assert.match(ha.steps[0].stdoutTail, new RegExp(`${address(active).replace(/\./g, '\\.')}:8020\\s+active`));
});

test('YARN deploys on the HA nameservice and the MapReduce pi job ends SUCCEEDED', async () => {
  await deploy({
    service: 'yarn',
    placement: { resourcemanager: ['n3'], nodemanager: ['n1', 'n2', 'n3'] },
    config: {
      resourcemanagerHeapMb: 160,
      nodemanagerHeapMb: 128,
      nodeMemoryMb: 1024,
      minAllocationMb: 128,
      containerMb: 256,
      maxAmShare: 0.5,
      // The fleet's hosts share one machine, and the shuffle service listens on every address.
      shufflePort: 0,
      jvmProfile: 'small',
    },
  });
  const rm = `http://${address('n3')}:${RM_HTTP}`;
  const nodes = (await json(`${rm}/ws/v1/cluster/nodes`)).nodes.node as Array<{ id: string; state: string }>;
  assert.deepEqual(nodes.map((n) => `${n.id} ${n.state}`).sort(), ['n1', 'n2', 'n3'].map((h) => `${address(h)}:8041 RUNNING`).sort());
  const core = readFileSync(path.join(installRoot('n3'), 'yarn/conf/resourcemanager/core-site.xml'), 'utf8');
  assert.match(core, new RegExp(`<value>hdfs://${CLUSTER}</value>`), 'YARN uses the HA nameservice');

  const refresh = await runTask('yarn', 'refresh-nodes');
  assert.equal(refresh.status, 'SUCCEEDED', JSON.stringify(refresh));

  const pi = await runTask('yarn', 'pi', { maps: 2, samples: 1000 });
  assert.equal(pi.status, 'SUCCEEDED', JSON.stringify(pi));
  assert.match(pi.steps[0].stdoutTail, /Estimated value of Pi is 3\.1/);
  const apps = (await json(`${rm}/ws/v1/cluster/apps`)).apps.app as Array<{ name: string; finalStatus: string; applicationType: string }>;
  assert.deepEqual(
    apps.map((a) => `${a.applicationType} ${a.name} ${a.finalStatus}`),
    ['MAPREDUCE QuasiMonteCarlo SUCCEEDED'],
  );
  logRss({
    hdfs: { journalnode: ['n0', 'n1', 'n2'], namenode: NAMENODES, zkfc: NAMENODES, datanode: HOSTS },
    yarn: { resourcemanager: ['n3'], nodemanager: ['n1', 'n2', 'n3'] },
  });
});

test('SIGKILL of the active NameNode: the standby becomes active and writes go on', async () => {
  const active = await activeNameNode();
  const standby = NAMENODES.find((h) => h !== active)!;
  const pid = Number(readFileSync(path.join(installRoot(active), 'hdfs/run/namenode/namenode.pid'), 'utf8').trim());
  process.kill(pid, 'SIGKILL');

  await eventually(async () => ((await haState(standby)) === 'active' ? true : undefined), `${standby} to become active`, 90_000);
  assert.equal(await haState(active), 'down');
  const data = randomBytes(256 * 1024);
  await webhdfsWrite(standby, '/sophon/after-failover.bin', data);
  assert.ok((await webhdfsRead(standby, '/sophon/after-failover.bin')).equals(data));
  assert.equal((await webhdfsRead(standby, '/sophon/webhdfs.bin')).length, 3 * 1024 * 1024 + 17, 'the earlier file is still there');
});

/**
 * Real YARN through the API on a real sshd fleet of three hosts: ZooKeeper, a small HDFS, then
 * two ResourceManagers electing the active one through ZooKeeper and three NodeManagers. Queue
 * capacities change without a restart, a rolling restart moves the leadership in order, a
 * scale-in decommissions its NodeManager gracefully first, and racks follow the hosts' labels.
 * One deployed cluster is shared by the tests of this file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../../helpers/harness.js';
import { startStack, type Stack } from '../services/helpers.js';

let s: Stack;
const CLUSTER = 'yarn';
const FINAL = ['SUCCEEDED', 'FAILED', 'HOLDING', 'CANCELLED'];
const RMS = ['n0', 'n1'];
const NMS = ['n0', 'n1', 'n2'];
const RACKS: Record<string, string> = { n0: '/r1', n1: '/r1', n2: '/r2' };
const RM_HTTP = 8088;
const NM_RPC = 8041;
const YARN = `/api/v1/clusters/${CLUSTER}/services/yarn`;
/** Every state, so that nodes that left are listed too. */
const NODE_STATES = 'NEW,RUNNING,UNHEALTHY,DECOMMISSIONING,DECOMMISSIONED,LOST,REBOOTED,SHUTDOWN';

const address = (h: string) => s.fleet.hosts[Number(h.slice(1))]!.address;
const installRoot = (h: string) => s.fleet.hosts[Number(h.slice(1))]!.installRoot;
const pidOf = (h: string, service: string, role: string) =>
  Number(readFileSync(path.join(installRoot(h), `${service}/run/${role}/${role}.pid`), 'utf8').trim());
const nodeId = (h: string) => `${address(h)}:${NM_RPC}`;
const operationCount = async () => (await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length;

async function json(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'manual' });
  assert.equal(res.status, 200, `${url}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

/** A ResourceManager's own word on its HA state, or 'down' when it does not answer. */
async function haState(h: string): Promise<string> {
  try {
    return (await json(`http://${address(h)}:${RM_HTTP}/ws/v1/cluster/info`)).clusterInfo.haState;
  } catch {
    return 'down';
  }
}
const activeRm = () =>
  eventually(
    async () => {
      const states = await Promise.all(RMS.map(haState));
      return states.filter((x) => x === 'ACTIVE').length === 1 && states.includes('STANDBY') ? RMS[states.indexOf('ACTIVE')] : undefined;
    },
    'exactly one active ResourceManager and one standby',
    120_000,
  );

/** The NodeManagers the active ResourceManager knows: id → {state, rack}. */
async function nodes(): Promise<Map<string, { state: string; rack: string }>> {
  const rm = await activeRm();
  const list = ((await json(`http://${address(rm)}:${RM_HTTP}/ws/v1/cluster/nodes?states=${NODE_STATES}`)).nodes?.node ?? []) as Array<{
    id: string;
    state: string;
    rack: string;
  }>;
  return new Map(list.map((n) => [n.id, { state: n.state, rack: n.rack }]));
}

async function operation(method: string, url: string, body: unknown, timeoutMs = 900_000) {
  const res = await s.call(method, url, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL, timeoutMs);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  logPhases(op);
  // Services that read this one re-render (e.g. HDFS its ZooKeeper quorum) in follow-ups.
  for (const f of (op.result?.followUps ?? []) as Array<{ operationId?: string; refused?: string }>) {
    assert.ok(f.operationId, JSON.stringify(f));
    const followUp = await s.waitFor(f.operationId, FINAL, timeoutMs);
    assert.equal(followUp.status, 'SUCCEEDED', JSON.stringify(followUp));
    logPhases(followUp);
  }
  return op;
}
const deploy = (body: Record<string, unknown>) => operation('POST', `/api/v1/clusters/${CLUSTER}/services`, body);

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

const YARN_CONFIG = {
  resourcemanagerHeapMb: 160,
  nodemanagerHeapMb: 128,
  nodeMemoryMb: 1024,
  minAllocationMb: 128,
  containerMb: 256,
  maxAmShare: 0.5,
  // The fleet's hosts share one machine, and the shuffle service listens on every address.
  shufflePort: 0,
  jvmProfile: 'small',
};
const YARN_PLACEMENT = { resourcemanager: RMS, nodemanager: NMS };

before(async () => {
  s = await startStack({ hosts: 3, block: 141, cluster: CLUSTER });
  for (const [h, rack] of Object.entries(RACKS)) {
    const res = await s.call('PATCH', `/api/v1/clusters/${CLUSTER}/hosts/${h}`, { labels: { rack } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  await deploy({
    service: 'hdfs',
    placement: { namenode: ['n0'], datanode: ['n1', 'n2'] },
    config: { namenodeHeapMb: 128, datanodeHeapMb: 96, replication: 2, jvmProfile: 'small' },
  });
});
after(async () => {
  await s?.stop();
});

test('ResourceManager placements YARN cannot run are refused with 422 at the field, and nothing is recorded', async () => {
  const before = await operationCount();
  const cases: Array<[Record<string, string[]>, string, RegExp]> = [
    [YARN_PLACEMENT, 'service', /needs zookeeper in the cluster with 2 resourcemanagers, the two ResourceManagers elect/],
    [{ resourcemanager: NMS, nodemanager: NMS }, 'placement.resourcemanager', /needs between 1 and 2 hosts, got 3/],
  ];
  for (const [placement, field, why] of cases) {
    const res = await s.call('POST', `/api/v1/clusters/${CLUSTER}/services`, { service: 'yarn', placement, config: YARN_CONFIG });
    assert.equal(res.status, 422, `${JSON.stringify(placement)} → ${JSON.stringify(res.body)}`);
    const error = res.body.errors.find((e: { path: string }) => e.path === field);
    assert.ok(error, `${field} in ${JSON.stringify(res.body.errors)}`);
    assert.match(error.message, why);
  }
  assert.equal(await operationCount(), before, 'no operation was created');
});

test('two ResourceManagers on ZooKeeper: one active, one standby, every NodeManager RUNNING on the active one', async () => {
  await deploy({ service: 'zookeeper', placement: { server: ['n0', 'n1', 'n2'] }, config: { heapMb: 64 } });
  await deploy({ service: 'yarn', placement: YARN_PLACEMENT, config: YARN_CONFIG });

  const active = await activeRm();
  const standby = RMS.find((h) => h !== active)!;
  assert.equal(await haState(standby), 'STANDBY');
  const known = await nodes();
  assert.deepEqual([...known].map(([id, n]) => `${id} ${n.state}`).sort(), NMS.map((h) => `${nodeId(h)} RUNNING`).sort());
  const site = readFileSync(path.join(installRoot('n0'), 'yarn/conf/resourcemanager/yarn-site.xml'), 'utf8');
  assert.match(site, /<name>yarn\.resourcemanager\.ha\.enabled<\/name><value>true<\/value>/);
  assert.match(site, new RegExp(`<name>hadoop\\.zk\\.address</name><value>${address('n0')}:\\d+,`));
});

test('the MapReduce pi job ends SUCCEEDED through the active ResourceManager', async () => {
  const res = await s.call('POST', `${YARN}/tasks/pi`, { parameters: { maps: 2, samples: 1000 } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const pi = await s.waitFor(res.body.operation.id, FINAL, 900_000);
  assert.equal(pi.status, 'SUCCEEDED', JSON.stringify(pi));
  assert.match(pi.steps[0].stdoutTail, /Estimated value of Pi is 3\.1/);
  const apps = (await json(`http://${address(await activeRm())}:${RM_HTTP}/ws/v1/cluster/apps`)).apps.app as Array<{
    name: string;
    finalStatus: string;
  }>;
  assert.deepEqual(
    apps.map((a) => `${a.name} ${a.finalStatus}`),
    ['QuasiMonteCarlo SUCCEEDED'],
  );
});

test('queue capacities that do not sum to 100 are refused with 400 at the field, and nothing is recorded', async () => {
  const before = await operationCount();
  for (const [queues, why] of [
    ['default:60,etl:30', /sum to 100 \(they sum to 90\)/],
    ['default:60,default:40', /'default' is listed twice/],
    ['default=100', /a list like/],
  ] as const) {
    const res = await s.call('PUT', `${YARN}/config`, { values: { queues } });
    assert.equal(res.status, 400, `${queues} → ${JSON.stringify(res.body)}`);
    const error = res.body.errors.find((e: { path: string }) => e.path === 'values.queues');
    assert.ok(error, JSON.stringify(res.body.errors));
    assert.match(error.message, why);
  }
  assert.equal(await operationCount(), before, 'no operation was created');
});

test('a new queue applies without a restart: the ResourceManagers keep their pids and the scheduler shows it', async () => {
  const pids = RMS.map((h) => pidOf(h, 'yarn', 'resourcemanager'));
  const op = await operation('PUT', `${YARN}/config`, { values: { queues: 'default:60,etl:40' } });
  assert.deepEqual(op.result.restarted, []);
  assert.deepEqual(
    op.result.reloaded.sort(),
    RMS.map((h) => `resourcemanager@${h}`),
  );
  assert.deepEqual(
    RMS.map((h) => pidOf(h, 'yarn', 'resourcemanager')),
    pids,
    'no ResourceManager restarted',
  );
  const scheduler = (await json(`http://${address(await activeRm())}:${RM_HTTP}/ws/v1/cluster/scheduler`)).scheduler.schedulerInfo;
  const queues = (scheduler.queues.queue as Array<{ queueName: string; capacity: number }>).map(
    (q) => `${q.queueName}:${Math.round(q.capacity)}`,
  );
  assert.deepEqual(queues.sort(), ['default:60', 'etl:40']);
});

test("racks follow the hosts' label 'rack' in YARN and in HDFS", async () => {
  const known = await nodes();
  for (const h of NMS) assert.equal(known.get(nodeId(h))?.rack, RACKS[h], `rack of ${h}`);
  const topology = execFileSync(
    path.join(installRoot('n0'), 'hdfs/current/bin/hadoop-tool'),
    ['org.apache.hadoop.hdfs.tools.DFSAdmin', '-printTopology'],
    { env: { ...process.env, HADOOP_CONF_DIR: path.join(installRoot('n0'), 'hdfs/conf/namenode') }, encoding: 'utf8' },
  );
  assert.match(topology, new RegExp(`Rack: /r1\\s+${address('n1').replace(/\./g, '\\.')}:9866`));
  assert.match(topology, new RegExp(`Rack: /r2\\s+${address('n2').replace(/\./g, '\\.')}:9866`));
});

test('metrics: every series the default alerts read is served by the JMX exporters; the default rules exist', async () => {
  const scrape = async (h: string, port: number) => (await fetch(`http://${address(h)}:${port}/metrics`)).text();
  const active = await activeRm();
  const standby = RMS.find((h) => h !== active)!;
  const rm = await scrape(active, 27105);
  for (const series of [
    /^yarn_resourcemanager_active\{state="active"\} 1\.0$/m,
    /^hadoop_resourcemanager_numlostnms\{name="ClusterMetrics"\} 0\.0$/m,
    /^hadoop_resourcemanager_numunhealthynms\{name="ClusterMetrics"\} 0\.0$/m,
    /^jvm_memory_used_bytes\{area="heap"\} \d/m,
    /^jvm_memory_max_bytes\{area="heap"\} \d/m,
  ])
    assert.match(rm, series);
  assert.match(await scrape(standby, 27105), /^yarn_resourcemanager_active\{state="standby"\} 0\.0$/m);
  for (const h of NMS) assert.match(await scrape(h, 27106), /^jvm_memory_max_bytes\{area="heap"\} \d/m);

  const rules = ((await s.call('GET', '/api/v1/alert-rules')).body.rules as Array<{ name: string; service: string; source: string }>)
    .filter((r) => r.source === 'definition' && r.service === 'yarn')
    .map((r) => r.name)
    .sort();
  assert.deepEqual(rules, [
    'YarnApplicationsFailed',
    'YarnJvmHeapHigh',
    'YarnLostNodes',
    'YarnNoActiveResourceManager',
    'YarnResourceManagerDown',
    'YarnUnhealthyNodes',
  ]);
});

test('a rolling restart goes NodeManager by NodeManager, then the standby, then the active ResourceManager; one active remains', async () => {
  const rmPids = RMS.map((h) => pidOf(h, 'yarn', 'resourcemanager'));
  const nmPids = NMS.map((h) => pidOf(h, 'yarn', 'nodemanager'));
  const active = await activeRm();
  const op = await operation('POST', `${YARN}/actions`, { action: 'restart', rolling: {} });
  const starts = op.steps
    .filter((x: { step: string }) => x.step === 'start')
    .map((x: { host: string; role: string }) => `${x.role}@${x.host}`);
  const standby = RMS.find((h) => h !== active)!;
  assert.deepEqual(starts.slice(0, 3).sort(), NMS.map((h) => `nodemanager@${h}`).sort());
  assert.deepEqual(starts.slice(3), [`resourcemanager@${standby}`, `resourcemanager@${active}`], 'the standby before the active');
  assert.ok(
    op.steps.some((x: { step: string; host: string }) => x.step === 'handoff' && x.host === active),
    'the handoff ran on the active ResourceManager',
  );

  await activeRm();
  for (const [i, h] of RMS.entries()) assert.notEqual(pidOf(h, 'yarn', 'resourcemanager'), rmPids[i], `a new ResourceManager on ${h}`);
  for (const [i, h] of NMS.entries()) assert.notEqual(pidOf(h, 'yarn', 'nodemanager'), nmPids[i], `a new NodeManager on ${h}`);
  const known = await eventually(
    async () => {
      const n = await nodes();
      return NMS.every((h) => n.get(nodeId(h))?.state === 'RUNNING') ? n : undefined;
    },
    'every NodeManager RUNNING on the active ResourceManager',
    120_000,
  );
  assert.equal(known.size, NMS.length);
});

test('scale-in decommissions the NodeManager gracefully on the active ResourceManager before Sophon stops it', async () => {
  const leaving = 'n2';
  const op = await operation('POST', `${YARN}/scale`, { role: 'nodemanager', remove: [leaving] });
  const steps = op.steps
    .filter((x: { host: string }) => x.host === leaving)
    .map((x: { step: string; status: string }) => `${x.step} ${x.status}`);
  const decommission = steps.findIndex((x: string) => x.startsWith('decommission: '));
  const stop = steps.indexOf('stop SUCCEEDED');
  assert.ok(decommission >= 0 && stop > decommission, `decommission, then stop: ${steps.join(', ')}`);
  assert.match(steps[decommission], /SUCCEEDED$/);

  const known = await nodes();
  assert.equal(known.get(nodeId(leaving))?.state, 'DECOMMISSIONED', 'the ResourceManager decommissioned it');
  for (const h of NMS.filter((x) => x !== leaving)) assert.equal(known.get(nodeId(h))?.state, 'RUNNING');
  const exclude = readFileSync(path.join(installRoot(await activeRm()), 'yarn/conf/resourcemanager/yarn.exclude'), 'utf8');
  assert.match(exclude, new RegExp(`^${address(leaving).replace(/\./g, '\\.')}$`, 'm'));
});

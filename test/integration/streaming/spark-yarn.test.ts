/**
 * Spark on YARN on a real sshd fleet of three hosts: HDFS (a NameNode, two DataNodes,
 * replication 1), YARN (a ResourceManager, two NodeManagers) and Spark, whose configuration
 * directory is also a Hadoop client's, rendered from the cluster's HDFS and YARN by the Spark
 * definition. The spark-pi-yarn task uploads Spark's jars to HDFS once and runs the package's
 * Java SparkPi with its executors in YARN containers. One deployed cluster is shared by the tests.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pgrep, startStack, type Stack } from '../services/helpers.js';

let s: Stack;
const CLUSTER = 'sparkyarn';
const FINAL = ['SUCCEEDED', 'FAILED', 'HOLDING', 'CANCELLED'];
const HOSTS = ['n0', 'n1', 'n2'];
const RM_HTTP = 8088;
const NN_RPC = 8020;
const NN_HTTP = 9870;

const host = (h: string) => s.fleet.hosts[Number(h.slice(1))]!;
const address = (h: string) => host(h).address;
const root = (h: string) => host(h).installRoot;

async function json(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200, `${url}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

async function deploy(body: Record<string, unknown>) {
  const res = await s.call('POST', `/api/v1/clusters/${CLUSTER}/services`, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL, 600_000);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  return op;
}
async function runTask(service: string, task: string, parameters: Record<string, unknown> = {}) {
  const res = await s.call('POST', `/api/v1/clusters/${CLUSTER}/services/${service}/tasks/${task}`, { parameters });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return s.waitFor(res.body.operation.id, FINAL, 1_200_000);
}

before(async () => {
  s = await startStack({ hosts: 3, block: 151, cluster: CLUSTER });
});
after(async () => {
  // Daemons outlive the fleet's sshds: stop what this file started.
  for (const h of s ? HOSTS : []) for (const pid of pgrep(`${root(h)}/(spark|hdfs|yarn)/`)) process.kill(pid, 'SIGKILL');
  await s?.stop();
});

test('HDFS, YARN and Spark deploy; the Spark configuration names the cluster HDFS and ResourceManager', async () => {
  await deploy({
    service: 'spark',
    placement: { master: ['n0'], worker: ['n1'] },
    // YARN containers: the application master 256m + 256m, each executor 512m + 256m (Spark needs 450m of heap).
    config: {
      daemonMemory: '96m',
      workerCores: 1,
      workerMemory: '512m',
      driverMemory: '512m',
      executorMemory: '512m',
      yarnAmMemory: '256m',
      memoryOverhead: '256m',
    },
  });
  // Without HDFS and YARN the Hadoop client files are empty.
  assert.doesNotMatch(readFileSync(path.join(root('n0'), 'spark/conf/master/core-site.xml'), 'utf8'), /fs\.defaultFS/);

  await deploy({
    service: 'hdfs',
    placement: { namenode: ['n0'], datanode: ['n1', 'n2'] },
    config: { namenodeHeapMb: 128, datanodeHeapMb: 96, replication: 1, jvmProfile: 'small' },
  });
  await deploy({
    service: 'yarn',
    placement: { resourcemanager: ['n0'], nodemanager: ['n1', 'n2'] },
    config: {
      resourcemanagerHeapMb: 160,
      nodemanagerHeapMb: 128,
      nodeMemoryMb: 1280,
      minAllocationMb: 128,
      maxAmShare: 0.5,
      // The fleet's hosts share one machine, and the shuffle service listens on every address.
      shufflePort: 0,
      jvmProfile: 'small',
    },
  });
  // Deploying HDFS and YARN refreshed Spark, which reads them: its files now name both.
  const conf = (file: string) => readFileSync(path.join(root('n0'), `spark/conf/master/${file}`), 'utf8');
  await refreshesDone();
  assert.match(conf('core-site.xml'), new RegExp(`<value>hdfs://${address('n0')}:${NN_RPC}</value>`));
  assert.match(
    conf('yarn-site.xml'),
    new RegExp(`<name>yarn.resourcemanager.scheduler.address</name><value>${address('n0')}:8030</value>`),
  );
  assert.match(
    conf('spark-defaults.conf'),
    new RegExp(`spark.yarn.jars +hdfs://${address('n0')}:${NN_RPC}/sophon/spark/4.3.0/jars/\\*\\.jar`),
  );
});

/**
 * Waits for the refreshes of Spark that deploying HDFS and YARN started (a follow-up that finds
 * Spark locked by the other's refresh is not started), then refreshes Spark by hand, which
 * renders its files from both.
 */
async function refreshesDone() {
  const operations = async () =>
    (await s.call('GET', `/api/v1/operations?cluster=${CLUSTER}&service=spark&limit=100`)).body.operations as Array<{
      id: string;
      type: string;
    }>;
  for (let i = 0; !(await operations()).some((o) => o.type === 'service.refresh'); i++) {
    if (i >= 120) assert.fail('deploying HDFS started no refresh of Spark');
    await new Promise((r) => setTimeout(r, 1000));
  }
  for (const o of await operations()) {
    const done = await s.waitFor(o.id, FINAL, 600_000);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
  }
  const res = await s.call('POST', `/api/v1/clusters/${CLUSTER}/services/spark/refresh`, {});
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const refresh = await s.waitFor(res.body.operation.id, FINAL, 600_000);
  assert.equal(refresh.status, 'SUCCEEDED', JSON.stringify(refresh));
}

test('spark-pi-yarn runs SparkPi with executors in YARN containers; the ResourceManager lists it FINISHED/SUCCEEDED', async () => {
  const op = await runTask('spark', 'spark-pi-yarn', { partitions: 4, executors: 2 });
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.steps[0].host, 'n0');
  assert.match(op.steps[0].stdoutTail, /Pi is roughly 3\.\d+/);

  const apps = (await json(`http://${address('n0')}:${RM_HTTP}/ws/v1/cluster/apps`)).apps.app as Array<{
    name: string;
    applicationType: string;
    state: string;
    finalStatus: string;
  }>;
  assert.deepEqual(
    apps.map((a) => `${a.applicationType} ${a.name} ${a.state} ${a.finalStatus}`),
    ['SPARK SparkPi FINISHED SUCCEEDED'],
  );
  // Spark's jars are in HDFS once; a second run finds them there and does not copy them again.
  const listed = await json(`http://${address('n0')}:${NN_HTTP}/webhdfs/v1/sophon/spark/4.3.0/jars?op=LISTSTATUS&user.name=root`);
  const jars = listed.FileStatuses.FileStatus as Array<{ pathSuffix: string; modificationTime: number }>;
  assert.ok(
    jars.some((f) => f.pathSuffix === 'spark-yarn_2.13-4.3.0.jar'),
    'spark-yarn is among the uploaded jars',
  );
  const again = await runTask('spark', 'spark-pi-yarn', { partitions: 2, executors: 1 });
  assert.equal(again.status, 'SUCCEEDED', JSON.stringify(again));
  assert.match(again.steps[0].stdoutTail, /Pi is roughly 3\.\d+/);
  const relisted = await json(`http://${address('n0')}:${NN_HTTP}/webhdfs/v1/sophon/spark/4.3.0/jars?op=LISTSTATUS&user.name=root`);
  assert.deepEqual(
    (relisted.FileStatuses.FileStatus as typeof jars).map((f) => f.modificationTime),
    jars.map((f) => f.modificationTime),
  );
});

test('the ResourceManager serves the failed-applications counter YarnApplicationsFailed reads', async () => {
  const rules = JSON.stringify((await s.call('GET', '/api/v1/alert-rules')).body);
  assert.match(rules, /YarnApplicationsFailed/);
  const metrics = await (await fetch(`http://${address('n0')}:27105/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  // The root queue's series (no q1 or user label), which the rule reads: no application failed.
  assert.match(metrics, /^hadoop_resourcemanager_appsfailed\{name="QueueMetrics",q0="root"\} 0\.0$/m);
});

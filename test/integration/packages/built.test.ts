/**
 * The package repository the package script built (SOPHON_TEST_PACKAGE_REPO, built by
 * test/run.ts): every version a runnable definition names is there, verifies against its
 * sha256, unpacks safely and holds what the definition starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog } from '../../../src/features/defs/index.js';
import { createPackageRepository, extractTarball } from '../../../src/features/packages/index.js';

const built = process.env.SOPHON_TEST_PACKAGE_REPO;
const catalog = await loadCatalog('service-defs');

/** Per runnable service, files its package must carry. */
const RUNNABLE: Record<string, string[]> = {
  'node-exporter': ['bin/node_exporter'],
  zookeeper: ['bin/zkServer.sh', 'bin/zkEnv.sh', 'lib/zookeeper.jar', 'lib/zookeeper-jute.jar'],
  redis: ['bin/redis-server', 'bin/redis-cli', 'lib/libjemalloc.so.2'],
  prometheus: ['bin/prometheus', 'bin/promtool'],
  alertmanager: ['bin/alertmanager', 'bin/amtool', 'share/alertmanager/default.tmpl'],
  kafka: [
    'bin/kafka-run-class',
    'bin/kafka-server-start.sh',
    'bin/kafka-storage.sh',
    'bin/kafka-metadata-quorum.sh',
    'bin/kafka-topics.sh',
    'config/log4j2.properties',
    'agent/jmx_prometheus_javaagent.jar',
  ],
  spark: [
    'jars/spark-core_2.13-4.3.0.jar',
    'java-module-options',
    'python/lib/pyspark.zip',
    'bin/spark-submit',
    'bin/spark-health',
    'examples/sparkpi.py',
  ],
  flink: [
    'lib/flink-dist-2.3.0.jar',
    'bin/bash-java-utils.jar',
    'bin/flink-daemon',
    'bin/flink-run-job',
    'java-module-options',
    'plugins/metrics-prometheus/sophon-prometheus-reporter-on-host.jar',
    'examples/sample-job.jar',
  ],
  // The Hadoop package, which YARN runs too.
  hdfs: [
    'bin/hadoop-java',
    'bin/hadoop-tool',
    'lib/sophon-hadoop-net.jar',
    'agent/jmx_prometheus_javaagent.jar',
    'share/hdfs/webapps/hdfs/dfshealth.html',
    'share/mapreduce/hadoop-mapreduce-examples.jar',
  ],
};

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

void test(
  'the built repository holds every version of the runnable services, each verifies against its sha256 and carries what it starts',
  { skip: built ? false : 'SOPHON_TEST_PACKAGE_REPO is not set' },
  async () => {
    const repo = createPackageRepository(built!);
    const scratch = await mkdtemp(join(tmpdir(), 'sophon-built-'));
    try {
      const named = new Set<string>();
      for (const [service, files] of Object.entries(RUNNABLE)) {
        const def = catalog.get(service);
        for (const v of def.versions) {
          const entry = await repo.resolve(def, v.version, 'x86_64');
          named.add(entry.file);
          const dest = join(scratch, entry.file);
          await repo.fetch(entry, dest);
          const root = join(scratch, `${service}-${v.version}`);
          await extractTarball(dest, root);
          for (const f of files) assert.ok(await exists(join(root, f)), `${entry.file} has ${f}`);
          await rm(root, { recursive: true, force: true });
          await rm(dest, { force: true });
        }
      }
      const indexed = new Set((await repo.index()).packages.map((p) => p.file));
      for (const file of named) assert.ok(indexed.has(file), `index.json lists ${file}`);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
);

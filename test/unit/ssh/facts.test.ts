import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPrerequisites, javaMajor, parseFactsOutput, parseJavaVersion, type HostFacts } from '../../../src/platform/ssh/facts.js';
import { createLimiter } from '../../../src/platform/ssh/limiter.js';

const OUTPUT = `@@hostname
zk1
@@os
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
ID=debian
VERSION_ID="12"
@@kernel
6.1.0-18-amd64
@@arch
x86_64
@@cpus
4
@@meminfo
MemTotal:        8000000 kB
MemFree:         1000000 kB
MemAvailable:    6000000 kB
@@installroot
/opt
/dev/sda2 100000000 40000000 60000000 40% /opt
@@disks
/dev/sda1 20000000 10000000 10000000 50% /
/dev/sda2 100000000 40000000 60000000 40% /opt
/dev/sdb1 5000 1000 4000 20% /mnt/with space
@@java
openjdk version "17.0.9" 2023-10-17
@@commands
sha256sum yes
java yes
systemctl no
@@end
`;

test('parseFactsOutput reads every section', () => {
  const facts = parseFactsOutput(OUTPUT, '/opt/sophon', ['sha256sum', 'java', 'systemctl']);
  assert.equal(facts.hostname, 'zk1');
  assert.deepEqual(facts.os, { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  assert.equal(facts.kernel, '6.1.0-18-amd64');
  assert.equal(facts.arch, 'x86_64');
  assert.equal(facts.cpus, 4);
  assert.deepEqual(facts.memory, { totalBytes: 8000000 * 1024, availableBytes: 6000000 * 1024 });
  assert.deepEqual(facts.installRoot, {
    path: '/opt/sophon',
    existingPath: '/opt',
    exists: false,
    freeBytes: 60000000 * 1024,
    mountPoint: '/opt',
  });
  assert.equal(facts.disks.length, 3);
  assert.equal(facts.disks[2]?.mountPoint, '/mnt/with space');
  assert.equal(facts.javaVersion, '17.0.9');
  assert.deepEqual(facts.commands, { sha256sum: true, java: true, systemctl: false });
});

test('java versions of both numbering schemes', () => {
  assert.equal(parseJavaVersion('java version "1.8.0_392"'), '1.8.0_392');
  assert.equal(javaMajor('1.8.0_392'), 8);
  assert.equal(javaMajor('17.0.9'), 17);
  assert.equal(javaMajor(null), null);
  assert.equal(parseJavaVersion(''), null);
});

const facts: HostFacts = {
  ...parseFactsOutput(OUTPUT, '/opt/sophon', ['sha256sum', 'java', 'systemctl']),
  clockOffsetMs: 1500,
  gatheredAt: '2026-01-01T00:00:00.000Z',
};

test('checkPrerequisites passes a host that meets everything', () => {
  assert.deepEqual(
    checkPrerequisites(facts, { minFreeBytes: 2 ** 30, commands: ['sha256sum'], architectures: ['x86_64'], minJavaMajor: 11 }),
    { ok: true, problems: [] },
  );
});

test('checkPrerequisites names each unmet requirement', () => {
  const result = checkPrerequisites(facts, {
    minFreeBytes: 100 * 2 ** 30,
    minMemoryBytes: 64 * 2 ** 30,
    minCpus: 8,
    commands: ['systemctl', 'curl'],
    architectures: ['aarch64'],
    maxClockOffsetMs: 500,
    minJavaMajor: 21,
  });
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.problems.map((p) => p.check),
    ['freeSpace', 'memory', 'cpus', 'command', 'command', 'arch', 'clock', 'java'],
  );
  assert.match(result.problems[0]?.message ?? '', /57\.2 GiB free under \/opt, 100\.0 GiB needed for \/opt\/sophon/);
  assert.match(result.problems[4]?.message ?? '', /'curl' is not installed/);
});

test('limiter queues beyond its size and fails waiters', async () => {
  const limiter = createLimiter(2);
  const a = await limiter.acquire();
  await limiter.acquire();
  let third = false;
  const pending = limiter.acquire().then((release) => {
    third = true;
    return release;
  });
  assert.equal(limiter.waiting, 1);
  a();
  await pending;
  assert.equal(third, true);
  assert.equal(limiter.inUse, 2);
  const queued = limiter.acquire();
  limiter.fail(new Error('gone'));
  await assert.rejects(queued, /gone/);
});

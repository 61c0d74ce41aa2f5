import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { arch, cpus, hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { checkPrerequisites, gatherFacts, type SshPool } from '../../../src/platform/ssh/index.js';
import { fleetBase, poolFor, targetFor } from './helpers.js';

let fleet: Fleet;
let pool: SshPool;

before(async () => {
  fleet = await startFleet({ hosts: 2, baseAddress: fleetBase(15) });
  pool = poolFor(fleet);
});

after(async () => {
  pool?.closeAll();
  await fleet?.stop();
});

test('gathers facts from real hosts', async () => {
  const installRoot = join(fleet.hosts[0]?.installRoot as string, 'not', 'yet');
  const conn = await pool.connect(targetFor(fleet, 0));
  const facts = await gatherFacts(conn, installRoot, { commands: ['definitely-not-a-command-xyz'] });

  assert.equal(facts.hostname, hostname());
  assert.notEqual(facts.os.id, 'unknown');
  assert.match(facts.kernel, /^\d+\.\d+/);
  assert.equal(facts.arch, arch() === 'x64' ? 'x86_64' : facts.arch);
  assert.equal(facts.cpus, cpus().length);
  assert.ok(facts.memory.totalBytes > 0 && facts.memory.availableBytes <= facts.memory.totalBytes);
  assert.ok(facts.disks.length > 0);
  assert.equal(facts.installRoot.exists, false);
  assert.equal(facts.installRoot.existingPath, fleet.hosts[0]?.installRoot);
  assert.ok(facts.installRoot.freeBytes > 0);
  assert.equal(facts.commands.sha256sum, true);
  assert.equal(facts.commands['definitely-not-a-command-xyz'], false);
  // Same machine, same clock: the offset is only measurement error.
  assert.ok(Math.abs(facts.clockOffsetMs) < 1000, `offset ${facts.clockOffsetMs} ms`);

  assert.deepEqual(checkPrerequisites(facts, { minFreeBytes: 1024, commands: ['sha256sum', 'tar'] }), { ok: true, problems: [] });
  const tooBig = checkPrerequisites(facts, {
    minFreeBytes: facts.installRoot.freeBytes * 1000,
    commands: ['definitely-not-a-command-xyz'],
  });
  assert.deepEqual(
    tooBig.problems.map((p) => p.check),
    ['freeSpace', 'command'],
  );
});

test('an install root with shell metacharacters is only ever a path', async () => {
  const base = fleet.hosts[1]?.installRoot as string;
  const canary = join(base, 'pwned');
  const root = `${base}/$(touch ${canary}); touch ${canary}`;
  const facts = await gatherFacts(await pool.connect(targetFor(fleet, 1)), root);
  assert.equal(facts.installRoot.existingPath, base);
  assert.equal(existsSync(canary), false);
});

test('a clock offset is measured against the injected clock', async () => {
  const conn = await pool.connect(targetFor(fleet, 0));
  const facts = await gatherFacts(conn, '/', { now: () => Date.now() - 60_000 });
  assert.ok(Math.abs(facts.clockOffsetMs - 60_000) < 1000, `offset ${facts.clockOffsetMs} ms`);
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { SshError, sh, type SshPool } from '../../../src/platform/ssh/index.js';
import { fleetBase, poolFor, rejection, targetFor } from './helpers.js';

let fleet: Fleet;
let pool: SshPool;

before(async () => {
  fleet = await startFleet({ hosts: 2, baseAddress: fleetBase(12) });
  pool = poolFor(fleet);
});

after(async () => {
  pool?.closeAll();
  await fleet?.stop();
});

test('trust on first use returns the key the host presented; pinning it keeps working', async () => {
  const first = await pool.connect(targetFor(fleet, 0));
  assert.equal(first.hostKeyFingerprint, fleet.hosts[0]?.hostKeyFingerprint);
  const pinned = await pool.connect(targetFor(fleet, 0, { hostKeyFingerprint: first.hostKeyFingerprint }));
  assert.equal((await pinned.run(sh`echo pinned`)).stdout, 'pinned\n');
});

test('a swapped host key is refused as possible impersonation, not retryable, with how to re-pin', async () => {
  const pinnedKey = fleet.hosts[1]?.hostKeyFingerprint as string;
  const target = targetFor(fleet, 1, { hostKeyFingerprint: pinnedKey, cluster: 'prod' });
  await pool.connect(target);
  pool.closeAll();

  const newKey = await fleet.swapHostKey(1);
  assert.notEqual(newKey, pinnedKey);
  const error = await rejection(pool.connect(target));
  assert.ok(error instanceof SshError);
  assert.equal(error.code, 'HOST_KEY_CHANGED');
  assert.equal(error.retryable, false);
  assert.match(error.message, /host key changed — possible impersonation/);
  assert.ok(error.message.includes(`presented ${newKey}, but ${pinnedKey} is pinned`));
  assert.match(error.message, /POST \/api\/v1\/clusters\/prod\/hosts\/host2\/repin-host-key/);

  // Re-pinning (what the repin endpoint does) is trust on first use followed by pinning the new key.
  const seen = await pool.connect(targetFor(fleet, 1));
  assert.equal(seen.hostKeyFingerprint, newKey);
  const repinned = await pool.connect({ ...target, hostKeyFingerprint: newKey });
  assert.equal((await repinned.run(sh`echo ok`)).stdout, 'ok\n');
});

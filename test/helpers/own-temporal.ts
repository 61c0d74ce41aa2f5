/** A Temporal dev server of the test's own, for tests that freeze (SIGSTOP) or kill it. */
import assert from 'node:assert/strict';
import { findProcesses } from '../../src/dev/leftovers.js';
import { startEmbeddedTemporal, type RunningTemporal } from '../../src/dev/embedded-temporal.js';
import { logger } from './harness.js';
import { freePort } from './ports.js';

export async function startOwnTemporal(): Promise<{ temporal: RunningTemporal; pid: number }> {
  const port = await freePort();
  const temporal = await startEmbeddedTemporal({ namespace: 'default', cli: process.env.TEMPORAL_CLI, port }, logger);
  const pids = await findProcesses((argv) => argv.includes('start-dev') && argv[argv.indexOf('--port') + 1] === String(port));
  assert.equal(pids.length, 1, `expected one Temporal dev server on port ${port}, found ${pids.join(',')}`);
  return { temporal, pid: pids[0]! };
}

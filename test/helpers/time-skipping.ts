/**
 * Temporal's time-skipping test server for unit tests of workflow code: a Java program from
 * Maven Central (the SDK's own download needs the internet), fetched into .tools/ on first use
 * by scripts/install-temporal-test-server.sh and started through a small launcher script.
 * No dev server, Postgres or sshd is involved.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../src/dev/paths.js';

const run = promisify(execFile);
const LAUNCHER = path.join(PROJECT_ROOT, 'scripts', 'temporal-test-server', 'temporal-test-server');

let runtimeInstalled = false;

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  // Idempotent and quick once the jars are there.
  await run('bash', [path.join(PROJECT_ROOT, 'scripts', 'install-temporal-test-server.sh')], { timeout: 10 * 60_000 });
  if (!runtimeInstalled) {
    // Failing fake activities are the point of these tests: keep their per-attempt warnings out of
    // the output, and core's warning that the test server lacks a capability of newer servers.
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
    runtimeInstalled = true;
  }
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: LAUNCHER } } });
}

/**
 * Waits until `check` holds, letting the test server skip ahead (timers, activity retry
 * backoff) a second of workflow time at a go; fails after `seconds` of workflow time.
 */
export async function skipUntil(env: TestWorkflowEnvironment, check: () => boolean, what: string, seconds = 300): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    if (check()) return;
    await env.sleep(1000);
  }
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

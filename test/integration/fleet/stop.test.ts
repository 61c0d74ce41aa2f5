/**
 * Stopping the test fleet (`npm run fleet`, Ctrl-C) also stops what was started on its hosts
 * and outlived the SSH session: detached process groups running under a host's install root.
 * Processes elsewhere are left alone.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { after, test } from 'node:test';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { eventually } from '../../helpers/harness.js';
import { pgrep } from '../services/helpers.js';
import { fleetBase } from '../ssh/helpers.js';

let fleet: Fleet | undefined;
const leftovers: number[] = [];
after(async () => {
  await fleet?.stop();
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

type Reachable = Pick<Fleet, 'clientKeyPath' | 'username'> & { hosts: Array<Pick<Fleet['hosts'][number], 'address' | 'port'>> };

/** Runs `command` on fleet host i through the system ssh client, as Sophon would over SSH. */
function onHost(f: Reachable, i: number, command: string): void {
  const h = f.hosts[i]!;
  execFileSync(
    'ssh',
    [
      '-i',
      f.clientKeyPath,
      '-p',
      String(h.port),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      `${f.username}@${h.address}`,
      command,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 20_000 },
  );
}

// Backgrounded on its own (not as the tail of an && list, whose subshell would hold the session open).
const detached = (cmd: string) => `setsid sh -c '${cmd}' > /dev/null 2>&1 < /dev/null &`;

const running = (seconds: number) => pgrep(`^sleep ${seconds}$`);

test('fleet.stop ends the process groups under its install roots, and only those', async () => {
  fleet = await startFleet({ hosts: 2, baseAddress: fleetBase(89) });
  const [root0, root1] = [fleet.hosts[0]!.installRoot, fleet.hosts[1]!.installRoot];
  // Distinct durations name this test's processes among whatever else runs on the machine.
  const base = 700_000 + randomInt(100_000) * 10;
  const [inRoot, inGroup, exeInRoot, elsewhere] = [base + 1, base + 2, base + 3, base + 4];
  // A daemon whose working directory is the install root, as a started component's is.
  onHost(fleet, 0, `cd ${root0} || exit 1; ${detached(`exec sleep ${inRoot}`)}`);
  // A group whose leader runs elsewhere while one member runs in the root: the group goes whole.
  onHost(fleet, 0, `cd / || exit 1; ${detached(`(cd ${root0} && exec sleep ${inRoot}) & exec sleep ${inGroup}`)}`);
  // An executable inside the other host's root (a component's own binary).
  onHost(
    fleet,
    1,
    `mkdir -p ${root1}/bin && cp "$(command -v sleep)" ${root1}/bin/sleep && cd / || exit 1; ${detached(`exec ${root1}/bin/sleep ${exeInRoot}`)}`,
  );
  // Started the same way, but nowhere near an install root: not the fleet's to stop.
  onHost(fleet, 1, `cd / || exit 1; ${detached(`exec sleep ${elsewhere}`)}`);

  await eventually(
    async () =>
      running(inRoot).length === 2 &&
      running(inGroup).length === 1 &&
      pgrep(`bin/sleep ${exeInRoot}$`).length === 1 &&
      running(elsewhere).length === 1
        ? true
        : undefined,
    'the four processes to run',
    10_000,
  );
  // Whatever survives a failing run is killed after it.
  leftovers.push(...running(inRoot), ...running(inGroup), ...pgrep(`bin/sleep ${exeInRoot}$`), ...running(elsewhere));

  const stopping = fleet;
  fleet = undefined;
  await stopping.stop();
  assert.deepEqual(running(inRoot), [], 'the daemons in the install root are gone');
  assert.deepEqual(running(inGroup), [], 'their process group went with them');
  assert.deepEqual(pgrep(`bin/sleep ${exeInRoot}$`), [], 'the binary from the install root is gone');
  assert.equal(running(elsewhere).length, 1, 'a process outside the install roots is left alone');
});

test('Ctrl-C on `npm run fleet` stops what runs under the install roots too', async () => {
  const cli = spawn(process.execPath, ['--import', 'tsx', 'test/fleet/cli.ts', '--hosts', '1', '--base', fleetBase(91)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
  let out = '';
  cli.stdout.on('data', (d) => (out += d));
  try {
    const printed = await eventually(
      async () => {
        const key = /client private key: (\S+)/.exec(out)?.[1];
        const user = /hosts, user (\S+),/.exec(out)?.[1];
        const host = /^host1\t(\S+)\t(\d+)\t(\S+)\t/m.exec(out);
        return key && user && host
          ? { clientKeyPath: key, username: user, hosts: [{ address: host[1]!, port: Number(host[2]) }], root: host[3]! }
          : undefined;
      },
      'the fleet to print its hosts',
      30_000,
    );
    const seconds = 700_001 + randomInt(100_000) * 10;
    onHost(printed, 0, `cd ${printed.root} || exit 1; ${detached(`exec sleep ${seconds}`)}`);
    await eventually(async () => (running(seconds).length === 1 ? true : undefined), 'the daemon to run', 10_000);
    leftovers.push(...running(seconds));
    cli.kill('SIGINT');
    assert.equal(await exited, 0, out);
    assert.deepEqual(running(seconds), [], 'the daemon under the install root is gone');
  } finally {
    if (cli.exitCode === null) cli.kill('SIGKILL');
  }
});

/**
 * Starts a test fleet by hand: `npm run fleet -- --hosts 5 [--base 127.0.10.1] [--port 2222]`.
 * Prints each host's address and the client key path, then runs until Ctrl-C.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startFleet, type Fleet } from './fleet.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '3' },
    base: { type: 'string', default: '127.0.10.1' },
    port: { type: 'string', default: '2222' },
  },
});

const started: { fleet?: Fleet } = {};
let stopping = false;
// Registered before the fleet starts, so Ctrl-C stops it gracefully instead of by the exit hook.
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  if (started.fleet === undefined) process.exit(130); // still starting: the fleet's exit hook kills what started
  console.log('\nstopping fleet...');
  started.fleet.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

const fleet = await startFleet({ hosts: Number(values.hosts), baseAddress: values.base, port: Number(values.port) });
started.fleet = fleet;

console.log(`Sophon test fleet: ${fleet.hosts.length} hosts, user ${fleet.username}, state in ${fleet.dir}`);
console.log(`client private key: ${fleet.clientKeyPath}`);
console.log('');
console.log(['name', 'address', 'port', 'install root', 'host key'].join('\t'));
for (const h of fleet.hosts) console.log([h.name, h.address, h.port, h.installRoot, h.hostKeyFingerprint].join('\t'));
console.log('');
const first = fleet.hosts[0];
if (first !== undefined) {
  console.log(
    `try: ssh -i ${fleet.clientKeyPath} -p ${first.port} -o StrictHostKeyChecking=no ${fleet.username}@${first.address} uname -a`,
  );
}
console.log('');
console.log('add them to Sophon with the CLI (cluster "analytics"):');
console.log(`  sophon credentials add fleet --key-file ${fleet.clientKeyPath} --username ${fleet.username}`);
for (const h of fleet.hosts) {
  console.log(
    `  sophon hosts add -c analytics --hostname ${h.name} --address ${h.address} --port ${h.port} --credential fleet --install-root ${h.installRoot}`,
  );
}
console.log('');
console.log('type "stop N" / "start N" to stop or start host N\'s sshd (a host going down); Ctrl-C stops the fleet.');

// A host failing on purpose, for trying HOLDING and decisions by hand.
createInterface({ input: process.stdin }).on('line', (line) => {
  const m = /^\s*(stop|start)\s+(\d+)\s*$/.exec(line);
  const i = m ? Number(m[2]) - 1 : -1;
  if (!m || !fleet.hosts[i]) {
    if (line.trim()) console.log(`expected "stop N" or "start N" with N from 1 to ${fleet.hosts.length}`);
    return;
  }
  const action = m[1] === 'stop' ? fleet.stopHost(i) : fleet.startHost(i);
  action.then(
    () => console.log(`host${i + 1}: sshd ${m[1] === 'stop' ? 'stopped' : 'started'}`),
    (error: unknown) => console.error(error),
  );
});

// Keep the process alive until a signal arrives.
setInterval(() => undefined, 1 << 30);

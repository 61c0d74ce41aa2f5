/**
 * SSH layer benchmark against a real fleet of sshd hosts it starts itself:
 *   npx tsx bench/ssh-commands.ts [--hosts 50] [--base 127.0.20.1]
 * Prints commands per second over one pooled connection vs a new connection per command,
 * and the wall time to connect and gather facts on 1, 10 and 50 hosts in parallel.
 */
import { parseArgs } from 'node:util';
import { startFleet, type Fleet } from '../test/fleet/fleet.js';
import { createSshPool, gatherFacts, sh, type SshPool, type SshTarget } from '../src/platform/ssh/index.js';
import { mapBounded } from '../src/platform/concurrency.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '50' },
    base: { type: 'string', default: '127.0.20.1' },
    concurrency: { type: 'string', default: '16' },
  },
});
const hostCount = Number(values.hosts);
const concurrency = Number(values.concurrency);

const target = (fleet: Fleet, i: number): SshTarget => {
  const host = fleet.hosts[i] as Fleet['hosts'][number];
  return { host: host.name, address: host.address, port: host.port, credential: 'fleet' };
};

const newPool = (fleet: Fleet): SshPool =>
  createSshPool({ resolveCredential: () => Promise.resolve({ username: fleet.username, privateKey: fleet.clientKey }) });

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const rows: string[][] = [];
const row = (...cells: (string | number)[]) => rows.push(cells.map(String));

console.log(`starting ${hostCount} sshd hosts from ${values.base}...`);
const fleet = await startFleet({ hosts: hostCount, baseAddress: values.base });
try {
  const pooled = newPool(fleet);
  const one = await pooled.connect(target(fleet, 0));
  await one.run(sh`true`); // warm up

  const sequential = 50;
  let ms = await timed(async () => {
    for (let i = 0; i < sequential; i++) await one.run(sh`true`);
  });
  row('pooled connection, sequential', sequential, ms.toFixed(0), ((sequential * 1000) / ms).toFixed(1));

  const parallel = 200;
  ms = await timed(() => Promise.all(Array.from({ length: parallel }, () => one.run(sh`true`))));
  row('pooled connection, 8 channels in parallel', parallel, ms.toFixed(0), ((parallel * 1000) / ms).toFixed(1));

  const fresh = 20;
  ms = await timed(async () => {
    for (let i = 0; i < fresh; i++) {
      const pool = newPool(fleet);
      await pool.exec(target(fleet, 1), sh`true`);
      pool.closeAll();
    }
  });
  row('new connection per command, sequential', fresh, ms.toFixed(0), ((fresh * 1000) / ms).toFixed(1));
  pooled.closeAll();

  for (const n of [1, 10, 50].filter((n) => n <= hostCount)) {
    const pool = newPool(fleet);
    ms = await timed(() =>
      mapBounded(
        Array.from({ length: n }, (_, i) => i),
        concurrency,
        async (i) => gatherFacts(await pool.connect(target(fleet, i)), fleet.hosts[i]?.installRoot as string),
      ),
    );
    row(`connect + facts, ${n} host(s), ≤${concurrency} at once`, n, ms.toFixed(0), ((n * 1000) / ms).toFixed(1));
    pool.closeAll();
  }
} finally {
  await fleet.stop();
}

const header = ['scenario', 'ops', 'wall ms', 'ops/s'];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
const line = (cells: string[]) =>
  cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ');
console.log('');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));

import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Ports handed to servers that start later are taken below the kernel's ephemeral range: a port
 * from that range (what `listen(0)` gives) can be taken by any outgoing connection on a busy
 * machine before the server binds it.
 */
function firstEphemeralPort(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

const LOWEST = 10000;
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago and that no outgoing connection will take. */
export async function freePort(): Promise<number> {
  const highest = Math.max(LOWEST + 1000, firstEphemeralPort() - 1);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${LOWEST} and ${highest}`);
}

/**
 * Prometheus endpoints for the poll benchmark, run as a process of its own so that serving
 * costs neither the worker nor Prometheus: one HTTP server per loopback address, each
 * answering every GET with the same captured exposition. Prints "ready" once all listen and
 * exits when its stdin closes (its parent went away).
 *   node --import tsx bench/lib/serve-metrics.ts <payload file> <port> <address,address,...>
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [payloadFile, portText, addressList] = process.argv.slice(2);
if (!payloadFile || !portText || !addressList) throw new Error('usage: serve-metrics.ts <payload file> <port> <addresses>');
const payload = readFileSync(payloadFile);
const port = Number(portText);

await Promise.all(
  addressList.split(',').map(
    (address) =>
      new Promise<void>((resolve, reject) => {
        const server = createServer((_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': payload.length });
          res.end(payload);
        });
        server.once('error', reject);
        server.listen(port, address, () => resolve());
      }),
  ),
);
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.once('end', () => process.exit(0));

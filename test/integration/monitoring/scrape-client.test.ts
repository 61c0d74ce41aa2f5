/**
 * The poll's scrape client against real HTTP servers on loopback: bodies, redirects, failures
 * named, timeouts, cancellation, and a kept-alive connection the server closes as it is reused.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { createScrapeClient } from '../../../src/features/monitoring/scrape-client.js';

const client = createScrapeClient();
const never = new AbortController().signal;
let server: Server;
let base: string;
const sockets = new Set<Socket>();

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/metrics') res.end('up 1\n');
    else if (req.url === '/moved') res.writeHead(302, { location: '/metrics' }).end();
    else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
    else if (req.url === '/broken') res.writeHead(500).end('no');
    else if (req.url === '/slow') setTimeout(() => res.end('late 1\n'), 2000);
  });
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  base = `http://127.0.0.1:${address.port}`;
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('a 200 gives the body; a redirect is followed; a loop of redirects and a 500 fail, saying so', async () => {
  assert.equal(await client.get(`${base}/metrics`, { timeoutMs: 5000, signal: never }), 'up 1\n');
  assert.equal(await client.get(`${base}/moved`, { timeoutMs: 5000, signal: never }), 'up 1\n');
  await assert.rejects(client.get(`${base}/loop`, { timeoutMs: 5000, signal: never }), /more than 5 redirects/);
  await assert.rejects(client.get(`${base}/broken`, { timeoutMs: 5000, signal: never }), /answered 500/);
  await assert.rejects(client.get('http://127.0.0.1:1/metrics', { timeoutMs: 5000, signal: never }), /ECONNREFUSED/);
});

test('a scrape past its timeout says so; a cancelled one is an abort, not a timeout', async () => {
  await assert.rejects(client.get(`${base}/slow`, { timeoutMs: 200, signal: never }), /timed out after 200 ms/);
  const cancel = new AbortController();
  setTimeout(() => cancel.abort(), 100);
  await assert.rejects(client.get(`${base}/slow`, { timeoutMs: 5000, signal: cancel.signal }), (err: Error) => err.name === 'AbortError');
});

test('a kept-alive connection that the server closes as it is reused: the scrape goes again on a new one', async () => {
  // Answers the first request of each connection and keeps it open; drops the connection on
  // its second request, as a server that closed it idle would.
  let connections = 0;
  const closing = createTcpServer((socket) => {
    connections++;
    let requests = 0;
    socket.on('data', (data) => {
      if (!data.toString().includes('\r\n\r\n')) return;
      if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\nok 1');
      else socket.destroy();
    });
  });
  await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
  const port = (closing.address() as { port: number }).port;
  try {
    assert.equal(await client.get(`http://127.0.0.1:${port}/metrics`, { timeoutMs: 5000, signal: never }), 'ok 1');
    assert.equal(await client.get(`http://127.0.0.1:${port}/metrics`, { timeoutMs: 5000, signal: never }), 'ok 1');
    assert.equal(connections, 2, 'the second scrape reused the connection, lost it, and opened another');
  } finally {
    closing.close();
  }
});

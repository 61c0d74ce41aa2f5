/** Real receivers for notification tests: an HTTP server and an SMTP server on 127.0.0.1, and alert rows. */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Pool } from '../../../src/platform/db/pool.js';

export interface Hit {
  path: string;
  search: string;
  headers: IncomingHttpHeaders;
  body: any;
  at: number;
}

/** Records every POST; paths in `failing` answer 500. */
export async function startReceiver() {
  const hits: Hit[] = [];
  const failing = new Set<string>();
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://receiver');
      let body: unknown = data;
      try {
        body = JSON.parse(data);
      } catch {
        // kept as text
      }
      hits.push({ path: url.pathname, search: url.search, headers: req.headers, body, at: Date.now() });
      const fail = failing.has(url.pathname);
      res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' }).end(fail ? 'receiver told to fail' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    failing,
    on: (path: string) => hits.filter((h) => h.path === path),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

export interface Mail {
  from: string;
  to: string[];
  data: string;
  at: number;
}

/** An SMTP server that wants `username`/`password` and keeps every message. */
export async function startSmtp(username: string, password: string) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === username && auth.password === password) cb(null, { user: username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (d: Buffer) => (data += d.toString()));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
          at: Date.now(),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** An alert row as the alerting side writes it when a rule starts firing. */
export async function insertAlert(
  pool: Pool,
  a: { name: string; ruleId?: string; host?: string; service?: string; summary?: string; value?: number; severity?: string },
): Promise<string> {
  const id = randomUUID();
  const severity = a.severity ?? 'critical';
  await pool.query(
    `INSERT INTO alerts (id, rule_id, rule_name, fingerprint, state, severity, host, service, labels, value, summary, fired_at)
     VALUES ($1, $2, $3, $4, 'firing', $5, $6, $7, $8, $9, $10, now())`,
    [
      id,
      a.ruleId ?? null,
      a.name,
      `test:${id}`,
      severity,
      a.host ?? null,
      a.service ?? null,
      JSON.stringify({ alertname: a.name, severity }),
      a.value ?? null,
      a.summary ?? '',
    ],
  );
  await pool.query(`INSERT INTO alert_events (alert_id, from_state, to_state, actor) VALUES ($1, NULL, 'firing', 'test')`, [id]);
  return id;
}

export async function setAlertState(pool: Pool, id: string, to: 'acknowledged' | 'resolved', actor: string): Promise<void> {
  const from = (await pool.query(`SELECT state FROM alerts WHERE id = $1`, [id])).rows[0].state;
  await pool.query(
    to === 'acknowledged'
      ? `UPDATE alerts SET state = 'acknowledged', acked_by = $2, acked_at = now() WHERE id = $1`
      : `UPDATE alerts SET state = 'resolved', resolved_by = $2, resolved_at = now() WHERE id = $1`,
    [id, actor],
  );
  await pool.query(`INSERT INTO alert_events (alert_id, from_state, to_state, actor) VALUES ($1, $2, $3, $4)`, [id, from, to, actor]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

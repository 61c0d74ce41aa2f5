/**
 * Fetches Prometheus endpoints for the poll. Connections are kept alive between polls (one per
 * target, as Prometheus does): opening a connection per scrape costs more than the scrape, and
 * node:http's client costs far less CPU per request than fetch.
 */
import http from 'node:http';
import https from 'node:https';

/** A payload larger than this fails the scrape (a runaway exporter must not exhaust the worker). */
export const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;
/** Redirects followed, as Prometheus follows them. */
const MAX_REDIRECTS = 5;
/** Errors of a kept-alive connection that the server closed just as it was reused. */
const STALE_CONNECTION = new Set(['ECONNRESET', 'EPIPE']);

export function createScrapeClient() {
  // Idle connections close after a minute (the server may close them sooner: see `get`).
  // Idle sockets do not hold the process open (the agent unrefs them).
  const options = { keepAlive: true, maxSockets: 1, timeout: 60_000 };
  const agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) };

  /** One GET: the body of a 2xx, the location of a redirect, or a rejection saying what went wrong. */
  function once(target: URL, signal: AbortSignal): Promise<{ body: string } | { location: string }> {
    const protocol = target.protocol === 'https:' ? 'https:' : 'http:';
    const request = protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(target, { agent: agents[protocol], signal, headers: { accept: 'text/plain' } }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          resolve({ location: res.headers.location });
          return;
        }
        if (status < 200 || status >= 300) {
          res.resume();
          reject(new Error(`answered ${status}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_PAYLOAD_BYTES) req.destroy(new Error(`payload larger than ${MAX_PAYLOAD_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ body: Buffer.concat(chunks, size).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A server may close an idle kept-alive connection as it is reused: that is no answer
        // from the target, so the request goes again on a new connection.
        if (req.reusedSocket && !signal.aborted && (STALE_CONNECTION.has(err.code ?? '') || err.message === 'socket hang up'))
          resolve(once(target, signal));
        else reject(err);
      });
      req.end();
    });
  }

  return {
    /**
     * The body of a GET of `url`, following redirects; rejects with a message saying what went
     * wrong (`timed out after N ms` when `timeoutMs` passed).
     */
    async get(url: string, { timeoutMs, signal }: { timeoutMs: number; signal: AbortSignal }): Promise<string> {
      const timeout = AbortSignal.timeout(timeoutMs);
      const both = AbortSignal.any([timeout, signal]);
      let target = new URL(url);
      try {
        for (let redirects = 0; ; redirects++) {
          const answer = await once(target, both);
          if ('body' in answer) return answer.body;
          if (redirects === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
          target = new URL(answer.location, target);
        }
      } catch (err) {
        if (timeout.aborted && !signal.aborted) throw new Error(`timed out after ${timeoutMs} ms`);
        throw err;
      }
    },
  };
}

/**
 * Fetches Prometheus endpoints for the poll. Connections are kept alive between polls (one per
 * target, as Prometheus does): opening a connection per scrape costs more than the scrape, and
 * node:http's client costs far less CPU per request than fetch.
 */
import http from 'node:http';
import https from 'node:https';

/** A payload larger than this fails the scrape (a runaway exporter must not exhaust the worker). */
export const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;

export function createScrapeClient() {
  // Idle connections close after a minute: longer than a poll interval, shorter than forever.
  // Idle sockets do not hold the process open (the agent unrefs them).
  const options = { keepAlive: true, maxSockets: 1, timeout: 60_000 };
  const agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) };

  return {
    /** The body of a GET of `url`; rejects with a message saying what went wrong. */
    get(url: string, { signal }: { signal: AbortSignal }): Promise<string> {
      const target = new URL(url);
      const protocol = target.protocol === 'https:' ? 'https:' : 'http:';
      const request = protocol === 'https:' ? https.request : http.request;
      return new Promise((resolve, reject) => {
        const req = request(target, { agent: agents[protocol], signal, headers: { accept: 'text/plain' } }, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`answered ${res.statusCode}`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_PAYLOAD_BYTES) req.destroy(new Error(`payload larger than ${MAX_PAYLOAD_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    },
  };
}

export type ScrapeClient = ReturnType<typeof createScrapeClient>;

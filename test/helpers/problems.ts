import assert from 'node:assert/strict';

/** Asserts an application/problem+json answer with the given status and code. */
export function assertProblem(res: { status: number; type: string; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.type, /^application\/problem\+json/);
  assert.equal(res.body.status, status);
  assert.equal(res.body.code, code);
  assert.equal(typeof res.body.title, 'string');
  assert.equal(typeof res.body.detail, 'string');
  assert.equal(typeof res.body.type, 'string');
}

/** Asserts a 400 whose field errors name exactly `path` (first error). */
export function assertBadField(res: { status: number; type: string; body: any }, path: string, message?: RegExp) {
  assertProblem(res, 400, 'VALIDATION_FAILED');
  assert.equal(res.body.errors?.[0]?.path, path, JSON.stringify(res.body));
  if (message) assert.match(res.body.errors[0].message, message);
}

/** Calls `/healthz` every `everyMs` until stopped; returns every status seen. */
export function watchHealth(url: string, everyMs = 50) {
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
      statuses.push(res?.status ?? 0);
      await res?.text();
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - started))));
    }
  })();
  return {
    async stop(): Promise<number[]> {
      running = false;
      await loop;
      return statuses;
    },
  };
}

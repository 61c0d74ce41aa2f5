import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { decodeCursor, pageOf } from '../../src/platform/http/paging.js';
import { matchPath, methodsFor, openApiPath, route, type Route } from '../../src/platform/http/registry.js';
import { SophonError } from '../../src/platform/errors.js';
import { isSafeText } from '../../src/platform/validation.js';

const routes: Route[] = [
  route({ method: 'get', path: '/api/v1/clusters', summary: '', status: 200, handler: () => ({}) }),
  route({ method: 'post', path: '/api/v1/clusters', summary: '', status: 202, handler: () => ({}) }),
  route({ method: 'get', path: '/api/v1/clusters/:cluster', summary: '', status: 200, handler: () => ({}) }),
  route({ method: 'delete', path: '/api/v1/clusters/:cluster/hosts/:host', summary: '', status: 204, handler: () => undefined }),
];

test('raw paths match route patterns like express does; parameters stay percent-encoded', () => {
  assert.deepEqual(matchPath('/api/v1/clusters/:cluster', '/api/v1/clusters/%ff'), { cluster: '%ff' });
  assert.deepEqual(matchPath('/api/v1/clusters/:cluster', '/API/v1/Clusters/lab/'), { cluster: 'lab' });
  assert.equal(matchPath('/api/v1/clusters/:cluster', '/api/v1/clusters/'), undefined);
  assert.equal(matchPath('/api/v1/clusters/:cluster', '/api/v1/clusters/a/b'), undefined);
});

test('the methods of a path, for 405 and Allow', () => {
  assert.deepEqual(methodsFor(routes, '/api/v1/clusters'), ['GET', 'HEAD', 'POST']);
  assert.deepEqual(methodsFor(routes, '/api/v1/clusters/lab/hosts/n1'), ['DELETE']);
  assert.deepEqual(methodsFor(routes, '/api/v1/nothing'), []);
  assert.equal(openApiPath('/api/v1/clusters/:cluster/hosts/:host'), '/api/v1/clusters/{cluster}/hosts/{host}');
});

test('pages carry the cursor of their last row, none on the last page; cursors round-trip', () => {
  const rows = [{ k: 'a' }, { k: 'b' }, { k: 'c' }];
  const first = pageOf(rows, 2, (r) => r.k);
  assert.deepEqual(first.items, rows.slice(0, 2));
  assert.equal(decodeCursor(first.nextCursor!, z.string()), 'b');
  assert.equal(pageOf(rows.slice(2), 2, (r) => r.k).nextCursor, null);
  assert.equal(decodeCursor(undefined, z.string()), undefined);
  for (const bad of ['not base64 json', Buffer.from('[1]').toString('base64url')]) {
    assert.throws(
      () => decodeCursor(bad, z.string()),
      (err: unknown) => err instanceof SophonError && err.errors[0]?.path === 'cursor',
    );
  }
});

test('control characters and bidi overrides are unsafe text; other Unicode is fine', () => {
  for (const bad of ['a\u0000', '\u001f', '\u007f', 'x\u202ey', '\u2066', '\u2069', 'line\nbreak'])
    assert.equal(isSafeText(bad), false, JSON.stringify(bad));
  for (const good of ['plain', 'Zürich – 東京', 'emoji 🚀', '']) assert.equal(isSafeText(good), true, good);
});

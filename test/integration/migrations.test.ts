import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { migrate } from '../../src/platform/db/migrate.js';
import { createTestDatabase, logger, type TestDatabase } from '../helpers/harness.js';

const dbs: TestDatabase[] = [];
after(async () => {
  for (const db of dbs) await db.drop();
});

async function schema(db: TestDatabase) {
  const res = await db.pool.query(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
     WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  );
  return res.rows;
}

test('migrations build the schema on an empty database, and a second run changes nothing', async () => {
  const db = await createTestDatabase({ migrate: false });
  dbs.push(db);
  const first = await migrate(db.url, logger);
  assert.ok(first.length > 0);
  const tables = new Set((await schema(db)).map((r) => r.table_name));
  for (const t of ['clusters', 'operations', 'operation_steps', 'api_tokens', 'audit_log', 'idempotency_keys', 'pgmigrations'])
    assert.ok(tables.has(t), `${t} missing`);

  const before = await schema(db);
  const second = await migrate(db.url, logger);
  assert.deepEqual(second, []);
  assert.deepEqual(await schema(db), before);
});

test('concurrent migrations from two processes apply once', async () => {
  const db = await createTestDatabase({ migrate: false });
  dbs.push(db);
  const results = await Promise.allSettled([migrate(db.url, logger), migrate(db.url, logger)]);
  const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  const count = await db.pool.query('SELECT count(*)::int AS n FROM pgmigrations');
  assert.equal(count.rows[0].n, new Set(applied).size);
  // Whichever run lost the lock may fail; a later run must find nothing to do.
  assert.deepEqual(await migrate(db.url, logger), []);
});

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/platform/settings.js';
import { SophonError } from '../../src/platform/errors.js';

function configError(env: NodeJS.ProcessEnv): SophonError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof SophonError);
    return err;
  }
  assert.fail('expected loadConfig to fail');
}

test('defaults give the embedded set-up', () => {
  const config = loadConfig({});
  assert.equal(config.home, path.resolve('.sophon'));
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.temporal.address, undefined);
  assert.equal(config.temporal.namespace, 'default');
  assert.equal(config.api.port, 8686);
  assert.equal(config.temporal.uiPort, 8233);
  assert.equal(config.packageRepo, path.join(path.resolve('.sophon'), 'packages'));
});

test('explicit values are used', () => {
  const config = loadConfig({
    SOPHON_HOME: '/srv/sophon',
    DATABASE_URL: 'postgres://u:p@db:5432/sophon',
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    SOPHON_API_PORT: '9000',
    SOPHON_LOG_LEVEL: 'debug',
    SOPHON_SHUTDOWN_GRACE_SECONDS: '5',
  });
  assert.equal(config.home, '/srv/sophon');
  assert.equal(config.databaseUrl, 'postgres://u:p@db:5432/sophon');
  assert.equal(config.temporal.address, 'temporal.internal:7233');
  assert.equal(config.api.port, 9000);
  assert.equal(config.shutdownGraceMs, 5000);
});

test('empty strings count as unset', () => {
  assert.equal(loadConfig({ DATABASE_URL: '', TEMPORAL_ADDRESS: ' ' }).databaseUrl, undefined);
});

test('a bad port names the variable, the expectation and the value', () => {
  const err = configError({ SOPHON_API_PORT: 'eighty' });
  assert.equal(err.code, 'CONFIG_INVALID');
  assert.match(err.message, /SOPHON_API_PORT: expected a TCP port number \(got "eighty"\)/);
  assert.deepEqual(
    err.errors.map((e) => e.path),
    ['SOPHON_API_PORT'],
  );
});

test('a port out of range is refused', () => {
  assert.match(configError({ SOPHON_POSTGRES_PORT: '70000' }).message, /SOPHON_POSTGRES_PORT: expected a port between 1 and 65535/);
});

test('a DATABASE_URL that is not a postgres URL is refused', () => {
  assert.match(
    configError({ DATABASE_URL: 'mysql://x' }).message,
    /DATABASE_URL: expected a postgres:\/\/ or postgresql:\/\/ connection URL/,
  );
});

test('a TEMPORAL_ADDRESS without a port is refused', () => {
  assert.match(configError({ TEMPORAL_ADDRESS: 'temporal' }).message, /TEMPORAL_ADDRESS: expected host:port/);
});

test('an unknown log level lists the allowed ones', () => {
  assert.match(configError({ SOPHON_LOG_LEVEL: 'loud' }).message, /SOPHON_LOG_LEVEL: expected one of trace, debug, info/);
});

test('every bad variable is reported at once', () => {
  const err = configError({ SOPHON_API_PORT: '0', SOPHON_LOG_LEVEL: 'loud', TEMPORAL_UI_URL: 'not a url' });
  assert.deepEqual(err.errors.map((e) => e.path).sort(), ['SOPHON_API_PORT', 'SOPHON_LOG_LEVEL', 'TEMPORAL_UI_URL']);
});

test('both master key variables at once are refused', () => {
  assert.match(
    configError({ SOPHON_MASTER_KEY: 'a'.repeat(64), SOPHON_MASTER_KEY_FILE: '/k' }).message,
    /SOPHON_MASTER_KEY and SOPHON_MASTER_KEY_FILE are both set/,
  );
});

test('monitoring: poll every 30 s by default, at least 1 s; scrape timeout and retention', () => {
  assert.deepEqual(loadConfig({}).monitoring, {
    pollIntervalSeconds: 30,
    scrapeTimeoutMs: 10_000,
    retentionMinutes: 15,
    alertResolveAfterEvaluations: 2,
  });
  const set = loadConfig({
    SOPHON_POLL_INTERVAL_SECONDS: '1',
    SOPHON_SCRAPE_TIMEOUT_SECONDS: '2.5',
    SOPHON_METRICS_RETENTION_MINUTES: '60',
    SOPHON_ALERT_RESOLVE_AFTER_EVALUATIONS: '3',
  });
  assert.deepEqual(set.monitoring, {
    pollIntervalSeconds: 1,
    scrapeTimeoutMs: 2500,
    retentionMinutes: 60,
    alertResolveAfterEvaluations: 3,
  });
  assert.match(
    configError({ SOPHON_ALERT_RESOLVE_AFTER_EVALUATIONS: '0' }).message,
    /SOPHON_ALERT_RESOLVE_AFTER_EVALUATIONS: expected at least 1/,
  );
  assert.match(configError({ SOPHON_POLL_INTERVAL_SECONDS: '0' }).message, /SOPHON_POLL_INTERVAL_SECONDS: expected at least 1 second/);
  assert.match(configError({ SOPHON_METRICS_RETENTION_MINUTES: '0' }).message, /SOPHON_METRICS_RETENTION_MINUTES/);
});

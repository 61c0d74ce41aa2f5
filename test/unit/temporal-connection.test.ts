import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/platform/settings.js';
import { SophonError } from '../../src/platform/errors.js';
import { temporalConnectionOptions } from '../../src/platform/temporal/client.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sophon-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('no TLS settings: plain connection options, as for the embedded dev server', () => {
  assert.deepEqual(temporalConnectionOptions(loadConfig({})), {});
});

test('mTLS: CA, client certificate and key and the server name become the TLS config', () => {
  const config = loadConfig({
    TEMPORAL_TLS_CA_FILE: file('ca.pem', 'CA'),
    TEMPORAL_TLS_CERT_FILE: file('client.pem', 'CERT'),
    TEMPORAL_TLS_KEY_FILE: file('client.key', 'KEY'),
    TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
  });
  const options = temporalConnectionOptions(config);
  assert.ok(options.tls && typeof options.tls === 'object');
  assert.equal(options.tls.serverNameOverride, 'temporal.internal');
  assert.equal(options.tls.serverRootCACertificate?.toString(), 'CA');
  assert.equal(options.tls.clientCertPair?.crt.toString(), 'CERT');
  assert.equal(options.tls.clientCertPair?.key.toString(), 'KEY');
  assert.equal(options.apiKey, undefined);
});

test('an API key (inline or from a file) is passed on; TLS stays the SDK default unless set', () => {
  assert.deepEqual(temporalConnectionOptions(loadConfig({ TEMPORAL_API_KEY: 'k1' })), { apiKey: 'k1' });
  assert.deepEqual(temporalConnectionOptions(loadConfig({ TEMPORAL_API_KEY_FILE: file('key', 'k2\n'), TEMPORAL_TLS: 'true' })), {
    apiKey: 'k2',
    tls: true,
  });
  assert.deepEqual(temporalConnectionOptions(loadConfig({ TEMPORAL_API_KEY: 'k3', TEMPORAL_TLS: 'false' })), { apiKey: 'k3', tls: false });
});

test('half a client certificate, two API keys, a bad TEMPORAL_TLS or an unreadable file are refused naming the variable', () => {
  const fails = (env: NodeJS.ProcessEnv, variable: string) => {
    assert.throws(
      () => temporalConnectionOptions(loadConfig(env)),
      (err: unknown) => err instanceof SophonError && err.code === 'CONFIG_INVALID' && err.message.includes(variable),
      variable,
    );
  };
  fails({ TEMPORAL_TLS_CERT_FILE: '/x.pem' }, 'TEMPORAL_TLS_KEY_FILE');
  fails({ TEMPORAL_TLS_KEY_FILE: '/x.key' }, 'TEMPORAL_TLS_CERT_FILE');
  fails({ TEMPORAL_API_KEY: 'a', TEMPORAL_API_KEY_FILE: '/k' }, 'TEMPORAL_API_KEY_FILE');
  fails({ TEMPORAL_TLS: 'yes' }, 'TEMPORAL_TLS');
  fails({ TEMPORAL_TLS_CA_FILE: path.join(dir, 'missing.pem') }, 'TEMPORAL_TLS_CA_FILE');
});

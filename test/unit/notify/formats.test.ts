import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelBody, splitChannelConfig } from '../../../src/features/notify/channel-config.js';
import { dingtalkBody, emailMessage, slackBody, webhookBody, wecomBody, type Notice } from '../../../src/features/notify/formats.js';

const notice: Notice = {
  kind: 'firing',
  channel: 'ops',
  at: '2026-11-26T06:00:00.000Z',
  round: 1,
  step: 2,
  alert: {
    id: '0b1c0c55-1111-4222-8333-444455556666',
    name: 'ZooKeeperDown',
    state: 'firing',
    severity: 'critical',
    cluster: 'prod',
    host: 'n1',
    service: 'zookeeper',
    value: 0,
    summary: 'zookeeper on n1 is down',
    link: 'https://sophon.example/api/v1/alerts/0b1c0c55-1111-4222-8333-444455556666',
  },
};
const FACTS = ['ZooKeeperDown', 'firing', 'critical', 'prod', 'n1', 'zookeeper', 'zookeeper on n1 is down', notice.alert!.link];

test('Slack gets an incoming-webhook body: text plus blocks, every fact in the text', () => {
  const body = slackBody(notice);
  assert.deepEqual(Object.keys(body).sort(), ['blocks', 'text']);
  for (const f of FACTS) assert.ok(body.text.includes(f), `text lacks ${f}`);
  assert.equal(body.blocks[0]!.type, 'header');
  assert.equal(body.blocks[1]!.text.type, 'mrkdwn');
  assert.match(body.text, /^\[FIRING\] ZooKeeperDown \(critical\) on prod \/ n1 \/ zookeeper/);
});

test('DingTalk gets a markdown robot message {msgtype, markdown: {title, text}}', () => {
  const body = dingtalkBody(notice);
  assert.equal(body.msgtype, 'markdown');
  assert.deepEqual(Object.keys(body.markdown).sort(), ['text', 'title']);
  assert.match(body.markdown.title, /ZooKeeperDown/);
  for (const f of FACTS) assert.ok(body.markdown.text.includes(f), `text lacks ${f}`);
});

test('WeCom gets a markdown robot message {msgtype, markdown: {content}}', () => {
  const body = wecomBody(notice);
  assert.equal(body.msgtype, 'markdown');
  assert.deepEqual(Object.keys(body.markdown), ['content']);
  for (const f of FACTS) assert.ok(body.markdown.content.includes(f), `content lacks ${f}`);
});

test('webhooks get the alert as JSON; email a subject and every fact', () => {
  const body = webhookBody(notice);
  assert.equal(body.kind, 'firing');
  assert.deepEqual(body.alert, notice.alert);
  assert.equal(body.step, 2);
  const mail = emailMessage({ ...notice, kind: 'resolved', alert: { ...notice.alert!, state: 'resolved' } });
  assert.match(mail.subject, /^\[RESOLVED\] ZooKeeperDown/);
  for (const f of FACTS.filter((f) => f !== 'firing')) assert.ok(mail.text.includes(f), `mail lacks ${f}`);
});

test('a channel test message names the channel and no alert', () => {
  const body = wecomBody({ kind: 'test', channel: 'ops', at: notice.at });
  assert.match(body.markdown.content, /TEST.*ops/);
});

test('channel secrets are split from what may be shown: URL host only, header names only, hasPassword', () => {
  const hook = splitChannelConfig(
    ChannelBody.parse({
      name: 'h',
      type: 'webhook',
      config: { url: 'https://hooks.example:8443/x?token=s3cret', headers: { Authorization: 'Bearer s3cret' } },
    }),
  );
  assert.deepEqual(hook.config, { urlHost: 'hooks.example:8443', headerNames: ['Authorization'] });
  assert.equal(hook.secrets.url, 'https://hooks.example:8443/x?token=s3cret');
  const mail = splitChannelConfig(
    ChannelBody.parse({
      name: 'm',
      type: 'email',
      config: { host: 'smtp.example', port: 587, username: 'u', password: 'pw', from: 'a@example.com', to: ['b@example.com'] },
    }),
  );
  assert.ok(!JSON.stringify(mail.config).includes('pw'));
  assert.equal((mail.config as { hasPassword: boolean }).hasPassword, true);
  assert.deepEqual(mail.secrets, { password: 'pw' });
});

test('bad channel bodies name the field', () => {
  const paths = (v: unknown) => ChannelBody.safeParse(v).error?.issues.map((i) => i.path.join('.'));
  assert.deepEqual(paths({ name: 's', type: 'slack', config: { url: 'ftp://x' } }), ['config.url']);
  assert.deepEqual(paths({ name: 'm', type: 'email', config: { host: 'h', port: 25, from: 'a@example.com', to: [] } }), ['config.to']);
  assert.deepEqual(paths({ name: 'x', type: 'pager', config: {} }), ['type']);
});

test('email channels take RFC 5321 addresses and SMTP hosts that are host names or IP addresses', () => {
  const mail = (config: object) => ({
    name: 'm',
    type: 'email',
    config: { host: 'smtp.example.com', port: 587, from: 'a@example.com', to: ['b@example.com'], ...config },
  });
  const problems = (config: object) => ChannelBody.safeParse(mail(config)).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const local64 = `${'a'.repeat(64)}@example.com`;
  for (const ok of [
    {},
    { to: [local64, 'x.y+z@sub.example.org'] },
    { host: 'localhost' },
    { host: 'mail1' },
    { host: '10.0.0.25' },
    { host: '::1' },
    { host: 'h' },
  ]) {
    assert.equal(problems(ok), undefined, JSON.stringify(ok));
  }
  assert.deepEqual(problems({ to: ['b@example.com', `a${local64}`] }), [
    'config.to.1: expected an email address (at most 64 characters before the @)',
  ]);
  assert.deepEqual(problems({ from: `a@${'b'.repeat(64)}.com` }), [
    'config.from: expected an email address (at most 64 characters before the @)',
  ]);
  for (const host of ['0', '1.2.3', '999.1.1.1', '10.0.0.256', '-smtp', 'smtp-.example.com', 'a..b', '[::1]', '']) {
    assert.deepEqual(problems({ host }), ['config.host: expected an SMTP server host name (RFC 1123) or IP address'], host);
  }
  assert.deepEqual(
    problems({ port: 0 })?.map((p) => p.split(':')[0]),
    ['config.port'],
  );
});

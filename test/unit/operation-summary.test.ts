import assert from 'node:assert/strict';
import { test } from 'node:test';
import { operationDetails, operationSummary } from '../../src/features/operations/summary.js';
import { stepSummary } from '../../src/features/operations/workflow/step-summary.js';

const op = (type: string, input: Record<string, unknown> = {}, service: string | null = 'zookeeper') => ({
  id: 'b7f0c1de-0000-4000-8000-000000000001',
  type,
  clusterName: 'analytics',
  service,
  input: { operationId: 'b7f0c1de-0000-4000-8000-000000000001', serviceId: 'c0ffee00-0000-4000-8000-000000000002', ...input },
  requestedBy: 'token:ops',
});

test('an operation summary says what, where and who, without ids', () => {
  const cases: Array<[ReturnType<typeof op>, string]> = [
    [
      op('service.restart', { action: 'restart', rolling: { batchSize: 1 } }),
      'restart zookeeper on analytics, rolling 1 at a time, by token:ops',
    ],
    [op('service.restart', { action: 'restart', rolling: {} }), 'restart zookeeper on analytics, rolling, by token:ops'],
    [
      op('service.stop', { action: 'stop', roles: ['server'], hosts: ['n1', 'n2'] }),
      'stop zookeeper (roles server; hosts n1, n2) on analytics, by token:ops',
    ],
    [
      op('service.start', { action: 'start', hosts: ['n1', 'n2', 'n3', 'n4', 'n5'] }),
      'start zookeeper (hosts n1, n2, n3 +2 more) on analytics, by token:ops',
    ],
    [op('service.deploy'), 'deploy zookeeper on analytics, by token:ops'],
    [op('service.upgrade', { version: '3.9.2', rolling: {} }), 'upgrade zookeeper on analytics to 3.9.2, rolling, by token:ops'],
    [
      op('service.upgrade', { version: '3.9.2', rolling: { batchSize: 2 } }),
      'upgrade zookeeper on analytics to 3.9.2, rolling 2 at a time, by token:ops',
    ],
    [
      op('service.scale', { role: 'server', add: ['i1', 'i2'], remove: [] }),
      'scale zookeeper server on analytics: add 2, remove 0, by token:ops',
    ],
    [op('service.remove'), 'remove zookeeper from analytics, by token:ops'],
    [op('service.reconfigure', { fromVersion: 3 }), 'reconfigure zookeeper on analytics (from config version 3), by token:ops'],
    [
      op('service.task', { task: 'purge-snapshots', parameters: { keep: 5 }, hosts: ['n1'] }),
      'run task purge-snapshots of zookeeper (hosts n1) on analytics, by token:ops',
    ],
    [
      { ...op('service.recover', { instanceId: 'i1' }), requestedBy: 'auto-recovery' },
      'recover a zookeeper instance seen down on analytics, by auto-recovery',
    ],
    [op('hosts.bootstrap', { cluster: 'analytics' }, null), 'bootstrap hosts on analytics, by token:ops'],
    [op('cluster.create', { name: 'analytics' }, null), 'create cluster analytics, by token:ops'],
    [op('something.new', {}, null), 'something.new on analytics, by token:ops'],
  ];
  for (const [operation, summary] of cases) assert.equal(operationSummary(operation), summary, operation.type);
});

test('the details name the operation and how a HOLDING one is decided', () => {
  const details = operationDetails(op('service.deploy'));
  assert.match(details, /^Sophon operation `b7f0c1de-0000-4000-8000-000000000001` \(service\.deploy\), requested by token:ops\./);
  assert.match(details, /sophon ops decide b7f0c1de-0000-4000-8000-000000000001 retry\|skip\|abort\|rollback/);
});

test('a step summary names the instance (or host), the phase and the step', () => {
  assert.equal(
    stepSummary({ host: 'host2', role: 'server', phase: 'restart batch 2', step: 'stop' }),
    'server@host2 · restart batch 2 › stop',
  );
  assert.equal(stepSummary({ host: 'host2', phase: 'install', step: 'install' }), 'host2 · install › install');
  assert.equal(stepSummary({ host: 'host2', role: '', phase: 'install', step: 'install' }), 'host2 · install › install');
});

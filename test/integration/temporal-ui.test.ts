/**
 * The Temporal UI as an operator sees it, in headless Chromium: a HOLDING operation opened from
 * its `temporalUiUrl` shows its summary, the held step (its activity's summary in the history,
 * the reason in the run's current details) and the `decide` Update, which the UI can send; the
 * `SophonKind` query lists operations without the periodic runs. Screenshots go to /tmp.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { operationWorkflowIds } from '../../src/features/operations/types.js';
import { eventually } from '../helpers/harness.js';
import { startStack, type Stack } from './services/helpers.js';

const uiUrl = process.env.SOPHON_TEST_TEMPORAL_UI_URL;
const shot = (name: string) => `/tmp/sophon-temporal-ui-${name}.png`;
const UI_TIMEOUT_MS = 30_000;

let s: Stack;
let browser: BrowserContext;
let profile: string;

before(async () => {
  assert.ok(uiUrl, 'SOPHON_TEST_TEMPORAL_UI_URL is not set: run this test through test/run.ts, which starts the Temporal UI');
  // n1 goes down on purpose; the reachability check must not mark it UNREACHABLE meanwhile.
  s = await startStack({ hosts: 2, block: 87, cluster: 'ui', env: { SOPHON_HOST_CHECK_INTERVAL_SECONDS: '3600', TEMPORAL_UI_URL: uiUrl } });
  profile = await mkdtemp(path.join(tmpdir(), 'sophon-chromium-'));
  // Debian's Chromium, no browser download; a fresh profile each run.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
after(async () => {
  await browser?.close();
  await s?.stop();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Text of the page's frames: the UI renders summaries and details (markdown) in frames of their own. */
async function framesText(page: Page): Promise<string> {
  return (
    await Promise.all(
      page.frames().map((f) =>
        f
          .locator('body')
          .innerText()
          .catch(() => ''),
      ),
    )
  ).join('\n');
}

const shows = (page: Page, text: string) =>
  eventually(async () => ((await framesText(page)).includes(text) ? true : undefined), `the Temporal UI to show '${text}'`, UI_TIMEOUT_MS);

/** The workflow list for a visibility query, as text. */
async function listed(page: Page, query: string): Promise<string> {
  await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
  await page
    .getByText(/\d+\s*–\s*\d+|No Workflows/)
    .first()
    .waitFor({ timeout: UI_TIMEOUT_MS });
  return page.locator('body').innerText();
}

test('a HOLDING operation, opened from its temporalUiUrl, shows its summary, the held step and the decide Update', async () => {
  await s.fleet.stopHost(1);
  const res = await s.call('POST', '/api/v1/clusters/ui/services', {
    service: 'node-exporter',
    placement: { exporter: ['n0', 'n1'] },
    config: { port: 19187 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['HOLDING', 'SUCCEEDED', 'FAILED']);
  assert.equal(op.status, 'HOLDING', JSON.stringify(op));
  assert.deepEqual(
    op.holding.map((h: { host: string; step: string }) => `${h.host} ${h.step}`),
    ['n1 install'],
  );
  assert.ok(op.temporalUiUrl.startsWith(`${uiUrl}/namespaces/default/workflows/`), op.temporalUiUrl);

  const page = await browser.newPage();
  await page.goto(op.temporalUiUrl);
  // The history names each host step's activity: the held one failed its three attempts.
  const heldStep = page.getByText('n1 · install › install').first();
  await heldStep.waitFor({ timeout: UI_TIMEOUT_MS });
  await page.getByText('n0 · install › install').first().waitFor({ timeout: UI_TIMEOUT_MS });
  await page.getByText('Activity Task Failed').first().waitFor({ timeout: UI_TIMEOUT_MS });
  await heldStep.scrollIntoViewIfNeeded();
  await page.screenshot({ path: shot('history') });

  await page.getByTestId('user-metadata-tab').click();
  await shows(page, 'deploy node-exporter on ui, by token:test-operator');
  await shows(page, `Sophon operation ${op.id} (service.deploy)`);
  await shows(page, 'HOLDING for a decision');
  await shows(page, 'n1 · install › install: cannot reach n1');
  await page.screenshot({ path: shot('user-metadata') });

  // The decide Update is offered by name; sent from the UI, `skip` carries on without n1.
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: 'Send an Update' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: 'Select an Update' }).click();
  await dialog.getByRole('option', { name: 'decide' }).click();
  await dialog.locator('.cm-content').click();
  await page.keyboard.type('{"action":"skip"}');
  await page.screenshot({ path: shot('update') });
  await dialog.getByRole('button', { name: 'Submit' }).click();
  const done = await s.waitFor(op.id, ['SUCCEEDED', 'FAILED'], 60_000);
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
  assert.deepEqual(done.result.skippedHosts, ['n1']);

  // Operations apart from the periodic runs: a reconcile round runs now, and only the kind filter keeps it out.
  const queue = s.config.temporal.taskQueue;
  const schedule = s.api.core.temporal.schedule.getHandle(operationWorkflowIds.reconcileSchedule(queue));
  const seen = (await schedule.describe()).info.recentActions.length;
  await schedule.trigger();
  const periodicId = await eventually(async () => {
    const actions = (await schedule.describe()).info.recentActions;
    return actions.length > seen ? actions.at(-1)!.action.workflow.workflowId : undefined;
  }, 'the reconcile schedule to start a round');
  const ofQueue = `TaskQueue = "${queue}"`;
  await eventually(
    async () => ((await listed(page, ofQueue)).includes(periodicId) ? true : undefined),
    'the reconcile round in the list',
    UI_TIMEOUT_MS,
  );
  // The README's query, as it gives it.
  const operations = await listed(page, 'SophonKind="operation"');
  await page.screenshot({ path: shot('operations') });
  assert.ok(operations.includes(op.workflowId), 'the deploy is listed');
  assert.ok(!operations.includes('reconcile-operations/'), 'no periodic run among the operations');
  // Per-host children are named by host.
  const bootstrap = (await s.call('GET', '/api/v1/operations?cluster=ui')).body.operations.find(
    (o: { type: string }) => o.type === 'hosts.bootstrap',
  );
  assert.ok(
    operations.includes(`${bootstrap.workflowId}/n0`) && operations.includes(`${bootstrap.workflowId}/n1`),
    'bootstrap children are named n0 and n1',
  );
  assert.ok((await listed(page, `SophonKind = "periodic" AND ${ofQueue}`)).includes(periodicId), 'the reconcile round is periodic');
  await s.fleet.startHost(1);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';

// Snippets are linted as if they were the text of real files, so type-aware rules apply.
const eslint = new ESLint();
const WORKFLOW_FILE = 'src/features/services/workflow/services.ts';

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

test('workflows may not import Node built-ins or I/O clients', async () => {
  for (const mod of ['node:fs', 'fs', 'child_process', 'pg', 'ssh2', '@temporalio/client']) {
    const ids = await ruleIds(`import x from '${mod}';\nexport const y = x;\n`, WORKFLOW_FILE);
    assert.ok(ids.includes('no-restricted-imports'), `${mod} was allowed: ${ids.join(', ')}`);
  }
});

test('workflows may import types, but not values, from activities', async () => {
  assert.deepEqual(
    await ruleIds(`import type { Activities } from '../../../../activities/index.js';\nexport type A = Activities;\n`, WORKFLOW_FILE),
    [],
  );
  const ids = await ruleIds(
    `import { createActivities } from '../../../../activities/index.js';\nexport const a = createActivities;\n`,
    WORKFLOW_FILE,
  );
  assert.ok(ids.includes('no-restricted-imports'));
});

test("workflow code may import values from workflow folders and rooms' types, and only types from the rest of a room", async () => {
  const allowed = [
    `import { createEngine } from '../../operations/workflow/engine.js';\nexport const e = createEngine;\n`,
    `import { SERVICE_ACTIONS } from '../types.js';\nexport const a = SERVICE_ACTIONS;\n`,
    `import { mapBounded } from '../../../platform/concurrency.js';\nexport const m = mapBounded;\n`,
    `import type { ServiceRow } from '../repo.js';\nexport type R = ServiceRow;\n`,
  ];
  for (const code of allowed) assert.deepEqual(await ruleIds(code, WORKFLOW_FILE), [], code);
  const ids = await ruleIds(`import { servicesRepo } from '../repo.js';\nexport const r = servicesRepo;\n`, WORKFLOW_FILE);
  assert.ok(ids.includes('no-restricted-imports'), ids.join(', '));
});

test('modules workflow code imports may not do I/O either', async () => {
  const ids = await ruleIds(`import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n`, 'src/features/services/types.ts');
  assert.ok(ids.includes('no-restricted-imports'), ids.join(', '));
});

test('floating promises are errors everywhere', async () => {
  const ids = await ruleIds(`async function f() {}\nexport function g() { f(); }\n`, 'src/platform/errors.ts');
  assert.ok(ids.includes('@typescript-eslint/no-floating-promises'));
});

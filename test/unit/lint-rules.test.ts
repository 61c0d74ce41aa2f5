import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';

// Snippets are linted as if they were the text of real files, so type-aware rules apply.
const eslint = new ESLint();

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

test('workflows may not import Node built-ins or I/O clients', async () => {
  for (const mod of ['node:fs', 'fs', 'child_process', 'pg', 'ssh2', '@temporalio/client']) {
    const ids = await ruleIds(`import x from '${mod}';\nexport const y = x;\n`, 'workflows/shared.ts');
    assert.ok(ids.includes('no-restricted-imports'), `${mod} was allowed: ${ids.join(', ')}`);
  }
});

test('workflows may import types, but not values, from activities', async () => {
  assert.deepEqual(await ruleIds(`import type { Activities } from '../activities/index.js';\nexport type A = Activities;\n`, 'workflows/shared.ts'), []);
  const ids = await ruleIds(`import { createActivities } from '../activities/index.js';\nexport const a = createActivities;\n`, 'workflows/shared.ts');
  assert.ok(ids.includes('no-restricted-imports'));
});

test('floating promises are errors everywhere', async () => {
  const ids = await ruleIds(`async function f() {}\nexport function g() { f(); }\n`, 'src/errors.ts');
  assert.ok(ids.includes('@typescript-eslint/no-floating-promises'));
});

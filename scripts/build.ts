/**
 * `npm run build` (and `npm ci`, through `prepare`): compiles src/, workflows/ and activities/
 * into dist/ with tsc, copies the files they read at run time (SQL migrations, anything not
 * TypeScript) beside them, and bundles the workflow code ahead of time, so the worker does
 * not run webpack when it starts. The bundle is written last: bin/sophon.js takes its age
 * as the age of the build.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE, WORKFLOWS_PATH } from '../src/worker.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');
const SOURCE_DIRS = ['src', 'workflows', 'activities'];

rmSync(DIST, { recursive: true, force: true });

// tsc and webpack run side by side: the bundle is made from the sources, not from tsc's output.
const tsc = spawn(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
const compiled = new Promise<number | null>((resolve) => tsc.on('exit', resolve));
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger() }).catch((err: unknown) => {
  tsc.kill();
  throw err;
});
if ((await compiled) !== 0) {
  process.stderr.write('build: tsc failed\n');
  process.exit(1);
}

for (const dir of SOURCE_DIRS.map((d) => path.join(ROOT, d)).filter((d) => existsSync(d))) {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
    const from = path.join(entry.parentPath, entry.name);
    cpSync(from, path.join(DIST, path.relative(ROOT, from)));
  }
}

writeFileSync(WORKFLOW_BUNDLE, code);
process.stdout.write(`build: dist/ and ${path.relative(ROOT, WORKFLOW_BUNDLE)} (${(code.length / 1024).toFixed(0)} KiB) are ready\n`);

/** Webpack's progress lines are noise in `npm ci`; its warnings and errors are not. */
function quietLogger() {
  const print = (level: string) => (message: string, meta?: object) =>
    process.stderr.write(`build: ${level}: ${message}${meta ? ' ' + JSON.stringify(meta) : ''}\n`);
  const none = () => undefined;
  return { log: none, trace: none, debug: none, info: none, warn: print('warning'), error: print('error') };
}

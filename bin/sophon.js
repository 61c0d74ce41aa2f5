#!/usr/bin/env node
// Runs the compiled CLI in dist/. In a source checkout, dist/ is built first when it is
// missing or older than the sources, so `npm start` after a pull or an edit runs what is there.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Written last by the build (scripts/build.ts): its age is the build's.
const built = `${root}dist/workflow-bundle.js`;
const sourceDirs = ['src', 'workflows', 'activities'].map((d) => root + d);

function newestSource() {
  let newest = statSync(`${root}tsconfig.build.json`).mtimeMs;
  for (const dir of sourceDirs) {
    for (const e of existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }) : []) {
      if (e.isFile()) newest = Math.max(newest, statSync(`${e.parentPath}/${e.name}`).mtimeMs);
    }
  }
  return newest;
}

// An installed image has dist/ and no sources.
if (existsSync(`${root}src`) && (!existsSync(built) || statSync(built).mtimeMs < newestSource())) {
  process.stderr.write('sophon: dist/ is missing or older than the sources: building it (npm run build)\n');
  // stdout stays the command's own (a token, --json answers): the build reports on stderr.
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (build.status !== 0) {
    process.stderr.write(`sophon: the build failed${build.error ? `: ${build.error.message}` : ''}\n`);
    process.exit(1);
  }
}

await import('../dist/src/cli/main.js');

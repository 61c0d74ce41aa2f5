/**
 * `npm test`: runs unit tests, then integration tests against one real Temporal dev server
 * and one real Postgres (embedded, or the server of DATABASE_URL), started here once and
 * stopped at the end. Test files get their own database and task queue each.
 *
 *   npm test                 all suites
 *   npm test -- unit         one suite (unit | integration | e2e)
 *   npm test -- test/x.test.ts   given files
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/dev/embedded-postgres.js';
import { startEmbeddedTemporal, type RunningTemporal } from '../src/dev/embedded-temporal.js';
import { loadCatalog } from '../src/features/defs/index.js';
import { createLogger } from '../src/platform/log.js';
import { freePort } from './helpers/ports.js';

const SUITES = ['unit', 'integration', 'e2e'];
const logger = createLogger(process.env.SOPHON_TEST_LOG_LEVEL ?? 'warn');

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Package files that definitions of the repository's services name and its index does not list. */
async function missingPackages(repo: string): Promise<string[]> {
  const index = JSON.parse(await readFile(path.join(repo, 'index.json'), 'utf8')) as { packages: Array<{ service: string; file: string }> };
  const built = new Set(index.packages.map((p) => p.file));
  const catalog = await loadCatalog('service-defs');
  const named = [...new Set(index.packages.map((p) => p.service))].flatMap((service) =>
    catalog.has(service) ? catalog.get(service).versions.flatMap((v) => v.packages.map((p) => p.file)) : [],
  );
  return [...new Set(named)].filter((file) => !built.has(file));
}

/** Runs a command; with `prefix`, its output lines are printed behind it (two lanes share the terminal). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, prefix?: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: prefix ? ['ignore', 'pipe', 'pipe'] : 'inherit', env });
    if (prefix) {
      for (const [from, to] of [
        [child.stdout!, process.stdout],
        [child.stderr!, process.stderr],
      ] as const) {
        createInterface({ input: from }).on('line', (line) => to.write(`${prefix} ${line}\n`));
      }
    }
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/**
 * Test files of whole big-data components (many JVMs, minutes each): they run in two lanes of
 * their own (Hadoop; Kafka and the stream processors) beside the other integration files, on
 * their own fleet blocks, so the suite's wall time is not their sum.
 */
const COMPONENT_LANES = [['hadoop'], ['kafka', 'streaming']].map((dirs) => dirs.map((d) => path.join('test', 'integration', d) + path.sep));
const laneOf = (f: string) => COMPONENT_LANES.findIndex((dirs) => dirs.some((d) => path.normalize(f).startsWith(d)));
const isComponent = (f: string) => laneOf(f) >= 0;

/**
 * The package repository of real components built from Debian packages, which the catalog
 * tests deploy. Built once into .sophon/test-packages unless SOPHON_TEST_PACKAGE_REPO names one,
 * and again when the catalog names a package the built one lacks (a version added since).
 */
async function ensureTestPackages(env: NodeJS.ProcessEnv): Promise<string> {
  const repo = path.resolve(env.SOPHON_TEST_PACKAGE_REPO ?? path.join('.sophon', 'test-packages'));
  const missing = existsSync(path.join(repo, 'index.json')) ? await missingPackages(repo) : ['index.json'];
  if (missing.length > 0) {
    process.stdout.write(`building the test package repository in ${repo} (it lacks ${missing.join(', ')})\n`);
    if ((await run('bash', ['scripts/build-packages.sh', repo], env)) !== 0) throw new Error('scripts/build-packages.sh failed');
  }
  return repo;
}

function nodeTest(files: string[], env: NodeJS.ProcessEnv, prefix?: string): Promise<number> {
  if (files.length === 0) return Promise.resolve(0);
  return run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], env, prefix);
}

async function main() {
  const args = process.argv.slice(2);
  const explicitFiles = args.filter((a) => a.endsWith('.ts'));
  const suites = args.filter((a) => SUITES.includes(a));
  const files = explicitFiles.length
    ? explicitFiles
    : (await Promise.all((suites.length ? suites : SUITES).map((s) => testFiles(path.join('test', s))))).flat();
  if (files.length === 0) {
    process.stderr.write('no test files found\n');
    process.exit(1);
  }

  const isUnit = (f: string) => path.normalize(f).split(path.sep).includes('unit');
  const unitFiles = files.filter(isUnit);
  const otherFiles = files.filter((f) => !isUnit(f));
  const needsServers = otherFiles.length > 0;
  const env: NodeJS.ProcessEnv = { ...process.env };
  let postgres: RunningPostgres | undefined;
  let temporal: RunningTemporal | undefined;
  let scratch: string | undefined;
  const cleanup = async () => {
    await temporal?.stop().catch(() => undefined);
    await postgres?.stop().catch(() => undefined);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

  try {
    // Unit tests need no packages: they run while the package repository builds.
    const packages = needsServers ? ensureTestPackages(env) : undefined;
    packages?.catch(() => undefined);
    let code = 0;
    if (unitFiles.length > 0) code = await nodeTest(unitFiles, env);
    if (!needsServers) {
      await cleanup();
      process.exit(code);
    }
    env.SOPHON_TEST_PACKAGE_REPO = await packages!;
    if (!process.env.DATABASE_URL) {
      scratch = await mkdtemp(path.join(tmpdir(), 'sophon-test-'));
      await chmod(scratch, 0o755);
      postgres = await startEmbeddedPostgres(path.join(scratch, 'postgres'), await freePort(), logger);
    }
    // With its UI, which test/integration/temporal-ui.test.ts opens in a browser.
    const uiPort = await freePort();
    temporal = await startEmbeddedTemporal({ namespace: 'default', cli: process.env.TEMPORAL_CLI, port: await freePort(), uiPort }, logger);
    env.SOPHON_TEST_DATABASE_URL = process.env.DATABASE_URL ?? postgres!.url;
    env.SOPHON_TEST_TEMPORAL_ADDRESS = temporal.address;
    env.SOPHON_TEST_TEMPORAL_UI_URL = `http://127.0.0.1:${uiPort}`;
    const components = otherFiles.filter(isComponent);
    const prefixed = components.length > 0 && components.length < otherFiles.length;
    const codes = await Promise.all([
      nodeTest(
        otherFiles.filter((f) => !isComponent(f)),
        env,
      ),
      ...COMPONENT_LANES.map((_, lane) =>
        nodeTest(
          components.filter((f) => laneOf(f) === lane),
          env,
          prefixed ? `[components ${lane + 1}]` : undefined,
        ),
      ),
    ]);
    await cleanup();
    process.exit(code || codes.find((c) => c !== 0) || 0);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

await main();

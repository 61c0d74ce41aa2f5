/**
 * What a service step does on a host, each part idempotent (check before act): the run-as
 * user, the package in a versioned directory behind a `current` link, configuration files
 * written only when their bytes differ, role commands, health checks and file removal.
 */
import { connect } from 'node:net';
import { posix } from 'node:path';
import { SophonError } from '../../../platform/errors.js';
import type { HealthCheck, RenderedFile, RoleDefinition, ServiceDefinition, TemplateContext } from '../../defs/index.js';
import { renderCommand } from '../../defs/index.js';
import { ShellCommand, sh, uploadFile, type ExecResult, type SshConnection } from '../../../platform/ssh/index.js';
import type { StepOutput } from '../../operations/steps.js';

/** Creates the definition's run-as user and group when missing (needs root for that). */
export async function ensureRunAs(conn: SshConnection, runAs: { user: string; group: string }, output: StepOutput): Promise<string> {
  const { user, group } = runAs;
  const result = await conn.run(
    sh`if id -u ${user} >/dev/null 2>&1; then echo present; elif [ "$(id -u)" != 0 ]; then echo "user ${user} does not exist and $(id -un) cannot create it" >&2; exit 3;
       else getent group ${group} >/dev/null || groupadd --system ${group}; useradd --system --no-create-home --gid ${group} --shell /usr/sbin/nologin ${user} && echo created; fi`,
    { timeoutMs: 30_000, ...output },
  );
  return result.stdout.includes('created') ? `created user ${user}` : `user ${user} present`;
}

/**
 * Uploads the package unless the host has the same sha256, unpacks it into
 * `<root>/<service>/<version>` (once per sha256) and points `current` at it.
 */
export async function installPackage(
  conn: SshConnection,
  opts: { localPath: string; file: string; sha256: string; installRoot: string; service: string; version: string },
  output: StepOutput,
): Promise<string> {
  const remotePackage = posix.join(opts.installRoot, 'packages', opts.file);
  const upload = await uploadFile(conn, opts.localPath, remotePackage, { timeoutMs: 600_000 });
  const base = posix.join(opts.installRoot, opts.service);
  const versionDir = posix.join(base, opts.version);
  const staging = `${versionDir}.sophon-unpack`;
  const marker = posix.join(versionDir, '.sophon-package');
  const result = await conn.run(
    sh`if [ "$(cat ${marker} 2>/dev/null)" = ${opts.sha256} ]; then echo present; else
         rm -rf -- ${staging} && mkdir -p -- ${staging} && tar -xzf ${remotePackage} -C ${staging} --no-same-owner &&
         echo ${opts.sha256} > ${staging}/.sophon-package && rm -rf -- ${versionDir} && mv -- ${staging} ${versionDir} && echo unpacked; fi &&
       ln -sfn ${opts.version} ${base}/current.sophon-link && mv -T -- ${base}/current.sophon-link ${base}/current`,
    { timeoutMs: 300_000, ...output },
  );
  const unpacked = result.stdout.includes('unpacked') ? `unpacked into ${versionDir}` : `${versionDir} already unpacked`;
  return `${upload.skipped ? 'package already on the host' : `uploaded ${opts.file}`}; ${unpacked}`;
}

/** The sha256 of each of the files the host has (absent ones are missing from the map). */
export async function hostSums(conn: SshConnection, files: RenderedFile[], signal: AbortSignal): Promise<Map<string, string>> {
  const present = await conn.exec(sh`sha256sum -- ${files.map((f) => f.path)} 2>/dev/null; true`, { timeoutMs: 60_000, signal });
  const onHost = new Map<string, string>();
  for (const line of present.stdout.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line);
    if (m) onHost.set(m[2]!, m[1]!);
  }
  return onHost;
}

/** Writes the files whose content differs from what the host has; returns the paths written. */
export async function writeConfigFiles(
  conn: SshConnection,
  files: RenderedFile[],
  ctx: TemplateContext,
  output: StepOutput,
): Promise<string[]> {
  const { paths, runAs } = ctx;
  // Directories the role needs, owned by its user (when Sophon may change owners).
  await conn.run(
    sh`mkdir -p -- ${paths.conf} ${paths.data} ${paths.log} ${paths.run} &&
       if [ "$(id -u)" = 0 ]; then chown -R ${`${runAs.user}:${runAs.group}`} ${paths.data} ${paths.log} ${paths.run}; fi`,
    { timeoutMs: 60_000, ...output },
  );
  if (files.length === 0) return [];
  const onHost = await hostSums(conn, files, output.signal);
  const written: string[] = [];
  for (const f of files) {
    if (onHost.get(f.path) === f.sha256) continue;
    const temp = `${f.path}.sophon-new`;
    await conn.run(sh`mkdir -p -- ${posix.dirname(f.path)} && cat > ${temp} && chmod ${f.mode} ${temp} && mv -f -- ${temp} ${f.path}`, {
      timeoutMs: 60_000,
      stdin: f.content,
      ...output,
    });
    written.push(f.path);
  }
  return written;
}

export type Lifecycle = 'start' | 'stop' | 'status';
export interface HostCommand {
  command: ShellCommand;
  timeoutMs: number;
}

/**
 * The role's start, stop or status as a shell command: its own, or the one that follows from its
 * `process`, which runs detached in its own session with its pid in `<run>/<role>.pid` and its
 * output appended to `<log>/<role>.out`. Undefined when the role has none.
 */
export function lifecycleCommand(
  def: ServiceDefinition,
  role: RoleDefinition,
  which: Lifecycle,
  ctx: TemplateContext,
): HostCommand | undefined {
  const process = role.process;
  if (!process) {
    const own = role[which];
    return own && { command: new ShellCommand(renderCommand(def, own.run, ctx, `the ${which} command`)), timeoutMs: own.timeout * 1000 };
  }
  const { run, log } = ctx.paths;
  const pidFile = posix.join(run, `${role.name}.pid`);
  const out = posix.join(log, `${role.name}.out`);
  if (which === 'status') return { command: sh`kill -0 "$(cat ${pidFile} 2>/dev/null)" 2>/dev/null`, timeoutMs: 10_000 };
  if (which === 'start') {
    const text = renderCommand(def, process.run, ctx, 'the process command');
    // The inner shell records its own pid: setsid may fork, so $! would not be the session's.
    return {
      command: sh`mkdir -p -- ${run} ${log} && cd ${run} && rm -f -- ${pidFile} || exit 1
        setsid sh -c 'echo $$ > "$1"; exec sh -c "$0"' ${text} ${pidFile} >> ${out} 2>&1 < /dev/null &
        i=0; while [ ! -s ${pidFile} ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; sleep 1
        if ! kill -0 "$(cat ${pidFile} 2>/dev/null)" 2>/dev/null; then
          echo the process ended at once, the end of ${out} follows >&2; tail -n 30 ${out} >&2; exit 1
        fi`,
      timeoutMs: 30_000,
    };
  }
  // SIGTERM to the session's process group; SIGKILL once stopTimeout has passed.
  return {
    command: sh`pid=$(cat ${pidFile} 2>/dev/null)
      if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo 'not running'; exit 0; fi
      kill -TERM -- -"$pid" 2>/dev/null || kill -TERM "$pid"
      i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt ${process.stopTimeout * 10} ]; do sleep 0.1; i=$((i+1)); done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid"; echo killed after ${process.stopTimeout}s; fi`,
    timeoutMs: (process.stopTimeout + 15) * 1000,
  };
}

/** Runs a rendered role command (start, stop, status, leader check) on the host. */
export function runRoleCommand(
  conn: SshConnection,
  def: ServiceDefinition,
  command: { run: string; timeout: number },
  ctx: TemplateContext,
  output: StepOutput,
  where: string,
): Promise<ExecResult> {
  const text = renderCommand(def, command.run, ctx, where);
  return conn.exec(new ShellCommand(text), { timeoutMs: command.timeout * 1000, ...output });
}

/** One health check; null when it passes, else why not. */
export async function checkHealth(
  conn: SshConnection,
  def: ServiceDefinition,
  check: HealthCheck,
  ctx: TemplateContext,
  output: StepOutput,
): Promise<string | null> {
  const { address, ports } = ctx.instance;
  if (check.type === 'command') {
    const result = await runRoleCommand(conn, def, check, ctx, output, 'a health check');
    if (result.exitCode !== 0) return `health check command exited with ${result.exitCode}: ${result.stderr.trim().slice(-200)}`;
    if (check.expectOutput !== undefined && !`${result.stdout}${result.stderr}`.includes(check.expectOutput)) {
      return `health check command output lacks '${check.expectOutput}'`;
    }
    return null;
  }
  const port = ports[check.port];
  if (port === undefined) throw new SophonError('DEFINITION_INVALID', `${def.name}: health check names unknown port '${check.port}'`);
  if (check.type === 'tcp') {
    return new Promise((resolve) => {
      const socket = connect({ host: address, port, timeout: check.timeout * 1000 });
      const done = (why: string | null) => (socket.destroy(), resolve(why));
      socket.once('connect', () => done(null));
      socket.once('timeout', () => done(`no TCP answer on ${address}:${port} within ${check.timeout}s`));
      socket.once('error', (err) => done(`TCP ${address}:${port}: ${err.message}`));
    });
  }
  const url = `${check.scheme}://${address.includes(':') ? `[${address}]` : address}:${port}${check.path}`;
  try {
    // The caller's loop watches output.signal between checks; tying every fetch to it would pile listeners on it.
    const res = await fetch(url, { signal: AbortSignal.timeout(check.timeout * 1000) });
    const body = await res.text();
    if (res.status !== check.expectStatus) return `${url} answered ${res.status}, expected ${check.expectStatus}`;
    if (check.expectBody !== undefined && !body.includes(check.expectBody)) return `${url} answered without '${check.expectBody}'`;
    return null;
  } catch (err) {
    return `${url}: ${(err as Error).message}`;
  }
}

/** Removes the service's directory and packages under the install root, and nothing outside it. */
export async function removeServiceFiles(
  conn: SshConnection,
  installRoot: string,
  def: ServiceDefinition,
  output: StepOutput,
): Promise<string> {
  if (!/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/.test(installRoot) || installRoot.split('/').includes('..')) {
    throw new SophonError('VALIDATION_FAILED', `Refusing to remove files under '${installRoot}': not a plain absolute install root`);
  }
  const packages = def.versions.flatMap((v) => v.packages.map((p) => posix.join(installRoot, 'packages', p.file)));
  await conn.run(sh`rm -rf -- ${posix.join(installRoot, def.name)} ${packages}`, { timeoutMs: 300_000, ...output });
  return `removed ${posix.join(installRoot, def.name)}`;
}

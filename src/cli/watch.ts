/**
 * Waiting for an operation with live progress: a line per host with its current step (listr2
 * draws the spinners; without a terminal it falls back to plain lines), the phase (batches of
 * rolling work) and percent, the output tail of a failing step, the Temporal UI link, and for
 * HOLDING the reason and the `sophon ops decide` command. Polls GET /api/v1/operations/:id.
 */
import type { ListrTaskWrapper } from 'listr2';
import { seg, type ApiClient } from './api-client.js';
import { CliError, EXIT, printJson } from './output.js';
import type { OperationDetail, Step } from './types.js';

export interface WatchOptions {
  json: boolean;
  /** Hosts the operation will touch, when the caller knows them (else they come with the steps). */
  hosts?: string[];
  intervalMs?: number;
}

/** Succeeded, failed, cancelled, rolled back or holding: anything but still under way. */
const settled = (op: OperationDetail) => op.status !== 'PENDING' && op.status !== 'RUNNING';

export function exitCodeFor(status: string): number {
  if (status === 'SUCCEEDED') return EXIT.OK;
  if (status === 'HOLDING') return EXIT.HOLDING;
  return EXIT.FAILED;
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/** The step each host is at: the last of its steps in the order they began. */
function currentSteps(op: OperationDetail): Map<string, Step> {
  const at = new Map<string, Step>();
  for (const step of op.steps) if (step.host) at.set(step.host, step);
  return at;
}

export function hostLine(host: string, step: Step | undefined): string {
  if (!step) return `${host}  waiting`;
  const attempt = step.attempt > 1 ? ` (attempt ${step.attempt})` : '';
  const role = step.role ? ` ${step.role}` : '';
  return `${host}${role}  ${step.phase ? `${step.phase} › ` : ''}${step.step}  ${step.status}${attempt}`;
}

export function headerLine(op: OperationDetail): string {
  const percent = op.percent === null ? '' : ` ${op.percent}%`;
  const target = [op.cluster, op.service].filter(Boolean).join('/');
  return `${op.type}${target ? ` ${target}` : ''}: ${op.status}${op.phase ? ` · ${op.phase}` : ''}${percent}`;
}

/** The last lines of what a failed step printed. */
export function tailOf(step: Step, lines = 10): string {
  const text = (step.stderrTail || step.stdoutTail || '').trimEnd();
  return text
    ? text
        .split('\n')
        .slice(-lines)
        .map((l) => `    | ${l}`)
        .join('\n')
    : '';
}

function failureOf(step: Step): string {
  const code = step.exitCode === null ? '' : ` (exit ${step.exitCode})`;
  const tail = tailOf(step);
  return `${step.phase ? `${step.phase} › ` : ''}${step.step} ${step.status}${code}${step.message ? `: ${step.message}` : ''}${tail ? `\n${tail}` : ''}`;
}

/** What to print once the operation settles: outcome, failures, HOLDING reason and the decide command. */
export function summary(op: OperationDetail): string {
  const lines = [`operation ${op.id} ${op.status}`];
  if (op.error) lines.push(`  ${op.error.code}: ${op.error.message}`);
  const skipped = (op.result as { skippedHosts?: string[] } | null)?.skippedHosts;
  if (skipped?.length) lines.push(`  skipped hosts: ${skipped.join(', ')}`);
  const failed = op.steps.filter((s) => s.status === 'FAILED');
  if (op.status !== 'SUCCEEDED') for (const s of failed.slice(-3)) lines.push(`  ${s.host || '-'} ${failureOf(s)}`);
  if (op.status === 'HOLDING') {
    for (const h of op.holding ?? []) lines.push(`  HOLDING on ${h.host} at ${h.phase} › ${h.step}: ${h.reason}`);
    const actions = ['retry', 'skip', 'abort', ...(op.canRollback ? ['rollback'] : [])];
    lines.push(`  waiting for a decision; fix the cause, then run:`);
    lines.push(`    sophon ops decide ${op.id} retry`);
    lines.push(`  (or ${actions.slice(1).join(', ')}: sophon ops decide ${op.id} <action>)`);
  }
  lines.push(`  Temporal UI: ${op.temporalUiUrl}`);
  return lines.join('\n') + '\n';
}

/** Polls the operation; a few failed polls in a row (an API restart) are waited out. */
class Poller {
  op: OperationDetail;
  private failures = 0;
  constructor(
    private client: ApiClient,
    first: OperationDetail,
    private intervalMs: number,
  ) {
    this.op = first;
  }

  async refresh(): Promise<void> {
    try {
      this.op = (await this.client.get<{ operation: OperationDetail }>(`/api/v1/operations/${seg(this.op.id)}`)).operation;
      this.failures = 0;
    } catch (err) {
      if (!(err instanceof CliError) || err.exitCode !== EXIT.UNREACHABLE || ++this.failures > 20) throw err;
    }
  }

  async untilSettled(onChange: () => void): Promise<void> {
    while (!settled(this.op)) {
      await new Promise((r) => setTimeout(r, this.intervalMs));
      await this.refresh();
      onChange();
    }
  }
}

/** The hosts of a service's instances, for the progress view (none when it cannot be read, e.g. a removed service). */
export async function instanceHosts(client: ApiClient, path: string): Promise<string[]> {
  try {
    return [...new Set((await client.get<{ service: { instances: Array<{ host: string }> } }>(path)).service.instances.map((i) => i.host))];
  } catch {
    return [];
  }
}

/** The hosts of the operation's service, when the caller named none: read before waiting for steps, as they name the hosts too. */
async function knownHosts(client: ApiClient, op: OperationDetail, hint: string[] | undefined): Promise<string[]> {
  if (hint?.length || !op.cluster || !op.service) return hint ?? [];
  return instanceHosts(client, `/api/v1/clusters/${seg(op.cluster)}/services/${seg(op.service)}`);
}

/**
 * Waits for the operation to succeed, fail or hold, drawing its progress (or, with --json,
 * printing it once settled). Returns the exit code for its status.
 */
export async function watchOperation(client: ApiClient, id: string, opts: WatchOptions): Promise<number> {
  const get = async () => (await client.get<{ operation: OperationDetail }>(`/api/v1/operations/${seg(id)}`)).operation;
  const poller = new Poller(client, await get(), opts.intervalMs ?? 500);
  if (opts.json) {
    await poller.untilSettled(() => undefined);
    printJson({ operation: poller.op });
    return exitCodeFor(poller.op.status);
  }

  process.stdout.write(`operation ${id} (${poller.op.type})\n  Temporal UI: ${poller.op.temporalUiUrl}\n`);
  const known = await knownHosts(client, poller.op, opts.hosts);
  // Without known hosts, they usually show up with the first steps; give them a moment before drawing.
  for (let i = 0; i < 10 && !settled(poller.op) && !poller.op.steps.length && !known.length; i++) {
    await new Promise((r) => setTimeout(r, 300));
    await poller.refresh();
  }
  const hosts = [...new Set([...known, ...poller.op.steps.map((s) => s.host).filter(Boolean)])].sort(byName);
  const interrupted = () => {
    process.stdout.write(`\nstopped watching; the operation carries on: sophon ops watch ${id}\n`);
    process.exit(130); // the shell's convention for Ctrl-C
  };
  process.once('SIGINT', interrupted);

  const ticks = new Set<() => void>();
  const polling = poller.untilSettled(() => ticks.forEach((t) => t()));
  const nextTick = () =>
    new Promise<void>((r) => {
      const t = () => (ticks.delete(t), r());
      ticks.add(t);
    });
  const setTitle = (task: ListrTaskWrapper<unknown, never, never>, title: string) => {
    if (task.title !== title) task.title = title;
  };

  // Loaded here, not with the CLI: most commands never draw progress.
  const { Listr } = await import('listr2');
  const list = new Listr(
    [
      {
        title: headerLine(poller.op),
        task: async (_ctx, task) => {
          while (!settled(poller.op)) {
            setTitle(task, headerLine(poller.op));
            // Hosts that appear later (e.g. added by a scale) are listed under the header.
            const others = [...currentSteps(poller.op)].filter(([h]) => !hosts.includes(h)).map(([h, s]) => hostLine(h, s));
            if (others.length) task.output = others.join('\n');
            await nextTick();
          }
          setTitle(task, headerLine(poller.op));
          if (poller.op.status !== 'SUCCEEDED') throw new Error(poller.op.error?.message ?? poller.op.status);
        },
      },
      ...hosts.map((host) => ({
        title: hostLine(host, undefined),
        task: async (_ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) => {
          while (!settled(poller.op)) {
            setTitle(task, hostLine(host, currentSteps(poller.op).get(host)));
            await nextTick();
          }
          const step = currentSteps(poller.op).get(host);
          setTitle(task, hostLine(host, step));
          const held = poller.op.holding?.find((h) => h.host === host);
          if (held)
            throw new Error(`HOLDING at ${held.phase} › ${held.step}: ${held.reason}${step && tailOf(step) ? `\n${tailOf(step)}` : ''}`);
          if (step?.status === 'FAILED') throw new Error(failureOf(step));
          if (step?.status === 'SKIPPED') task.skip(`${host} skipped`);
        },
      })),
    ],
    {
      concurrent: true,
      exitOnError: false,
      rendererOptions: { collapseErrors: false, collapseSubtasks: false },
      fallbackRenderer: 'verbose',
      fallbackRendererOptions: { logTitleChange: true },
    },
  );
  await Promise.all([polling, list.run().catch(() => undefined)]);
  process.removeListener('SIGINT', interrupted);
  process.stdout.write(summary(poller.op));
  return exitCodeFor(poller.op.status);
}

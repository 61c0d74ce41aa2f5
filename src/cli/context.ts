/** What every client command needs: the API client, --json, and the way operations are started and awaited. */
import type { Command } from 'commander';
import { ApiClient, resolveTarget, seg } from './api-client.js';
import { EXIT, show, usage } from './output.js';
import type { Operation } from './types.js';
import { watchOperation } from './watch.js';

export interface Ctx {
  client: ApiClient;
  json: boolean;
  opts: Record<string, unknown>;
}

export function ctxOf(cmd: Command): Ctx {
  const opts = cmd.optsWithGlobals<Record<string, unknown>>();
  const target = resolveTarget({ url: opts.url as string | undefined, token: opts.token as string | undefined });
  return { client: new ApiClient(target), json: Boolean(opts.json), opts };
}

/** The cluster of a command: --cluster, else SOPHON_CLUSTER. */
export function clusterOf(ctx: Ctx): string {
  const cluster = (ctx.opts.cluster as string | undefined) ?? process.env.SOPHON_CLUSTER;
  if (!cluster) throw usage('which cluster? pass --cluster <name> (or set SOPHON_CLUSTER)');
  return cluster;
}

/** Adds --detach to a command that starts an operation. */
export const detachable = (cmd: Command) => cmd.option('--detach', 'return as soon as the operation is started, without waiting for it');

/**
 * After a request that started an operation: with --detach, print it and return 0; else wait
 * with live progress and exit with the code of its outcome.
 */
export async function follow(ctx: Ctx, answer: { operation: Operation } & Record<string, unknown>, hosts?: string[]): Promise<void> {
  const op = answer.operation;
  if (ctx.opts.detach) {
    show(ctx.json, answer, () =>
      process.stdout.write(
        `operation ${op.id} ${op.status} (${op.type})\n  watch: sophon ops watch ${op.id}\n  Temporal UI: ${op.temporalUiUrl}\n`,
      ),
    );
    process.exitCode = EXIT.OK;
    return;
  }
  process.exitCode = await watchOperation(ctx.client, op.id, { json: ctx.json, ...(hosts?.length ? { hosts } : {}) });
}

/** A subcommand that DELETEs one resource and says so: "<id> removed", or `{ "removed": id }` with --json. */
export function removeCommand(
  parent: Command,
  spec: { verb?: 'remove' | 'delete'; argument: string; description: string; path: (ctx: Ctx, id: string) => string },
): Command {
  const done = spec.verb === 'delete' ? 'deleted' : 'removed';
  return parent
    .command(spec.verb ?? 'remove')
    .description(spec.description)
    .argument(spec.argument)
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      await ctx.client.delete(spec.path(ctx, id));
      show(ctx.json, { [done]: id }, () => process.stdout.write(`${id} ${done}\n`));
    });
}

/** Splits "a,b,c" lists given to options, ignoring empty items. */
export const list = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/** Repeatable options collected into an array. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A positive whole number given to an option. */
export function wholeNumber(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw usage(`${name}: expected a whole number, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

export const clusterOption = (cmd: Command) => cmd.option('-c, --cluster <name>', 'the cluster (default: SOPHON_CLUSTER)');
export const servicePath = (ctx: Ctx, service: string) => `/api/v1/clusters/${seg(clusterOf(ctx))}/services/${seg(service)}`;

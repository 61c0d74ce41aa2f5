/** sophon ops list|show|watch|decide|cancel */
import type { Command } from 'commander';
import { seg } from '../api-client.js';
import { ctxOf, detachable, follow, wholeNumber } from '../context.js';
import { ago, printFields, printTable, show, usage } from '../output.js';
import type { Operation, OperationDetail } from '../types.js';
import { summary, watchOperation } from '../watch.js';

const DECISIONS = ['retry', 'skip', 'abort', 'rollback'];

export function registerOps(program: Command): void {
  const ops = program.command('ops').description('operations: their progress, HOLDING decisions and cancellation');

  ops
    .command('list')
    .description('operations, newest first')
    .option('-c, --cluster <name>', 'only this cluster')
    .option('--service <name>', 'only this service')
    .option('--status <status>', 'only this status (e.g. HOLDING)')
    .option('--limit <n>', 'at most this many (default 20)', wholeNumber('--limit'), 20)
    .action(async (opts: { cluster?: string; service?: string; status?: string; limit: number }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ operations: Operation[] }>('/api/v1/operations', {
        cluster: opts.cluster,
        service: opts.service,
        status: opts.status,
        limit: opts.limit,
      });
      show(ctx.json, answer, () =>
        printTable(
          ['id', 'type', 'target', 'status', 'phase', 'requested by', 'created'],
          answer.operations.map((o) => [
            o.id,
            o.type,
            [o.cluster, o.service].filter(Boolean).join('/'),
            o.status,
            o.phase,
            o.requestedBy,
            ago(o.createdAt),
          ]),
          'no operations',
        ),
      );
    });

  ops
    .command('show')
    .description('an operation with every step (host, phase, status, attempt, exit code)')
    .argument('<id>')
    .option('--all-attempts', 'every attempt of each step, not only the latest')
    .action(async (id: string, opts: { allAttempts?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ operation: OperationDetail }>(`/api/v1/operations/${seg(id)}`, {
        attempts: opts.allAttempts ? 'all' : undefined,
      });
      const op = answer.operation;
      show(ctx.json, answer, () => {
        printFields([
          ['id', op.id],
          ['type', op.type],
          ['target', [op.cluster, op.service].filter(Boolean).join('/')],
          ['status', op.status],
          ['phase', op.phase],
          ['percent', op.percent],
          ['requested by', op.requestedBy],
          ['created', ago(op.createdAt)],
          ['finished', ago(op.finishedAt)],
        ]);
        printTable(
          ['host', 'role', 'phase', 'step', 'status', 'attempt', 'exit', 'ms', 'message'],
          op.steps.map((s) => [s.host, s.role, s.phase, s.step, s.status, s.attempt, s.exitCode, s.durationMs, s.message]),
          'no steps',
        );
        process.stdout.write(summary(op));
      });
    });

  ops
    .command('watch')
    .description('follow an operation live until it succeeds, fails or holds')
    .argument('<id>')
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      process.exitCode = await watchOperation(ctx.client, id, { json: ctx.json });
    });

  detachable(
    ops
      .command('decide')
      .description('decide for a HOLDING operation, then follow it')
      .argument('<id>')
      .argument('<action>', DECISIONS.join('|')),
  ).action(async (id: string, action: string, _opts, cmd: Command) => {
    if (!DECISIONS.includes(action)) throw usage(`decide: expected one of ${DECISIONS.join(', ')}, got ${JSON.stringify(action)}`);
    const ctx = ctxOf(cmd);
    await follow(ctx, await ctx.client.post<{ operation: Operation }>(`/api/v1/operations/${seg(id)}/decision`, { action }));
  });

  detachable(ops.command('cancel').description('cancel a running operation (what runs on hosts is killed)').argument('<id>')).action(
    async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      await follow(ctx, await ctx.client.post<{ operation: Operation }>(`/api/v1/operations/${seg(id)}/cancel`));
    },
  );
}

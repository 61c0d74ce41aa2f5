/** sophon rules list|show|add|remove: alert rules (your own, service definitions' defaults and built-in ones). */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { RuleView } from '../../features/alerts/routes.js';
import { seg } from '../api-client.js';
import { collect, ctxOf, removeCommand } from '../context.js';
import { ago, pairsText, printFields, printTable, show, usage } from '../output.js';
import { keyValues } from './values.js';

type Rule = z.infer<typeof RuleView>;

const BASE = '/api/v1/alert-rules';
const condition = (r: Rule) => `${r.expr} ${r.op} ${r.threshold}${r.for !== '0s' ? ` for ${r.for}` : ''}`;
const scope = (r: Rule) => [r.cluster ?? '*', r.service, r.role].filter(Boolean).join('/');

interface AddOpts {
  expr: string;
  op: string;
  threshold: string;
  for?: string;
  severity: string;
  cluster?: string;
  service?: string;
  role?: string;
  label: string[];
  summary?: string;
  policy?: string;
}

/** The create body; the API checks the expression (naming its column), operator, severity and names. */
export function ruleBody(name: string, o: AddOpts): Record<string, unknown> {
  const threshold = Number(o.threshold);
  if (o.threshold.trim() === '' || !Number.isFinite(threshold))
    throw usage(`--threshold: expected a number, got ${JSON.stringify(o.threshold)}`);
  return {
    name,
    expr: o.expr,
    op: o.op,
    threshold,
    severity: o.severity,
    ...(o.for ? { for: o.for } : {}),
    ...(o.cluster ? { cluster: o.cluster } : {}),
    ...(o.service ? { service: o.service } : {}),
    ...(o.role ? { role: o.role } : {}),
    ...(o.label.length ? { labels: keyValues(o.label, '--label') } : {}),
    ...(o.summary ? { summary: o.summary } : {}),
    ...(o.policy ? { policy: o.policy } : {}),
  };
}

export function registerRules(program: Command): void {
  const rules = program.command('rules').description('alert rules: an expression over polled metrics, compared with a threshold');

  rules
    .command('list')
    .description('alert rules')
    .option('-c, --cluster <name>', 'only rules scoped to this cluster')
    .action(async (opts: { cluster?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ rules: Rule[] }>(BASE, { cluster: opts.cluster });
      show(ctx.json, answer, () =>
        printTable(
          ['name', 'source', 'severity', 'condition', 'scope', 'policy', 'id'],
          answer.rules.map((r) => [r.name, r.source, r.severity, condition(r), scope(r), r.policy, r.id]),
          'no alert rules',
        ),
      );
    });

  rules
    .command('show')
    .description('an alert rule')
    .argument('<id>')
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.get<{ rule: Rule }>(`${BASE}/${seg(id)}`);
      const r = answer.rule;
      show(ctx.json, answer, () =>
        printFields([
          ['name', r.name],
          ['id', r.id],
          ['source', r.source],
          ['severity', r.severity],
          ['condition', condition(r)],
          ['scope', scope(r)],
          ['labels', pairsText(r.labels)],
          ['summary', r.summary],
          ['policy', r.policy ?? '(default)'],
          ['updated', ago(r.updatedAt)],
        ]),
      );
    });

  rules
    .command('add')
    .description("add an alert rule, e.g. --expr 'up{service=\"zookeeper\"}' --op '<' --threshold 1 --for 1m --severity critical")
    .argument('<name>', 'the alert name')
    .requiredOption('--expr <expr>', 'a PromQL subset: metric{label="v"}, rate(m[5m]), avg_over_time(m[5m]), a / b')
    .requiredOption('--op <op>', '> >= < <= == !=')
    .requiredOption('--threshold <number>', 'compared with the value')
    .option('--for <duration>', "how long the condition holds before it fires: '30s', '5m', '1h' (default 0s)")
    .requiredOption('--severity <severity>', 'info, warning or critical')
    .option('-c, --cluster <name>', 'only this cluster (default: every cluster)')
    .option('--service <name>', 'only series scraped from this service')
    .option('--role <name>', 'only series scraped from this role')
    .option('--label <key=value>', 'a label added to its alerts (repeatable)', collect, [])
    .option('--summary <text>', 'what the alert means')
    .option('--policy <name>', 'escalation policy (default: the default policy)')
    .action(async (name: string, opts: AddOpts, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const answer = await ctx.client.post<{ rule: Rule }>(BASE, ruleBody(name, opts));
      show(ctx.json, answer, () => process.stdout.write(`rule ${answer.rule.name} added (${answer.rule.id}): ${condition(answer.rule)}\n`));
    });

  removeCommand(rules, {
    argument: '<id>',
    description: 'remove an alert rule of your own; its open alerts are resolved',
    path: (_ctx, id) => `${BASE}/${seg(id)}`,
  });
}

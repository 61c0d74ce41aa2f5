/** HTTP routes of alerting (see src/platform/http/registry.ts): alert rules, alerts, silences. Parse, then delegate. */
import { z } from 'zod';
import { who } from '../../platform/http/auth.js';
import { decodeCursor, pageOf, PageQuery } from '../../platform/http/paging.js';
import { route } from '../../platform/http/registry.js';
import { NextCursor, Timestamp } from '../../platform/http/schemas.js';
import { safeText } from '../../platform/validation.js';
import type { AlertRow } from './alerts-repo.js';
import { formatDuration, type RuleRow } from './rules-repo.js';
import { OPS, SEVERITIES, type AlertsService } from './service.js';

const LabelName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'expected a label name: letters, digits and "_", not starting with a digit');
const Labels = z.record(LabelName, safeText().max(255, 'expected label values of at most 255 characters'));
const Name = safeText().min(1).max(200);

// op and severity are checked by the service, so an unknown one is a 422 naming the field.
export const RuleBody = z.strictObject({
  name: Name.describe('the alert name (label alertname); unique per cluster and service'),
  expr: z
    .string()
    .min(1)
    .max(2000)
    .describe('a PromQL subset: `metric{label="v"}` (= != =~ !~), `rate(m[5m])`, `avg_over_time(m[5m])`, `a / b`'),
  op: z
    .string()
    .max(10)
    .describe(`comparison with the threshold: ${OPS.join(' ')}`),
  threshold: z.number(),
  for: z.string().max(20).default('0s').describe("how long the condition must hold before the alert fires: '30s', '5m', '1h'"),
  severity: z.string().max(20).describe(SEVERITIES.join(' | ')),
  cluster: safeText().min(1).max(253).optional().describe('only this cluster (name or id); every cluster when absent'),
  service: safeText().min(1).max(253).optional().describe('only series scraped from this service'),
  role: safeText().min(1).max(253).optional().describe('only series scraped from this role'),
  labels: Labels.default({}).describe('added to every alert of the rule'),
  summary: safeText().max(1000).default(''),
  policy: safeText().min(1).max(253).optional().describe('escalation policy name; the default policy when absent'),
});

export const RuleView = z.object({
  id: z.uuid(),
  name: z.string(),
  expr: z.string(),
  op: z.string(),
  threshold: z.number(),
  for: z.string(),
  severity: z.string(),
  cluster: z.string().nullable(),
  service: z.string().nullable(),
  role: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  summary: z.string(),
  policy: z.string().nullable(),
  source: z.enum(['user', 'definition', 'builtin']),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
const ruleView = (r: RuleRow) => ({
  id: r.id,
  name: r.name,
  expr: r.expr,
  op: r.op,
  threshold: r.threshold,
  for: formatDuration(r.forSeconds),
  severity: r.severity,
  cluster: r.clusterName,
  service: r.service,
  role: r.role,
  labels: r.labels,
  summary: r.summary,
  policy: r.policyName,
  source: r.source,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

const STATES = ['pending', 'firing', 'acknowledged', 'resolved'] as const;
const Value = z.union([z.number(), z.enum(['NaN', '+Inf', '-Inf'])]).nullable();
const valueOf = (v: number | null) => (v === null || Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');

export const AlertView = z.object({
  id: z.uuid(),
  rule: z.string().describe('the rule name'),
  ruleId: z.uuid().nullable().describe('null once the rule was deleted'),
  state: z.enum(STATES),
  severity: z.string(),
  cluster: z.string().nullable(),
  host: z.string().nullable(),
  service: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  value: Value.describe('the value when last evaluated true'),
  summary: z.string(),
  silenced: z.boolean().describe('muted by a silence or maintenance: recorded, nobody notified'),
  startsAt: Timestamp,
  firedAt: Timestamp.nullable(),
  ackedBy: z.string().nullable(),
  ackedAt: Timestamp.nullable(),
  ackNote: z.string().nullable(),
  resolvedAt: Timestamp.nullable(),
  resolvedBy: z.string().nullable(),
});

/** One alert with its state changes and its notifications. */
export const AlertDetail = AlertView.extend({
  events: z.array(z.object({ at: Timestamp, from: z.string().nullable(), to: z.string(), actor: z.string(), note: z.string().nullable() })),
  notifications: z.array(
    z.object({
      at: Timestamp,
      channel: z.string(),
      channelType: z.string(),
      kind: z.string(),
      round: z.number().nullable(),
      step: z.number().nullable(),
      status: z.string(),
      attempts: z.number(),
      error: z.string().nullable(),
    }),
  ),
});
const alertView = (a: AlertRow) => ({
  id: a.id,
  rule: a.ruleName,
  ruleId: a.ruleId,
  state: a.state,
  severity: a.severity,
  cluster: a.clusterName,
  host: a.host,
  service: a.service,
  labels: a.labels,
  value: valueOf(a.value),
  summary: a.summary,
  silenced: a.silenced,
  startsAt: a.startsAt,
  firedAt: a.firedAt,
  ackedBy: a.ackedBy,
  ackedAt: a.ackedAt,
  ackNote: a.ackNote,
  resolvedAt: a.resolvedAt,
  resolvedBy: a.resolvedBy,
});

const AlertsQuery = z.object({
  state: z.enum(STATES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  cluster: safeText().min(1).max(253).optional().describe('cluster name or id'),
  ...PageQuery,
});
const AlertKey = z.tuple([z.string(), z.uuid()]);

const SilenceBody = z
  .strictObject({
    matchers: z
      .record(LabelName, safeText().max(255))
      .refine((m) => Object.keys(m).length > 0, 'expected at least one label matcher')
      .describe('label → value; alerts whose labels all match are muted'),
    endsAt: z.iso.datetime({ offset: true }).optional(),
    durationSeconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 86_400)
      .optional(),
    comment: safeText().max(1000).default(''),
  })
  .refine((b) => (b.endsAt === undefined) !== (b.durationSeconds === undefined), {
    message: 'expected exactly one of endsAt and durationSeconds',
    path: ['endsAt'],
  });
export const SilenceView = z.object({
  id: z.uuid(),
  matchers: z.record(z.string(), z.string()),
  startsAt: Timestamp,
  endsAt: Timestamp,
  comment: z.string(),
  createdBy: z.string(),
  createdAt: Timestamp,
});

const RULE = '/api/v1/alert-rules';
const ALERT = '/api/v1/alerts';

export function alertRoutes(alerts: AlertsService) {
  return [
    route({
      method: 'get',
      path: RULE,
      summary: "Alert rules: your own, service definitions' defaults (source definition) and built-in ones",
      query: z.object({ cluster: safeText().min(1).max(253).optional().describe('only rules scoped to this cluster (name or id)') }),
      status: 200,
      response: z.object({ rules: z.array(RuleView) }),
      handler: async ({ query }) => ({ rules: (await alerts.listRules(query.cluster)).map(ruleView) }),
    }),
    route({
      method: 'post',
      path: RULE,
      summary: 'Create an alert rule; an expression that does not parse is a 422 with its column',
      body: RuleBody,
      status: 201,
      response: z.object({ rule: RuleView }),
      handler: async ({ req, body }) => ({ rule: ruleView(await alerts.createRule(body, who(req))) }),
    }),
    route({
      method: 'get',
      path: `${RULE}/:id`,
      summary: 'One alert rule',
      status: 200,
      response: z.object({ rule: RuleView }),
      handler: async ({ params }) => ({ rule: ruleView(await alerts.getRule(params.id!)) }),
    }),
    route({
      method: 'put',
      path: `${RULE}/:id`,
      summary: 'Replace an alert rule of your own (definition and built-in rules are fixed)',
      body: RuleBody,
      status: 200,
      response: z.object({ rule: RuleView }),
      handler: async ({ req, params, body }) => ({ rule: ruleView(await alerts.updateRule(params.id!, body, who(req))) }),
    }),
    route({
      method: 'delete',
      path: `${RULE}/:id`,
      summary: 'Delete an alert rule; its open alerts are resolved',
      status: 204,
      handler: ({ req, params }) => alerts.deleteRule(params.id!, who(req)),
    }),
    route({
      method: 'get',
      path: ALERT,
      summary: 'Alerts, newest first (paged)',
      query: AlertsQuery,
      status: 200,
      response: z.object({ alerts: z.array(AlertView), nextCursor: NextCursor }),
      handler: async ({ query }) => {
        const after = decodeCursor(query.cursor, AlertKey);
        const rows = await alerts.listAlerts(query, { limit: query.limit, after });
        const { items, nextCursor } = pageOf(rows, query.limit, (a) => [a.startsAt.toISOString(), a.id]);
        return { alerts: items.map(alertView), nextCursor };
      },
    }),
    route({
      method: 'get',
      path: `${ALERT}/:id`,
      summary: 'One alert with its state changes and its notifications',
      status: 200,
      response: z.object({
        alert: AlertDetail,
      }),
      handler: async ({ params }) => {
        const { alert, events, notifications } = await alerts.getAlert(params.id!);
        return { alert: { ...alertView(alert), events, notifications } };
      },
    }),
    route({
      method: 'post',
      path: `${ALERT}/:id/ack`,
      summary: 'Acknowledge a firing alert: the escalation stops; it is yours (author from the token)',
      body: z.strictObject({ note: safeText().max(1000).optional() }),
      status: 200,
      response: z.object({ alert: AlertView }),
      handler: async ({ req, params, body }) => ({ alert: alertView(await alerts.ack(params.id!, body.note, who(req))) }),
    }),
    route({
      method: 'post',
      path: `${ALERT}/:id/resolve`,
      summary: 'Resolve an open alert by hand; channels that were notified get the resolved notice',
      status: 200,
      response: z.object({ alert: AlertView }),
      handler: async ({ req, params }) => ({ alert: alertView(await alerts.resolve(params.id!, who(req))) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/silences',
      summary: 'Mute alerts whose labels match, until endsAt (or for durationSeconds): still recorded, marked silenced, nobody notified',
      body: SilenceBody,
      status: 201,
      response: z.object({ silence: SilenceView }),
      handler: async ({ req, body }) => ({ silence: await alerts.createSilence(body, who(req)) }),
    }),
    route({
      method: 'get',
      path: '/api/v1/silences',
      summary: 'Silences that have not ended (all=true: ended ones too)',
      query: z.object({ all: z.enum(['true', 'false']).default('false') }),
      status: 200,
      response: z.object({ silences: z.array(SilenceView) }),
      handler: async ({ query }) => ({ silences: await alerts.listSilences(query.all === 'true') }),
    }),
    route({
      method: 'delete',
      path: '/api/v1/silences/:id',
      summary: 'End a silence now',
      status: 204,
      handler: ({ req, params }) => alerts.deleteSilence(params.id!, who(req)),
    }),
  ];
}

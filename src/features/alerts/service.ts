/**
 * Rules of alerting behind the routes: rule validation (expression, comparison, severity,
 * duration, scope, policy), acknowledging and resolving alerts, and silences. The escalation
 * chain is told after Postgres holds the new state; it re-reads that state before each step,
 * so a call that fails here (Temporal down) cannot make it page after an ack or resolve.
 */
import type { Who } from '../../platform/http/auth.js';
import { inTransaction, isUuid, type Pool } from '../../platform/db/pool.js';
import { auditRepo } from '../audit/repo.js';
import { clustersRepo } from '../clusters/repo.js';
import type { Catalog } from '../defs/index.js';
import { conflict, notFound, SophonError, type FieldError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { Escalations } from '../notify/escalation-client.js';
import { policiesRepo } from '../notify/policies-repo.js';
import { invalidField } from '../../platform/validation.js';
import { alertsRepo, type AlertKey } from './alerts-repo.js';
import { ExprError, parseDuration, parseExpr } from './expr.js';
import type { AlertState } from './lifecycle.js';
import { rulesRepo, type RuleInput, type Severity } from './rules-repo.js';

export const OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export const SEVERITIES = ['info', 'warning', 'critical'] as const;

export interface RuleBody {
  name: string;
  expr: string;
  op: string;
  threshold: number;
  for: string;
  severity: string;
  cluster?: string | undefined;
  service?: string | undefined;
  role?: string | undefined;
  labels: Record<string, string>;
  summary: string;
  policy?: string | undefined;
}

export function createAlertsService(deps: { pool: Pool; catalog: Catalog; logger: Logger; escalations: Escalations }) {
  const { pool, catalog } = deps;
  const rules = rulesRepo(pool);
  const alerts = alertsRepo(pool);
  const log = deps.logger.child({ component: 'alerts' });

  /** Checks a rule body beyond its shape; every problem is reported with its field path. */
  async function toInput(body: RuleBody): Promise<RuleInput> {
    const errors: FieldError[] = [];
    try {
      parseExpr(body.expr);
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      errors.push({ path: 'expr', message: err.message, column: err.column });
    }
    if (!(OPS as readonly string[]).includes(body.op))
      errors.push({ path: 'op', message: `unknown operator '${body.op}': expected one of ${OPS.join(' ')}` });
    if (!(SEVERITIES as readonly string[]).includes(body.severity))
      errors.push({ path: 'severity', message: `unknown severity '${body.severity}': expected one of ${SEVERITIES.join(', ')}` });
    const forSeconds = parseDuration(body.for);
    if (forSeconds === undefined)
      errors.push({ path: 'for', message: `expected a duration such as '30s', '5m' or '1h', got '${body.for}'` });

    let clusterId: string | null = null;
    if (body.cluster !== undefined) {
      const cluster = await clustersRepo(pool).find(body.cluster);
      if (cluster) clusterId = cluster.id;
      else errors.push({ path: 'cluster', message: `no cluster '${body.cluster}'` });
    }
    if (body.service !== undefined) {
      const def = catalog.has(body.service) ? catalog.get(body.service) : undefined;
      if (!def) errors.push({ path: 'service', message: `no service '${body.service}' in the catalog` });
      else if (body.role !== undefined && !def.roles.some((r) => r.name === body.role)) {
        errors.push({
          path: 'role',
          message: `service '${body.service}' has no role '${body.role}': expected one of ${def.roles.map((r) => r.name).join(', ')}`,
        });
      }
    }
    let policyId: string | null = null;
    if (body.policy !== undefined) {
      const policy = await policiesRepo(pool).byName(body.policy);
      if (policy) policyId = policy.id;
      else errors.push({ path: 'policy', message: `no escalation policy '${body.policy}'` });
    }
    if (errors.length)
      throw new SophonError('RULE_INVALID', `Invalid alert rule: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors);
    return {
      name: body.name,
      expr: body.expr,
      op: body.op as RuleInput['op'],
      threshold: body.threshold,
      forSeconds: forSeconds!,
      severity: body.severity as Severity,
      clusterId,
      service: body.service ?? null,
      role: body.role ?? null,
      labels: body.labels,
      summary: body.summary,
      policyId,
    };
  }

  const ruleOf = async (id: string) => {
    const rule = isUuid(id) ? await rules.get(id) : undefined;
    if (!rule) throw notFound('Alert rule', id);
    return rule;
  };
  const alertOf = async (id: string) => {
    const alert = isUuid(id) ? await alerts.get(id) : undefined;
    if (!alert) throw notFound('Alert', id);
    return alert;
  };
  const scopeTaken = (err: unknown, name: string) => {
    if ((err as { code?: string }).code === '23505')
      throw conflict(`An alert rule named '${name}' exists already in that scope (cluster and service)`);
    throw err;
  };
  /** Tells the chain; the state in Postgres is what counts, so a failed call is only logged. */
  const tell = async (what: string, alertId: string, call: () => Promise<void>) => {
    try {
      await call();
    } catch (err) {
      log.warn({ err, alertId }, `escalation ${what} failed; the chain re-reads the alert before each step`);
    }
  };

  return {
    async listRules(cluster: string | undefined) {
      if (cluster === undefined) return rules.list();
      const found = await clustersRepo(pool).find(cluster);
      return found ? rules.list({ clusterId: found.id }) : [];
    },
    getRule: ruleOf,

    async createRule(body: RuleBody, who: Who) {
      const input = await toInput(body);
      const id = await inTransaction(pool, async (tx) => {
        const created = await rulesRepo(tx)
          .create(input)
          .catch((err: unknown) => scopeTaken(err, body.name));
        await auditRepo(tx).record({
          actor: who.actor,
          action: 'alert-rule.create',
          target: body.name,
          requestId: who.requestId,
          details: { ruleId: created },
        });
        return created;
      });
      return ruleOf(id);
    },

    async updateRule(id: string, body: RuleBody, who: Who) {
      const rule = await ruleOf(id);
      if (rule.source !== 'user')
        throw conflict(
          `Alert rule '${rule.name}' comes from ${rule.source === 'builtin' ? 'Sophon itself' : `the definition of ${rule.service}`} and cannot be changed; silence its alerts or add a rule of your own`,
        );
      const input = await toInput(body);
      await inTransaction(pool, async (tx) => {
        await rulesRepo(tx)
          .update(rule.id, input)
          .catch((err: unknown) => scopeTaken(err, body.name));
        await auditRepo(tx).record({
          actor: who.actor,
          action: 'alert-rule.update',
          target: body.name,
          requestId: who.requestId,
          details: { ruleId: rule.id },
        });
      });
      return ruleOf(rule.id);
    },

    async deleteRule(id: string, who: Who) {
      const rule = await ruleOf(id);
      if (rule.source === 'builtin')
        throw conflict(`Alert rule '${rule.name}' is built in and cannot be deleted; silence its alerts instead`);
      const resolved = await inTransaction(pool, async (tx) => {
        const ids = await rulesRepo(tx).remove(rule.id);
        await auditRepo(tx).record({
          actor: who.actor,
          action: 'alert-rule.delete',
          target: rule.name,
          requestId: who.requestId,
          details: { ruleId: rule.id },
        });
        return ids;
      });
      for (const alertId of resolved) await tell('resolve', alertId, () => deps.escalations.resolve(alertId, who.actor));
    },

    async listAlerts(
      filter: { state?: AlertState | undefined; severity?: Severity | undefined; cluster?: string | undefined },
      page: { limit: number; after?: AlertKey | undefined },
    ) {
      let clusterId: string | undefined;
      if (filter.cluster !== undefined) {
        const cluster = await clustersRepo(pool).find(filter.cluster);
        if (!cluster) return [];
        clusterId = cluster.id;
      }
      return alerts.list({ state: filter.state, severity: filter.severity, clusterId }, page);
    },

    async getAlert(id: string) {
      const alert = await alertOf(id);
      const [events, notifications] = await Promise.all([alerts.events(alert.id), alerts.notifications(alert.id)]);
      return { alert, events, notifications };
    },

    async ack(id: string, note: string | undefined, who: Who) {
      const alert = await alertOf(id);
      const res = await alerts.ack(alert.id, who.actor, note);
      if (!res?.changed) {
        if (res?.from === 'acknowledged') return alertOf(alert.id);
        throw conflict(`Alert ${alert.id} is ${res?.from ?? alert.state}: only a firing alert can be acknowledged`);
      }
      await tell('ack', alert.id, () => deps.escalations.ack(alert.id, who.actor, note));
      return alertOf(alert.id);
    },

    async resolve(id: string, who: Who) {
      const alert = await alertOf(id);
      const res = await alerts.resolve(alert.id, who.actor);
      if (!res?.changed) throw conflict(`Alert ${alert.id} is resolved already`);
      await tell('resolve', alert.id, () => deps.escalations.resolve(alert.id, who.actor));
      return alertOf(alert.id);
    },

    async createSilence(
      body: { matchers: Record<string, string>; endsAt?: string | undefined; durationSeconds?: number | undefined; comment: string },
      who: Who,
    ) {
      const endsAt = body.endsAt !== undefined ? new Date(body.endsAt) : new Date(Date.now() + body.durationSeconds! * 1000);
      if (endsAt.getTime() <= Date.now()) throw invalidField('endsAt', 'expected a time in the future');
      return inTransaction(pool, async (tx) => {
        const created = await alertsRepo(tx).createSilence({
          matchers: body.matchers,
          endsAt,
          comment: body.comment,
          createdBy: who.actor,
        });
        await alertsRepo(tx).muteMatching(body.matchers, who.actor);
        await auditRepo(tx).record({
          actor: who.actor,
          action: 'silence.create',
          target: created.id,
          requestId: who.requestId,
          details: { matchers: body.matchers },
        });
        return created;
      });
    },

    listSilences: (all: boolean) => alerts.listSilences(all),

    async deleteSilence(id: string, who: Who) {
      if (!isUuid(id) || !(await alerts.deleteSilence(id))) throw notFound('Silence', id);
      await auditRepo(pool).record({ actor: who.actor, action: 'silence.delete', target: id, requestId: who.requestId });
    },
  };
}

export type AlertsService = ReturnType<typeof createAlertsService>;

/** Alert rules in Postgres: the user's, a service definition's defaults and Sophon's built-ins. */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from '../../platform/db/pool.js';
import type { AlertRuleDefinition } from '../defs/index.js';
import { resolveAlerts } from './alerts-repo.js';
import type { CompareOp } from './evaluate.js';
import { parseDuration } from './expr.js';

type Db = Pool | PoolClient;

export type Severity = 'info' | 'warning' | 'critical';
export type RuleSource = 'user' | 'definition' | 'builtin';

export interface RuleRow {
  id: string;
  name: string;
  expr: string;
  op: CompareOp;
  threshold: number;
  forSeconds: number;
  severity: Severity;
  clusterId: string | null;
  clusterName: string | null;
  service: string | null;
  role: string | null;
  labels: Record<string, string>;
  summary: string;
  policyId: string | null;
  policyName: string | null;
  source: RuleSource;
  createdAt: Date;
  updatedAt: Date;
}

export type RuleInput = Pick<
  RuleRow,
  'name' | 'expr' | 'op' | 'threshold' | 'forSeconds' | 'severity' | 'clusterId' | 'service' | 'role' | 'labels' | 'summary' | 'policyId'
>;

const SELECT = `SELECT r.id, r.name, r.expr, r.op, r.threshold, r.for_seconds AS "forSeconds", r.severity, r.cluster_id AS "clusterId",
  c.name AS "clusterName", r.service, r.role, r.labels, r.summary, r.policy_id AS "policyId", p.name AS "policyName", r.source,
  r.created_at AS "createdAt", r.updated_at AS "updatedAt"
  FROM alert_rules r LEFT JOIN clusters c ON c.id = r.cluster_id LEFT JOIN escalation_policies p ON p.id = r.policy_id`;

/** Open alerts of the rules matched by `where` become resolved (their rule is going away); returns their ids. */
async function resolveOpenOf(db: Db, where: string, params: unknown[], note: string): Promise<string[]> {
  const resolved = await resolveAlerts(db, `a.rule_id IN (SELECT r.id FROM alert_rules r WHERE ${where})`, params, 'sophon', note);
  return resolved.map((r) => r.id);
}

export function rulesRepo(db: Db) {
  return {
    async list(filter: { clusterId?: string | undefined } = {}): Promise<RuleRow[]> {
      return (
        await db.query<RuleRow>(`${SELECT} WHERE ($1::uuid IS NULL OR r.cluster_id = $1) ORDER BY r.name, r.id`, [filter.clusterId ?? null])
      ).rows;
    },

    async get(id: string): Promise<RuleRow | undefined> {
      return (await db.query<RuleRow>(`${SELECT} WHERE r.id = $1`, [id])).rows[0];
    },

    /** The rules a poll of the cluster evaluates: its own and the global ones. */
    async forCluster(clusterId: string): Promise<RuleRow[]> {
      return (await db.query<RuleRow>(`${SELECT} WHERE r.cluster_id = $1 OR r.cluster_id IS NULL ORDER BY r.id`, [clusterId])).rows;
    },

    async create(input: RuleInput): Promise<string> {
      const id = randomUUID();
      await db.query(
        `INSERT INTO alert_rules (id, name, expr, op, threshold, for_seconds, severity, cluster_id, service, role, labels, summary, policy_id, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'user')`,
        [
          id,
          input.name,
          input.expr,
          input.op,
          input.threshold,
          input.forSeconds,
          input.severity,
          input.clusterId,
          input.service,
          input.role,
          JSON.stringify(input.labels),
          input.summary,
          input.policyId,
        ],
      );
      return id;
    },

    async update(id: string, input: RuleInput): Promise<void> {
      await db.query(
        `UPDATE alert_rules SET name = $2, expr = $3, op = $4, threshold = $5, for_seconds = $6, severity = $7, cluster_id = $8, service = $9,
           role = $10, labels = $11, summary = $12, policy_id = $13, updated_at = now() WHERE id = $1`,
        [
          id,
          input.name,
          input.expr,
          input.op,
          input.threshold,
          input.forSeconds,
          input.severity,
          input.clusterId,
          input.service,
          input.role,
          JSON.stringify(input.labels),
          input.summary,
          input.policyId,
        ],
      );
    },

    /** Deletes a rule; its open alerts are resolved. Returns their ids. */
    async remove(id: string): Promise<string[]> {
      const resolved = await resolveOpenOf(db, 'r.id = $1', [id], 'its rule was deleted');
      await db.query(`DELETE FROM alert_rules WHERE id = $1`, [id]);
      return resolved;
    },

    /** The definition's default rules for a deployed service (idempotent: existing ones are kept). */
    async ensureDefinitionRules(clusterId: string, service: string, rules: AlertRuleDefinition[]): Promise<number> {
      let created = 0;
      for (const r of rules) {
        const res = await db.query(
          `INSERT INTO alert_rules (id, name, expr, op, threshold, for_seconds, severity, cluster_id, service, role, labels, summary, source)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'definition') ON CONFLICT (name, cluster_id, service) DO NOTHING`,
          [
            randomUUID(),
            r.name,
            r.expr,
            r.op,
            r.threshold,
            parseDuration(r.for) ?? 0,
            r.severity,
            clusterId,
            service,
            r.role ?? null,
            JSON.stringify(r.labels),
            r.summary,
          ],
        );
        created += res.rowCount ?? 0;
      }
      return created;
    },

    /** A removed service takes its default rules along; their open alerts are resolved. Returns their ids. */
    async removeDefinitionRules(clusterId: string, service: string): Promise<string[]> {
      const resolved = await resolveOpenOf(
        db,
        `r.cluster_id = $1 AND r.service = $2 AND r.source = 'definition'`,
        [clusterId, service],
        'its service was removed',
      );
      await db.query(`DELETE FROM alert_rules WHERE cluster_id = $1 AND service = $2 AND source = 'definition'`, [clusterId, service]);
      return resolved;
    },
  };
}

/** 300 → '5m': the largest unit that divides the seconds. */
export function formatDuration(seconds: number): string {
  return seconds % 3600 === 0 && seconds > 0
    ? `${seconds / 3600}h`
    : seconds % 60 === 0 && seconds > 0
      ? `${seconds / 60}m`
      : `${seconds}s`;
}

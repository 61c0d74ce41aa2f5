/** Escalation policies in Postgres, and which one an alert's chain follows. */
import type { Pool, PoolClient } from '../../platform/db/pool.js';

type Db = Pool | PoolClient;

export interface PolicyStep {
  channels: string[];
  waitSeconds: number;
}

export interface PolicyRow {
  id: string;
  name: string;
  steps: PolicyStep[];
  repeat: number;
  unackTimeoutSeconds: number | null;
  isDefault: boolean;
}

const POLICY_COLUMNS = `p.id, p.name, p.steps, p.repeat, p.unack_timeout_seconds AS "unackTimeoutSeconds", p.is_default AS "isDefault"`;

export interface PolicyInfo extends PolicyRow {
  createdAt: Date;
  updatedAt: Date;
}

export interface PolicyWrite {
  id: string;
  name: string;
  steps: PolicyStep[];
  repeat: number;
  unackTimeoutSeconds: number | null;
  isDefault: boolean;
}

const INFO = `${POLICY_COLUMNS}, p.created_at AS "createdAt", p.updated_at AS "updatedAt"`;

export function policiesRepo(db: Db) {
  return {
    /** Returns undefined when the name is taken. */
    async insert(p: PolicyWrite): Promise<PolicyInfo | undefined> {
      const res = await db.query<PolicyInfo>(
        `INSERT INTO escalation_policies AS p (id, name, steps, repeat, unack_timeout_seconds, is_default) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO NOTHING RETURNING ${INFO}`,
        [p.id, p.name, JSON.stringify(p.steps), p.repeat, p.unackTimeoutSeconds, p.isDefault],
      );
      return res.rows[0];
    },

    async replace(p: PolicyWrite): Promise<PolicyInfo | undefined> {
      const res = await db.query<PolicyInfo>(
        `UPDATE escalation_policies AS p SET name = $2, steps = $3, repeat = $4, unack_timeout_seconds = $5, is_default = $6, updated_at = now()
         WHERE id = $1 RETURNING ${INFO}`,
        [p.id, p.name, JSON.stringify(p.steps), p.repeat, p.unackTimeoutSeconds, p.isDefault],
      );
      return res.rows[0];
    },

    /** At most one default: making one the default takes it from the others. */
    async clearDefault(exceptId: string): Promise<void> {
      await db.query(`UPDATE escalation_policies SET is_default = false, updated_at = now() WHERE is_default AND id <> $1`, [exceptId]);
    },

    async list(): Promise<PolicyInfo[]> {
      return (await db.query<PolicyInfo>(`SELECT ${INFO} FROM escalation_policies p ORDER BY p.name`)).rows;
    },

    async find(idOrName: string): Promise<PolicyInfo | undefined> {
      return (await db.query<PolicyInfo>(`SELECT ${INFO} FROM escalation_policies p WHERE p.id::text = $1 OR p.name = $1`, [idOrName]))
        .rows[0];
    },

    async byName(name: string): Promise<PolicyInfo | undefined> {
      return (await db.query<PolicyInfo>(`SELECT ${INFO} FROM escalation_policies p WHERE p.name = $1`, [name])).rows[0];
    },

    /** The rule's policy, else the default policy, else none. */
    async policyOf(alertId: string): Promise<PolicyRow | undefined> {
      const res = await db.query<PolicyRow>(
        `SELECT ${POLICY_COLUMNS} FROM alerts a LEFT JOIN alert_rules r ON r.id = a.rule_id
         JOIN escalation_policies p ON p.id = COALESCE(r.policy_id, (SELECT id FROM escalation_policies WHERE is_default))
         WHERE a.id = $1`,
        [alertId],
      );
      return res.rows[0];
    },

    /** Names of the policies whose steps name the channel. */
    async usingChannel(channelName: string): Promise<string[]> {
      const res = await db.query<{ name: string }>(
        `SELECT name FROM escalation_policies WHERE EXISTS (
           SELECT 1 FROM jsonb_array_elements(steps) s WHERE s->'channels' ? $1) ORDER BY name`,
        [channelName],
      );
      return res.rows.map((r) => r.name);
    },

    async delete(id: string): Promise<void> {
      await db.query(`DELETE FROM escalation_policies WHERE id = $1`, [id]);
    },
  };
}

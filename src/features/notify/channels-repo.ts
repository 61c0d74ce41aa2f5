import type { Pool, PoolClient } from '../../platform/db/pool.js';
import type { ChannelType, PublicConfig } from './channel-config.js';

/** What may be shown about a channel: never its sealed secrets. */
export interface ChannelInfo {
  id: string;
  name: string;
  type: ChannelType;
  config: PublicConfig;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastError: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

type Db = Pool | PoolClient;

const INFO = `id, name, type, config, last_success_at AS "lastSuccessAt", last_failure_at AS "lastFailureAt",
  last_error AS "lastError", created_by AS "createdBy", created_at AS "createdAt", updated_at AS "updatedAt"`;
const SEALED = `id, name, type, config, sealed_secrets AS "sealedSecrets"`;

/** A channel as stored, secrets still sealed (for senders only). */
export interface ChannelRow {
  id: string;
  name: string;
  type: ChannelType;
  config: PublicConfig;
  sealedSecrets: string | null;
}

export function channelsRepo(db: Db) {
  return {
    /** Returns undefined when the name is taken. */
    async insert(c: ChannelRow & { createdBy: string }): Promise<ChannelInfo | undefined> {
      const res = await db.query<ChannelInfo>(
        `INSERT INTO notification_channels (id, name, type, config, sealed_secrets, created_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO NOTHING RETURNING ${INFO}`,
        [c.id, c.name, c.type, JSON.stringify(c.config), c.sealedSecrets, c.createdBy],
      );
      return res.rows[0];
    },

    async replace(c: ChannelRow): Promise<ChannelInfo | undefined> {
      const res = await db.query<ChannelInfo>(
        `UPDATE notification_channels SET name = $2, type = $3, config = $4, sealed_secrets = $5, updated_at = now()
         WHERE id = $1 RETURNING ${INFO}`,
        [c.id, c.name, c.type, JSON.stringify(c.config), c.sealedSecrets],
      );
      return res.rows[0];
    },

    async list(): Promise<ChannelInfo[]> {
      return (await db.query<ChannelInfo>(`SELECT ${INFO} FROM notification_channels ORDER BY name`)).rows;
    },

    async find(idOrName: string): Promise<ChannelInfo | undefined> {
      return (await db.query<ChannelInfo>(`SELECT ${INFO} FROM notification_channels WHERE id::text = $1 OR name = $1`, [idOrName]))
        .rows[0];
    },

    /** One channel by id or name, secrets still sealed. */
    async findSealed(idOrName: string): Promise<ChannelRow | undefined> {
      return (await db.query<ChannelRow>(`SELECT ${SEALED} FROM notification_channels WHERE id::text = $1 OR name = $1`, [idOrName]))
        .rows[0];
    },

    async names(names: string[]): Promise<Set<string>> {
      const res = await db.query<{ name: string }>(`SELECT name FROM notification_channels WHERE name = ANY($1)`, [names]);
      return new Set(res.rows.map((r) => r.name));
    },

    /** Channels by name, in the order asked (names without a channel are left out). */
    async sealedByNames(names: string[]): Promise<ChannelRow[]> {
      const res = await db.query<ChannelRow>(`SELECT ${SEALED} FROM notification_channels WHERE name = ANY($1)`, [names]);
      return names.flatMap((n) => res.rows.filter((r) => r.name === n));
    },

    async sealedByIds(ids: string[]): Promise<ChannelRow[]> {
      return (await db.query<ChannelRow>(`SELECT ${SEALED} FROM notification_channels WHERE id = ANY($1) ORDER BY name`, [ids])).rows;
    },

    async delete(id: string): Promise<void> {
      await db.query(`DELETE FROM notification_channels WHERE id = $1`, [id]);
    },

    async recordOutcome(id: string, error: string | undefined): Promise<void> {
      await db.query(
        error === undefined
          ? `UPDATE notification_channels SET last_success_at = now(), last_error = NULL WHERE id = $1`
          : `UPDATE notification_channels SET last_failure_at = now(), last_error = $2 WHERE id = $1`,
        error === undefined ? [id] : [id, error],
      );
    },
  };
}

import type { Pool, PoolClient } from '../pool.js';

export const HOST_STATUSES = ['PENDING', 'BOOTSTRAPPING', 'READY', 'FAILED', 'UNREACHABLE'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

export interface Host {
  id: string;
  clusterId: string;
  clusterName: string;
  hostname: string;
  address: string;
  port: number;
  credentialId: string;
  credentialName: string;
  installRoot: string;
  labels: Record<string, string>;
  hostKeyFingerprint: string | null;
  facts: Record<string, unknown> | null;
  status: HostStatus;
  statusReason: string | null;
  maintenance: boolean;
  lastSeenAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

type Db = Pool | PoolClient;

const SELECT = `SELECT h.id, h.cluster_id AS "clusterId", c.name AS "clusterName", h.hostname, h.address, h.port,
  h.credential_id AS "credentialId", cr.name AS "credentialName", h.install_root AS "installRoot", h.labels,
  h.host_key_fingerprint AS "hostKeyFingerprint", h.facts, h.status, h.status_reason AS "statusReason",
  h.maintenance, h.last_seen_at AS "lastSeenAt", h.created_at AS "createdAt", h.updated_at AS "updatedAt"
  FROM hosts h JOIN clusters c ON c.id = h.cluster_id JOIN credentials cr ON cr.id = h.credential_id`;

export interface NewHost {
  id: string;
  clusterId: string;
  hostname: string;
  address: string;
  port: number;
  credentialId: string;
  installRoot: string;
  labels: Record<string, string>;
}

export function hostsRepo(db: Db) {
  return {
    /** Inserts all hosts or none; returns the hostnames that already exist in the cluster. */
    async insertMany(hosts: NewHost[]): Promise<string[]> {
      const clashes = await db.query<{ hostname: string }>(
        `SELECT hostname FROM hosts WHERE cluster_id = $1 AND hostname = ANY($2::text[]) ORDER BY hostname`,
        [hosts[0]?.clusterId, hosts.map((h) => h.hostname)],
      );
      if (clashes.rows.length > 0) return clashes.rows.map((r) => r.hostname);
      for (const h of hosts) {
        await db.query(
          `INSERT INTO hosts (id, cluster_id, hostname, address, port, credential_id, install_root, labels, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING')`,
          [h.id, h.clusterId, h.hostname, h.address, h.port, h.credentialId, h.installRoot, h.labels],
        );
      }
      return [];
    },

    async list(clusterId: string): Promise<Host[]> {
      return (await db.query<Host>(`${SELECT} WHERE h.cluster_id = $1 ORDER BY h.hostname`, [clusterId])).rows;
    },

    /** By id, or by hostname within the cluster: names are usable wherever an id is. */
    async find(clusterId: string, idOrName: string): Promise<Host | undefined> {
      return (
        await db.query<Host>(`${SELECT} WHERE h.cluster_id = $1 AND (h.id::text = $2 OR h.hostname = $2)`, [clusterId, idOrName])
      ).rows[0];
    },

    async get(id: string): Promise<Host | undefined> {
      return (await db.query<Host>(`${SELECT} WHERE h.id = $1`, [id])).rows[0];
    },

    /** Hosts whose reachability is worth checking: bootstrapped and not in maintenance. */
    async monitored(): Promise<Host[]> {
      return (await db.query<Host>(`${SELECT} WHERE h.status IN ('READY', 'UNREACHABLE') AND NOT h.maintenance ORDER BY h.id`)).rows;
    },

    async setStatus(id: string, status: HostStatus, reason: string | null): Promise<void> {
      await db.query(
        `UPDATE hosts SET status = $2, status_reason = $3, updated_at = now(),
           last_seen_at = CASE WHEN $2 = 'READY' THEN now() ELSE last_seen_at END
         WHERE id = $1`,
        [id, status, reason],
      );
    },

    /** Pins the host key seen on first contact; an existing pin is never overwritten here. */
    async pinHostKey(id: string, fingerprint: string): Promise<string> {
      const res = await db.query<{ fp: string }>(
        `UPDATE hosts SET host_key_fingerprint = coalesce(host_key_fingerprint, $2), updated_at = now()
         WHERE id = $1 RETURNING host_key_fingerprint AS fp`,
        [id, fingerprint],
      );
      return res.rows[0]!.fp;
    },

    async clearHostKey(id: string): Promise<void> {
      await db.query(`UPDATE hosts SET host_key_fingerprint = NULL, updated_at = now() WHERE id = $1`, [id]);
    },

    async setFacts(id: string, facts: unknown): Promise<void> {
      await db.query(`UPDATE hosts SET facts = $2, updated_at = now() WHERE id = $1`, [id, JSON.stringify(facts)]);
    },

    async update(id: string, patch: { labels?: Record<string, string>; maintenance?: boolean }): Promise<void> {
      await db.query(
        `UPDATE hosts SET labels = coalesce($2, labels), maintenance = coalesce($3, maintenance), updated_at = now() WHERE id = $1`,
        [id, patch.labels ? JSON.stringify(patch.labels) : null, patch.maintenance ?? null],
      );
    },

    async instancesOn(id: string): Promise<Array<{ service: string; role: string }>> {
      return (await db.query(`SELECT service, role FROM role_instances WHERE host_id = $1 ORDER BY service, role`, [id])).rows;
    },

    async remove(id: string): Promise<void> {
      await db.query(`DELETE FROM hosts WHERE id = $1`, [id]);
    },
  };
}

import type { Pool, PoolClient } from '../../platform/db/pool.js';

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
  /** Maintenance with an end: in effect while this is in the future. */
  maintenanceUntil: Date | null;
  lastSeenAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The Java version bootstrap found (null: none on the PATH); undefined before facts are gathered. */
export function javaVersionOf(host: Pick<Host, 'facts'>): string | null | undefined {
  if (!host.facts) return undefined;
  return (host.facts as { javaVersion?: string | null }).javaVersion ?? null;
}

type Db = Pool | PoolClient;

const SELECT = `SELECT h.id, h.cluster_id AS "clusterId", c.name AS "clusterName", h.hostname, h.address, h.port,
  h.credential_id AS "credentialId", cr.name AS "credentialName", h.install_root AS "installRoot", h.labels,
  h.host_key_fingerprint AS "hostKeyFingerprint", h.facts, h.status, h.status_reason AS "statusReason",
  h.maintenance, h.maintenance_until AS "maintenanceUntil", h.last_seen_at AS "lastSeenAt", h.created_at AS "createdAt", h.updated_at AS "updatedAt"
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

/** Rows per INSERT statement: well under Postgres' limit on bind parameters per statement. */
const INSERT_BATCH = 1000;

export function hostsRepo(db: Db) {
  return {
    /**
     * Inserts the hosts in batches (one statement per batch) and links them to the operation
     * that bootstraps them; returns the hostnames that already exist in the cluster. Run it
     * in a transaction: all or none. A concurrent insert of the same name still fails on the
     * unique index, which the API answers with 409.
     */
    async insertMany(hosts: NewHost[], operationId: string): Promise<string[]> {
      const clashes = await db.query<{ hostname: string }>(
        `SELECT hostname FROM hosts WHERE cluster_id = $1 AND hostname = ANY($2::text[]) ORDER BY hostname`,
        [hosts[0]?.clusterId, hosts.map((h) => h.hostname)],
      );
      if (clashes.rows.length > 0) return clashes.rows.map((r) => r.hostname);
      for (let i = 0; i < hosts.length; i += INSERT_BATCH) {
        const batch = hosts.slice(i, i + INSERT_BATCH);
        const column = <K extends keyof NewHost>(key: K) => batch.map((h) => h[key]);
        await db.query(
          `INSERT INTO hosts (id, cluster_id, hostname, address, port, credential_id, install_root, labels, status)
           SELECT id, cluster_id, hostname, address, port, credential_id, install_root, labels, 'PENDING'
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::uuid[], $7::text[], $8::jsonb[])
             AS t(id, cluster_id, hostname, address, port, credential_id, install_root, labels)`,
          [
            column('id'),
            column('clusterId'),
            column('hostname'),
            column('address'),
            column('port'),
            column('credentialId'),
            column('installRoot'),
            batch.map((h) => JSON.stringify(h.labels)),
          ],
        );
        await db.query(`INSERT INTO operation_hosts (operation_id, host_id) SELECT $1, unnest($2::uuid[])`, [operationId, column('id')]);
      }
      return [];
    },

    /** The hosts an operation works on, in a stable order. */
    async idsOfOperation(operationId: string): Promise<string[]> {
      const res = await db.query<{ id: string }>(
        `SELECT oh.host_id AS id FROM operation_hosts oh JOIN hosts h ON h.id = oh.host_id
         WHERE oh.operation_id = $1 ORDER BY h.hostname`,
        [operationId],
      );
      return res.rows.map((r) => r.id);
    },

    /** The hosts an operation bootstraps, with their names, by name. */
    async ofOperation(operationId: string): Promise<Array<{ id: string; hostname: string }>> {
      const res = await db.query<{ id: string; hostname: string }>(
        `SELECT h.id, h.hostname FROM operation_hosts oh JOIN hosts h ON h.id = oh.host_id
         WHERE oh.operation_id = $1 ORDER BY h.hostname`,
        [operationId],
      );
      return res.rows;
    },

    /**
     * Claims a host for a new bootstrap by the given operation, unless one is under way: one
     * statement, so of two concurrent claims only one succeeds. Forgets the pinned key when
     * asked (re-pinning after a reinstall).
     */
    async claimForBootstrap(id: string, operationId: string, opts: { forgetHostKey: boolean }): Promise<boolean> {
      const res = await db.query(
        `UPDATE hosts SET status = 'BOOTSTRAPPING', status_reason = NULL, updated_at = now(),
           host_key_fingerprint = CASE WHEN $2 THEN NULL ELSE host_key_fingerprint END
         WHERE id = $1 AND status <> 'BOOTSTRAPPING'`,
        [id, opts.forgetHostKey],
      );
      if (res.rowCount !== 1) return false;
      await db.query(`INSERT INTO operation_hosts (operation_id, host_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [operationId, id]);
      return true;
    },

    /** Hosts of an operation that never ran (refused or cancelled before it started) become FAILED. */
    async failUnfinished(operationId: string, reason: string): Promise<void> {
      await db.query(
        `UPDATE hosts SET status = 'FAILED', status_reason = $2, updated_at = now()
         WHERE id IN (SELECT host_id FROM operation_hosts WHERE operation_id = $1) AND status IN ('PENDING', 'BOOTSTRAPPING')`,
        [operationId, reason],
      );
    },

    /** A page of a cluster's hosts by hostname, after the hostname `after`; fetches `limit + 1` rows. */
    /** The cluster's hosts among `hostnames` (a placement's), in name order. */
    async named(clusterId: string, hostnames: string[]): Promise<Host[]> {
      return (
        await db.query<Host>(`${SELECT} WHERE h.cluster_id = $1 AND h.hostname = ANY($2::text[]) ORDER BY h.hostname`, [
          clusterId,
          hostnames,
        ])
      ).rows;
    },

    async list(clusterId: string, page: { limit: number; after?: string | undefined }): Promise<Host[]> {
      return (
        await db.query<Host>(`${SELECT} WHERE h.cluster_id = $1 AND ($2::text IS NULL OR h.hostname > $2) ORDER BY h.hostname LIMIT $3`, [
          clusterId,
          page.after ?? null,
          page.limit + 1,
        ])
      ).rows;
    },

    /**
     * By id, or by hostname within the cluster: names are usable wherever an id is. `lock`
     * takes the row lock until the transaction ends, so a check-then-act cannot race.
     */
    async find(clusterId: string, idOrName: string, opts: { lock?: boolean } = {}): Promise<Host | undefined> {
      return (
        await db.query<Host>(
          `${SELECT} WHERE h.cluster_id = $1 AND (h.id::text = $2 OR h.hostname = $2)${opts.lock ? ' FOR UPDATE OF h' : ''}`,
          [clusterId, idOrName],
        )
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

    async setFacts(id: string, facts: unknown): Promise<void> {
      await db.query(`UPDATE hosts SET facts = $2, updated_at = now() WHERE id = $1`, [id, JSON.stringify(facts)]);
    },

    /**
     * Changes a host in one statement; returns false when it no longer exists. Maintenance is
     * either open-ended (`maintenance: true`) or has an end (`maintenanceUntil`); setting one
     * form clears the other, and `maintenance: false` ends both.
     */
    async update(
      id: string,
      patch: { labels?: Record<string, string> | undefined; maintenance?: boolean | { until: Date } | undefined },
    ): Promise<boolean> {
      const m = patch.maintenance;
      const res = await db.query(
        `UPDATE hosts SET labels = coalesce($2, labels), maintenance = coalesce($3, maintenance),
           maintenance_until = CASE WHEN $4 THEN $5::timestamptz ELSE maintenance_until END, updated_at = now() WHERE id = $1`,
        [
          id,
          patch.labels ? JSON.stringify(patch.labels) : null,
          m === undefined ? null : m === true,
          m !== undefined,
          typeof m === 'object' ? m.until : null,
        ],
      );
      return res.rowCount === 1;
    },

    async instancesOn(id: string): Promise<Array<{ service: string; role: string }>> {
      return (await db.query(`SELECT service, role FROM role_instances WHERE host_id = $1 ORDER BY service, role`, [id])).rows;
    },

    async remove(id: string): Promise<void> {
      await db.query(`DELETE FROM hosts WHERE id = $1`, [id]);
    },
  };
}

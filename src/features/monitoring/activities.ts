/**
 * Activities of a cluster's poll: status checks of role instances over SSH and scrapes of
 * their Prometheus endpoints, a chunk of instances per activity. Results go to Postgres
 * (observed state, each target's scrape whole, the series alert rules read as rows); the
 * workflow only sees counts.
 */
import { hostsRepo, type Host } from '../hosts/repo.js';
import { clustersRepo } from '../clusters/repo.js';
import { type ServiceDefinition, type TemplateContext } from '../defs/index.js';
import { parseExposition, scanExposition, type Sample } from './exposition.js';
import { pollsRepo } from './polls-repo.js';
import { emptyBatch, labelsJson, metricsRepo, OWN_SERIES, type ScrapedTarget } from './repo.js';
import { createScrapeClient } from './scrape-client.js';
import { SAVE_BYTES, scrapesRepo, type Scrape } from './scrapes-repo.js';
import { rulesInputs } from '../alerts/evaluator.js';
import { servicesRepo, type InstanceRow, type ObservedState } from '../services/repo.js';
import { mapBounded } from '../../platform/concurrency.js';
import { POLL_CHUNK_SIZE, type PollChunkInput, type PollCounts } from './types.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';
import { hostActivity } from '../../platform/temporal/host-activity.js';
import { targetOf } from '../hosts/activities.js';
import { instanceContext, sceneOf } from '../services/render.js';
import { effectiveValues } from '../config/groups.js';
import { lifecycleCommand } from '../services/activities/on-host.js';

/** Targets of a chunk checked and scraped at once. */
const CONCURRENCY = 32;
/** Series rows buffered before they are written (one statement per batch). */
const FLUSH_AT = 20_000;

interface Target {
  inst: InstanceRow;
  host: Host;
  def: ServiceDefinition;
  role: ServiceDefinition['roles'][number];
  ctx: TemplateContext;
}

const noop = () => undefined;

export function createMonitoringActivities({ pool, ssh, catalog, logger, config }: ActivityDeps) {
  const services = servicesRepo(pool);
  const hosts = hostsRepo(pool);
  const metrics = metricsRepo(pool);
  const scrapes = scrapesRepo(pool);
  const http = createScrapeClient();
  const log = logger.child({ component: 'poll' });

  /** Instances a poll looks at: installed ones of services not being removed, in id order. */
  async function instanceIds(
    clusterId: string,
    page?: { offset: number; limit: number },
  ): Promise<Array<{ id: string; serviceId: string }>> {
    const rows = await pool.query<{ id: string; serviceId: string }>(
      `SELECT i.id, i.service_id AS "serviceId" FROM role_instances i JOIN services s ON s.id = i.service_id
       WHERE i.cluster_id = $1 AND s.status <> 'REMOVING' AND i.config_version IS NOT NULL
       ORDER BY i.id ${page ? 'OFFSET $2 LIMIT $3' : ''}`,
      page ? [clusterId, page.offset, page.limit] : [clusterId],
    );
    return rows.rows;
  }

  /** The chunk's instances with their rendered contexts, loading each service and host once. */
  async function targetsOf(ids: Array<{ id: string; serviceId: string }>): Promise<Target[]> {
    const wanted = new Set(ids.map((i) => i.id));
    const serviceIds = new Set(ids.map((i) => i.serviceId));
    const hostCache = new Map<string, Promise<Host | undefined>>();
    const hostOf = (id: string) => hostCache.get(id) ?? (hostCache.set(id, hosts.get(id)), hostCache.get(id)!);
    const targets: Target[] = [];
    for (const serviceId of serviceIds) {
      const svc = await services.get(serviceId);
      if (!svc) continue;
      let def: ServiceDefinition;
      try {
        def = catalog.get(svc.name);
      } catch (err) {
        log.warn({ err, service: svc.name }, 'service definition missing from the catalog; its instances are not polled');
        continue;
      }
      const scene = await sceneOf(pool, svc, def);
      const config = await services.configSet(svc.id, svc.configVersion);
      for (const inst of scene.instances.filter((i) => wanted.has(i.id))) {
        const host = await hostOf(inst.hostId);
        const role = def.roles.find((r) => r.name === inst.role);
        if (!host || !role) continue;
        const ctx = instanceContext(scene, inst, host.installRoot, effectiveValues(config, inst));
        targets.push({ inst, host, def, role, ctx });
      }
    }
    return targets;
  }

  /** The status command's verdict: RUNNING, STOPPED, or UNKNOWN when it could not run. */
  async function statusOf(t: Target, signal: AbortSignal): Promise<{ state: ObservedState; reason: string | null } | undefined> {
    const status = lifecycleCommand(t.def, t.role, 'status', t.ctx);
    if (!status) return undefined;
    if (t.host.status !== 'READY') return { state: 'UNKNOWN', reason: `host ${t.host.hostname} is ${t.host.status}` };
    try {
      const conn = await ssh.connect(targetOf(t.host));
      const result = await conn.exec(status.command, { timeoutMs: status.timeoutMs, onStdout: noop, onStderr: noop, signal });
      return result.exitCode === 0
        ? { state: 'RUNNING', reason: null }
        : { state: 'STOPPED', reason: `status command exited with ${result.exitCode}: ${result.stderr.trim().slice(-200)}` };
    } catch (err) {
      if (signal.aborted) throw err;
      return { state: 'UNKNOWN', reason: `status command could not run: ${(err as Error).message}` };
    }
  }

  /**
   * The instance's payload, how many samples it holds and the samples of the `wanted` metrics
   * (parsed: they must parse, or the scrape fails), or why the scrape failed. The rest of the
   * payload is parsed when the API shows it.
   */
  async function scrape(
    t: Target,
    wanted: readonly string[],
    signal: AbortSignal,
  ): Promise<{ body: string; count: number; samples: Sample[] } | { error: string } | undefined> {
    const m = t.role.metrics;
    if (!m) return undefined;
    const port = t.inst.ports[m.port];
    if (port === undefined) return { error: `no port '${m.port}' on the instance` };
    const address = t.inst.address.includes(':') ? `[${t.inst.address}]` : t.inst.address;
    const url = `${m.scheme}://${address}:${port}${m.path}`;
    try {
      const body = await http.get(url, { timeoutMs: config.monitoring.scrapeTimeoutMs, signal });
      // Postgres text cannot hold a NUL: such a payload could not be stored.
      if (body.includes('\0')) return { error: `${url}: the payload holds a NUL byte` };
      const { samples: count, lines } = scanExposition(body, wanted);
      return { body, count, samples: parseExposition(lines) };
    } catch (err) {
      if (signal.aborted) throw err;
      return { error: `${url}: ${(err as Error).message}` };
    }
  }

  return {
    /** Prunes the cluster's history and tells the workflow how many chunks to poll (0 when the cluster is gone). */
    async planPoll(clusterId: string): Promise<{ chunks: number }> {
      const cluster = await clustersRepo(pool).find(clusterId);
      if (!cluster || cluster.status !== 'ACTIVE') return { chunks: 0 };
      await pollsRepo(pool).pollStarted(clusterId);
      // The history covers the retention, and the longest window a rule of the cluster reads.
      const { longestWindowSeconds } = await rulesInputs(pool, log, clusterId);
      await metrics.prune(clusterId, Math.max(config.monitoring.retentionMinutes * 60, longestWindowSeconds));
      return { chunks: Math.ceil((await instanceIds(clusterId)).length / POLL_CHUNK_SIZE) };
    },

    /** Checks and scrapes one chunk of the cluster's instances; writes observed states and samples. */
    async pollChunk(input: PollChunkInput): Promise<PollCounts> {
      return hostActivity(async (work) => {
        const ids = await instanceIds(input.clusterId, { offset: input.chunk * POLL_CHUNK_SIZE, limit: POLL_CHUNK_SIZE });
        const targets = await targetsOf(ids);
        const counts: PollCounts = { targets: targets.length, up: 0, down: 0, scrapes: 0, scrapeFailures: 0, samples: 0 };
        // Sophon's own series (`up`, as in Prometheus) are never taken from a scrape.
        const watched = [...(await rulesInputs(pool, log, input.clusterId)).metrics].filter((m) => !OWN_SERIES.includes(m));
        const observed: Array<{ id: string; state: ObservedState; reason: string | null; at: Date }> = [];
        const scraped: ScrapedTarget[] = [];
        let buffer = emptyBatch();
        let bodies: Scrape[] = [];
        let bodyBytes = 0;
        // One write at a time per chunk: lanes that fill a buffer meanwhile wait for it, so a
        // poll holds a few pooled connections, not one per lane.
        let writing = Promise.resolve();
        const flush = () => {
          const batch = buffer;
          const batchBodies = bodies;
          buffer = emptyBatch();
          bodies = [];
          bodyBytes = 0;
          writing = writing.then(async () => {
            await scrapes.save(input.clusterId, batchBodies);
            await metrics.write(input.clusterId, batch);
          });
          return writing;
        };
        let done = 0;
        await mapBounded(targets, CONCURRENCY, async (t) => {
          const at = new Date();
          const [status, result] = await Promise.all([statusOf(t, work.signal), scrape(t, watched, work.signal)]);
          const where = { host: t.inst.hostname, service: t.def.name, role: t.inst.role, at };
          if (status) observed.push({ id: t.inst.id, ...status, at });
          const target = buffer.targets.push(where) - 1;
          const add = (metric: string, labels: string, value: number) => {
            buffer.target.push(target);
            buffer.metric.push(metric);
            buffer.labels.push(labels);
            return buffer.value.push(value) - 1;
          };
          if (result) {
            counts.scrapes++;
            if ('error' in result) {
              counts.scrapeFailures++;
              log.debug({ ...where, error: result.error }, 'scrape failed');
            } else {
              bodies.push({ ...where, body: result.body });
              bodyBytes += result.body.length;
              // Rows for the series rules read, one per series: a payload that repeats a series
              // keeps its last value. No await in this loop, so the buffer cannot be swapped under it.
              counts.samples += result.count;
              const rows = new Map<string, number>();
              for (const s of result.samples) {
                const labels = labelsJson(s.labels);
                const key = `${s.metric}${labels}`;
                const row = rows.get(key);
                if (row === undefined) rows.set(key, add(s.metric, labels, s.value));
                else buffer.value[row] = s.value;
              }
            }
          }
          // `up`: the status check passes, or (without one) the scrape succeeds.
          const up = status ? status.state === 'RUNNING' : result ? !('error' in result) : undefined;
          if (up !== undefined) {
            add('up', labelsJson({ service: t.def.name, role: t.inst.role, host: t.inst.hostname }), up ? 1 : 0);
            counts[up ? 'up' : 'down']++;
          }
          scraped.push(where);
          work.progress({ done: ++done, of: targets.length });
          if (buffer.metric.length >= FLUSH_AT || bodyBytes >= SAVE_BYTES) await flush();
        });
        await flush();
        await services.setObservedMany(observed);
        await metrics.dropStale(input.clusterId, scraped);
        return counts;
      });
    },
  };
}

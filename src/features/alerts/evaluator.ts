/**
 * One evaluation of a cluster's alert rules (its own and the global ones) over the samples
 * its last poll stored: opens, advances and resolves alerts, records every change, and says
 * which alerts the escalation chain must now start or tell about their resolution.
 */
import { createHash } from 'node:crypto';
import { inTransaction, type Pool } from '../../platform/db/pool.js';
import type { Logger } from '../../platform/log.js';
import { clustersRepo } from '../clusters/repo.js';
import { alertsRepo, type OpenAlertRow } from './alerts-repo.js';
import { compare, evaluate, seriesKey, type HistorySeries, type LatestSample, type Result } from './evaluate.js';
import { inputsOf, parseExpr, type Expr } from './expr.js';
import { step, type OpenAlert } from './lifecycle.js';
import { rulesRepo, type RuleRow } from './rules-repo.js';

export interface EvaluationCounts {
  rules: number;
  pending: number;
  firing: number;
  opened: number;
  resolved: number;
  silenced: number;
}

export interface EvaluationOutcome {
  counts: EvaluationCounts;
  /** Alerts whose escalation chain must start (firing, not muted). */
  escalate: string[];
  /** Alerts that resolved after having fired: their chain sends the resolved notice. */
  resolved: string[];
}

const fingerprint = (ruleId: string, s: Result) =>
  createHash('sha256')
    .update(`${ruleId}\n${seriesKey(s)}`)
    .digest('hex');

type Mutes = Awaited<ReturnType<ReturnType<typeof alertsRepo>['mutes']>>;
const isMuted = (m: Mutes, labels: Record<string, string>, host: string | null, service: string | null) =>
  (host !== null && m.hosts.has(host)) ||
  (service !== null && m.services.has(service)) ||
  m.silences.some((matchers) => Object.entries(matchers).every(([k, v]) => labels[k] === v));

/** The alert's labels: the series', the rule's, and the ones every alert carries (these win). */
export function alertLabels(rule: RuleRow, cluster: string, s: Result): Record<string, string> {
  return {
    ...s.labels,
    ...rule.labels,
    alertname: rule.name,
    cluster,
    host: s.host,
    service: s.service,
    role: s.role,
    severity: rule.severity,
  };
}

/** The cluster's rules (its own and the global ones) with their parsed expressions; one that does not parse is skipped. */
async function rulesOf(pool: Pool, logger: Logger, clusterId: string): Promise<Array<{ rule: RuleRow; expr: Expr }>> {
  const rules: Array<{ rule: RuleRow; expr: Expr }> = [];
  for (const rule of await rulesRepo(pool).forCluster(clusterId)) {
    try {
      rules.push({ rule, expr: parseExpr(rule.expr) });
    } catch (err) {
      logger.warn({ rule: rule.name, ruleId: rule.id, err }, 'alert rule does not parse; skipped');
    }
  }
  return rules;
}

/** The metrics the expressions read now, the ones they read history of, and the longest window of that history (pure). */
function readsOf(exprs: Expr[]): { latest: Set<string>; history: Set<string>; longestWindowSeconds: number } {
  const reads = { latest: new Set<string>(), history: new Set<string>(), longestWindowSeconds: 0 };
  for (const e of exprs) {
    const { latest, ranges } = inputsOf(e);
    for (const m of latest) reads.latest.add(m);
    for (const r of ranges) {
      reads.history.add(r.metric);
      reads.longestWindowSeconds = Math.max(reads.longestWindowSeconds, r.windowSeconds);
    }
  }
  return reads;
}

/**
 * What the cluster's rules read: their metrics (a poll keeps these as rows) and the longest
 * window of history any of them looks back over (the history is kept at least that long).
 */
export async function rulesInputs(
  pool: Pool,
  logger: Logger,
  clusterId: string,
): Promise<{ metrics: Set<string>; longestWindowSeconds: number }> {
  const { latest, history, longestWindowSeconds } = readsOf((await rulesOf(pool, logger, clusterId)).map((r) => r.expr));
  return { metrics: new Set([...latest, ...history]), longestWindowSeconds };
}

async function loadSamples(pool: Pool, clusterId: string, exprs: Expr[]) {
  const { latest: latestNames, history: historyNames, longestWindowSeconds: window } = readsOf(exprs);
  // An instance stopped on purpose (desired state STOPPED) is not down: its `up` is left out.
  const latest = (
    await pool.query<LatestSample>(
      `SELECT m.host, m.service, m.role, m.metric, m.labels, m.value FROM metric_latest m
       WHERE m.cluster_id = $1 AND m.metric = ANY($2::text[])
         AND NOT (m.metric = 'up' AND EXISTS (
           SELECT 1 FROM role_instances i JOIN hosts h ON h.id = i.host_id
           WHERE i.cluster_id = m.cluster_id AND h.hostname = m.host AND i.service = m.service AND i.role = m.role AND i.desired_state = 'STOPPED'))`,
      [clusterId, [...latestNames]],
    )
  ).rows;
  // One row per series with its points in time order: Postgres does the grouping.
  const history = historyNames.size
    ? (
        await pool.query<Omit<HistorySeries, 'points'> & { ats: number[]; values: number[] }>(
          `SELECT host, service, role, metric, labels, array_agg(extract(epoch FROM at) * 1000 ORDER BY at)::float8[] AS ats,
             array_agg(value ORDER BY at) AS values
           FROM metric_samples WHERE cluster_id = $1 AND metric = ANY($2::text[]) AND at > now() - make_interval(secs => $3)
           GROUP BY host, service, role, metric, labels`,
          [clusterId, [...historyNames], window],
        )
      ).rows.map(({ ats, values, ...series }): HistorySeries => ({ ...series, points: ats.map((at, i) => ({ at, value: values[i]! })) }))
    : [];
  const group = <T extends { metric: string }>(rows: T[]) => {
    const by = new Map<string, T[]>();
    for (const r of rows) {
      const list = by.get(r.metric);
      if (list) list.push(r);
      else by.set(r.metric, [r]);
    }
    return by;
  };
  return { latest: group(latest), history: group(history) };
}

export async function evaluateCluster(
  pool: Pool,
  logger: Logger,
  input: { clusterId: string; resolveAfter: number; now?: Date },
): Promise<EvaluationOutcome> {
  const now = input.now ?? new Date();
  const counts: EvaluationCounts = { rules: 0, pending: 0, firing: 0, opened: 0, resolved: 0, silenced: 0 };
  const outcome: EvaluationOutcome = { counts, escalate: [], resolved: [] };
  const cluster = await clustersRepo(pool).find(input.clusterId);
  if (!cluster) return outcome;

  const rules = await rulesOf(pool, logger, input.clusterId);
  counts.rules = rules.length;
  const samples = await loadSamples(
    pool,
    input.clusterId,
    rules.map((r) => r.expr),
  );
  const source = {
    latest: (m: string) => samples.latest.get(m) ?? [],
    history: (m: string) => samples.history.get(m) ?? [],
    now: now.getTime(),
  };

  const alerts = alertsRepo(pool);
  const mutes = await alerts.mutes(input.clusterId);
  const open = new Map<string, OpenAlertRow>();
  for (const a of await alerts.openForCluster(input.clusterId)) open.set(a.fingerprint, a);

  await inTransaction(pool, async (client) => {
    const tx = alertsRepo(client);
    for (const { rule, expr } of rules) {
      const active = new Map<string, Result>();
      for (const r of evaluate(expr, source, rule)) if (compare(rule.op, r.value, rule.threshold)) active.set(fingerprint(rule.id, r), r);
      const targets = new Set([...active.keys(), ...[...open.values()].filter((a) => a.ruleId === rule.id).map((a) => a.fingerprint)]);

      for (const fp of targets) {
        const existing = open.get(fp);
        const hit = active.get(fp);
        const labels = hit ? alertLabels(rule, cluster.name, hit) : existing!.labels;
        const muted = isMuted(mutes, labels, hit?.host ?? existing?.host ?? null, hit?.service ?? existing?.service ?? null);
        const current: OpenAlert | undefined = existing && {
          state: existing.state,
          startsAt: existing.startsAt,
          clearEvaluations: existing.clearEvaluations,
          silenced: existing.silenced,
        };
        const s = step(current, { active: hit !== undefined, now, forSeconds: rule.forSeconds, resolveAfter: input.resolveAfter, muted });
        if (!s.next) continue;
        const fired = s.next.firedNow;
        let id = existing?.id;
        if (!existing) {
          id = await tx.insert({
            ruleId: rule.id,
            ruleName: rule.name,
            fingerprint: fp,
            state: s.next.state,
            severity: rule.severity,
            clusterId: input.clusterId,
            host: hit!.host,
            service: hit!.service,
            role: hit!.role,
            labels,
            value: hit!.value,
            summary: rule.summary,
            silenced: muted,
            startsAt: now,
            fired,
          });
          if (!id) continue;
          counts.opened++;
        } else if (!(await tx.applyEvaluation(existing.id, existing.state, { ...s.next, fired, value: hit?.value ?? null }))) {
          continue; // acknowledged or resolved by a person meanwhile: the next evaluation sees it
        }
        await tx.addEvents(id!, s.transitions, 'sophon');
        if (s.escalate) outcome.escalate.push(id!);
        if (s.notifyResolved) outcome.resolved.push(id!);
        if (s.next.state === 'resolved') counts.resolved++;
        else {
          if (s.next.state === 'pending') counts.pending++;
          else counts.firing++;
          if (s.next.silenced) counts.silenced++;
        }
      }
    }
  });
  return outcome;
}

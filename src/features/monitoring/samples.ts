/**
 * The latest sample of each series of a cluster, as the metrics API pages it: parsed from each
 * target's stored scrape when asked, beside the series Sophon makes itself. Ordered by target,
 * then metric and labels, so a page parses only the targets it shows. (The poll parses only the
 * series alert rules read: parsing every sample of every scrape would cost it more than all
 * the rest of a poll.)
 */
import type { Pool } from '../../platform/db/pool.js';
import { parseExposition, scanExposition } from './exposition.js';
import { labelsJson, OWN_SERIES } from './repo.js';
import { scrapesRepo, type TargetFilter, type TargetSamples } from './scrapes-repo.js';

export interface SeriesSample {
  host: string;
  service: string;
  role: string;
  metric: string;
  labels: Record<string, string>;
  value: number;
  at: Date;
}

/** The sort key of the samples list (and of its cursor). */
export type SampleKey = [host: string, service: string, role: string, metric: string, labels: Record<string, string>];

/**
 * Targets read per statement. Without a metric filter one target often fills a page and each
 * holds a whole scrape: the first statement reads a few, each next one twice as many, up to
 * the most. With a filter each target gives a sample or a few: every statement reads the most.
 */
const FIRST_READ = 4;
const MOST_READ = 128;

type Keyed = SeriesSample & { key: string };

/** Orders a target's series by metric, then labels. */
const sortKey = (metric: string, labels: Record<string, string>) => `${metric}\u0000${labelsJson(labels)}`;

/** A target whose stored scrape does not parse: its scraped samples are left out of the answer. */
export interface UnparsedTarget {
  host: string;
  service: string;
  role: string;
  error: string;
}

/**
 * A target's samples in series order (a series a payload repeats keeps its last value), and
 * why its scrape does not parse when it does not.
 */
export function samplesOfTarget(t: TargetSamples, metric: string | undefined): { samples: Keyed[]; error?: string } {
  const where = { host: t.host, service: t.service, role: t.role };
  const samples: Keyed[] = [];
  let error: string | undefined;
  if (t.body !== null && t.at !== null) {
    try {
      for (const s of parseExposition(metric === undefined ? t.body : scanExposition(t.body, [metric]).lines)) {
        if (OWN_SERIES.includes(s.metric)) continue;
        samples.push({ ...where, ...s, at: t.at, key: sortKey(s.metric, s.labels) });
      }
    } catch (err) {
      samples.length = 0;
      error = `its latest scrape does not parse: ${(err as Error).message}`;
    }
  }
  for (const o of t.own)
    samples.push({
      ...where,
      metric: o.metric,
      labels: o.labels,
      value: Number(o.value),
      at: new Date(o.at),
      key: sortKey(o.metric, o.labels),
    });
  samples.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // Sorting is stable: of equal keys, the last in the payload is last here.
  const unique = samples.filter((s, i) => samples[i + 1]?.key !== s.key);
  return error === undefined ? { samples: unique } : { samples: unique, error };
}

/**
 * Up to `limit + 1` samples after `after` (the extra one tells that more follow), and the
 * targets on the way whose scrape does not parse.
 */
export async function latestSamples(
  pool: Pool,
  clusterId: string,
  filter: TargetFilter,
  page: { limit: number; after?: SampleKey | undefined },
): Promise<{ samples: SeriesSample[]; unparsed: UnparsedTarget[] }> {
  const scrapes = scrapesRepo(pool);
  const wanted = page.limit + 1;
  const after = page.after;
  const afterKey = after && sortKey(after[3], after[4]);
  // Each sample and each unparsed target with the number of its target in the walk.
  const out: Array<{ sample: SeriesSample; walked: number }> = [];
  const unparsed: Array<{ target: UnparsedTarget; walked: number }> = [];
  const answer = () => {
    // A target reached only for the look-ahead sample is walked again by the next page: it is
    // named there, not twice.
    const shownUpTo = out.length === wanted ? out[page.limit - 1]!.walked : Infinity;
    return { samples: out.map((o) => o.sample), unparsed: unparsed.filter((u) => u.walked <= shownUpTo).map((u) => u.target) };
  };
  let from = after && { target: { host: after[0], service: after[1], role: after[2] }, inclusive: true };
  let walked = 0;
  for (let read = filter.metric === undefined ? FIRST_READ : MOST_READ; ; read = Math.min(2 * read, MOST_READ)) {
    const targets = await scrapes.page(clusterId, filter, from, read);
    for (const t of targets) {
      walked++;
      // The cursor's target was walked (and named, if unparsed) by the page before.
      const cursorTarget = after !== undefined && t.host === after[0] && t.service === after[1] && t.role === after[2];
      const { samples, error } = samplesOfTarget(t, filter.metric);
      if (error !== undefined && !cursorTarget)
        unparsed.push({ target: { host: t.host, service: t.service, role: t.role, error }, walked });
      for (const { key, ...sample } of samples) {
        if (cursorTarget && key <= afterKey!) continue;
        out.push({ sample, walked });
        if (out.length === wanted) return answer();
      }
    }
    const last = targets.at(-1);
    if (targets.length < read || !last) return answer();
    from = { target: last, inclusive: false };
  }
}

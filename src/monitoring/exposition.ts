/** Samples of a Prometheus text-format exposition, flat, as Prometheus itself stores them. */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface Sample {
  metric: string;
  labels: Record<string, string>;
  value: number;
}

const SPECIAL: Record<string, number> = { '+Inf': Infinity, '-Inf': -Infinity, NaN: NaN };

/**
 * Parses an exposition into one sample per series (histogram buckets as `<name>_bucket{le}`,
 * `_sum`, `_count`; summaries as `<name>{quantile}`, `_sum`, `_count`). Throws on a malformed
 * line: like Prometheus, a bad payload fails the whole scrape.
 *
 * The `# TYPE` lines are dropped before parsing: the library groups histograms and summaries by
 * type and, doing so, merges every labelled series of a family into one. Untyped, each line is
 * a sample of its own, which is what Sophon stores.
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const family of parsePrometheusTextFormat(text.replace(/^[ \t]*# TYPE .*$/gm, ''))) {
    for (const m of family.metrics) {
      if (m.value === undefined) continue;
      samples.push({ metric: family.name, labels: m.labels ?? {}, value: SPECIAL[m.value] ?? Number(m.value) });
    }
  }
  return samples;
}

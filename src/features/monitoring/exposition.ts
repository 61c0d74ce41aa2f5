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
 * line, so a caller can refuse the payload, as Prometheus fails such a scrape.
 *
 * The `# TYPE` lines are dropped before parsing: the library groups histograms and summaries by
 * type and, doing so, merges every labelled series of a family into one. Untyped, each line is
 * a sample of its own, which is what Sophon stores.
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  // The library drops a last line that does not end in a newline.
  const untyped = text.replace(/^[ \t]*# TYPE .*$/gm, '');
  for (const family of parsePrometheusTextFormat(untyped.endsWith('\n') ? untyped : `${untyped}\n`)) {
    for (const m of family.metrics) {
      if (m.value === undefined) continue;
      samples.push({ metric: family.name, labels: m.labels ?? {}, value: SPECIAL[m.value] ?? Number(m.value) });
    }
  }
  return samples;
}

/**
 * One pass over an exposition, without parsing it: how many sample lines it holds (lines that
 * are neither blank nor comments) and, as an exposition of their own, the lines of the given
 * metrics (by exact name).
 */
export function scanExposition(text: string, metrics: readonly string[]): { samples: number; lines: string } {
  let samples = 0;
  const kept: string[] = [];
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let i = start;
    while (i < end && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i < end && text[i] !== '#') {
      samples++;
      for (const metric of metrics) {
        const next = text[i + metric.length];
        if ((next === '{' || next === ' ' || next === '\t') && text.startsWith(metric, i)) {
          kept.push(text.slice(i, end));
          break;
        }
      }
    }
    start = end + 1;
  }
  return { samples, lines: kept.join('\n') };
}

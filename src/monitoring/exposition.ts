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

/** The lines of `text` that hold samples of `metric` (its exact name), as an exposition of their own. */
export function linesOf(text: string, metric: string): string {
  const kept: string[] = [];
  let start = 0;
  while (start < text.length) {
    const at = text.indexOf(metric, start);
    if (at < 0) break;
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const next = text[at + metric.length];
    if ((lineStart === at || text.slice(lineStart, at).trim() === '') && (next === '{' || next === ' ' || next === '\t')) kept.push(text.slice(at, end));
    start = end + 1;
  }
  return kept.join('\n');
}

/** How many sample lines `text` holds (lines that are neither blank nor comments), without parsing them. */
export function countSamples(text: string): number {
  let count = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let i = start;
    while (i < end && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i < end && text[i] !== '#') count++;
    start = end + 1;
  }
  return count;
}

/**
 * Alert rule evaluation over stored samples (the pure part the poll's evaluation runs once per
 * rule), no database: npx tsx bench/alerts-evaluate.ts [--hosts 10,100,1000] [--runs 5]
 * Each host carries node-exporter-like series: 20 filesystems (avail and size), a load gauge,
 * and 200 counters with 30 points of history each. Prints the median time per rule shape
 * beside the default poll interval (30 s) that it must fit in.
 */
import { parseArgs } from 'node:util';
import { evaluate, type HistorySeries, type LatestSample } from '../src/features/alerts/evaluate.js';
import { parseExpr } from '../src/features/alerts/expr.js';
import { median, parseSizes, positiveInt, printTable } from './lib/table.js';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '10,100,1000' }, runs: { type: 'string', default: '5' } } });
const sizes = parseSizes(values.hosts, 5000);
const runs = positiveInt(values.runs, '--runs');
const NOW = 10_000_000;

function samples(hosts: number) {
  const latest = new Map<string, LatestSample[]>();
  const history = new Map<string, HistorySeries[]>();
  const add = <T extends { metric: string }>(map: Map<string, T[]>, s: T) => {
    const list = map.get(s.metric);
    if (list) list.push(s);
    else map.set(s.metric, [s]);
  };
  for (let h = 0; h < hosts; h++) {
    const where = { host: `node${h}`, service: 'node-exporter', role: 'exporter' };
    add(latest, { ...where, metric: 'node_load5', labels: {}, value: h % 30 });
    for (let f = 0; f < 20; f++) {
      const labels = { device: `sd${f}`, mountpoint: `/data${f}`, fstype: 'ext4' };
      add(latest, { ...where, metric: 'node_filesystem_avail_bytes', labels, value: (f + 1) * 1e9 });
      add(latest, { ...where, metric: 'node_filesystem_size_bytes', labels, value: 40e9 });
    }
    for (let c = 0; c < 200; c++) {
      const points = Array.from({ length: 30 }, (_, p) => ({ at: NOW - (29 - p) * 10_000, value: p * c }));
      add(history, { ...where, metric: 'http_requests_total', labels: { code: String(200 + c) }, points });
    }
  }
  return { latest: (m: string) => latest.get(m) ?? [], history: (m: string) => history.get(m) ?? [], now: NOW };
}

const RULES = {
  selector: 'node_load5{host=~"node1.*"}',
  ratio: 'node_filesystem_avail_bytes / node_filesystem_size_bytes',
  rate: 'rate(http_requests_total{code!="200"}[5m])',
};

const rows: string[][] = [];
for (const n of sizes) {
  const src = samples(n);
  const cells = [String(n), String(n * 241)];
  for (const expr of Object.values(RULES)) {
    const parsed = parseExpr(expr);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      evaluate(parsed, src);
      times.push(performance.now() - t);
    }
    cells.push(median(times).toFixed(1));
  }
  rows.push(cells);
}
printTable(
  `Rule evaluation over stored samples, median ms of ${runs} run(s); the poll interval it must fit in: 30000 ms`,
  ['hosts', 'series', 'selector ms', 'a / b ms', 'rate(x[5m]) ms (30 points/series)'],
  rows,
);

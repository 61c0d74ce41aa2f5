import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from '../../../src/features/defs/index.js';
import { compare, evaluate, type HistorySeries, type LatestSample, type SampleSource } from '../../../src/features/alerts/evaluate.js';
import { ExprError, inputsOf, parseDuration, parseExpr } from '../../../src/features/alerts/expr.js';

const defsDir = join(dirname(fileURLToPath(import.meta.url)), '../../../service-defs');

void test('every default alert rule of the catalog parses', async () => {
  const catalog = await loadCatalog(defsDir);
  let rules = 0;
  for (const { name } of catalog.list()) {
    for (const rule of catalog.get(name).alerts) {
      assert.doesNotThrow(() => parseExpr(rule.expr), `${name}/${rule.name}: ${rule.expr}`);
      assert.ok(parseDuration(rule.for) !== undefined, `${name}/${rule.name}: for ${rule.for}`);
      rules++;
    }
  }
  assert.ok(rules >= 15, `${rules} rules in the catalog`);
});

void test('selectors, matchers, functions and a ratio parse into their parts', () => {
  assert.deepEqual(parseExpr('node_load1'), { kind: 'selector', metric: 'node_load1', matchers: [] });
  assert.deepEqual(parseExpr(` node_load1{host="z1", mountpoint!='/', device=~"sd.*",fstype!~"tmpfs|overlay",} `), {
    kind: 'selector',
    metric: 'node_load1',
    matchers: [
      { label: 'host', op: '=', value: 'z1' },
      { label: 'mountpoint', op: '!=', value: '/' },
      { label: 'device', op: '=~', value: 'sd.*' },
      { label: 'fstype', op: '!~', value: 'tmpfs|overlay' },
    ],
  });
  assert.deepEqual(parseExpr('rate(http_requests_total{code="500"}[5m])'), {
    kind: 'function',
    fn: 'rate',
    windowSeconds: 300,
    selector: { kind: 'selector', metric: 'http_requests_total', matchers: [{ label: 'code', op: '=', value: '500' }] },
  });
  const ratio = parseExpr('avg_over_time(a[30s]) / b');
  assert.equal(ratio.kind, 'divide');
  assert.deepEqual(inputsOf(ratio), { latest: ['b'], ranges: [{ metric: 'a', windowSeconds: 30 }] });
  assert.deepEqual(parseExpr('x{v="a\\"b"}'), { kind: 'selector', metric: 'x', matchers: [{ label: 'v', op: '=', value: 'a"b' }] });
});

void test('an expression that does not parse names the column and the reason', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['', 1, /expected an expression/],
    ['node_load1{host="z1"', 21, /expected ',' or '}'/],
    ['node_load1{host}', 16, /expected one of = != =~ !~/],
    ['node_load1{host=z1}', 17, /quoted string/],
    ['node_load1{host="z1}', 17, /unterminated string/],
    ['sum(node_load1)', 1, /unknown function 'sum'/],
    ['rate(x)', 7, /range such as \[5m\]/],
    ['rate(x[5d])', 8, /duration/],
    ['rate(x[0s])', 8, /above zero/],
    ['node_load1 > 3', 12, /unsupported operator '>'/],
    ['a * b', 3, /unsupported operator '\*'/],
    ['a / b / c', 7, /unsupported operator '\/'/],
    ['x{a=~"("}', 7, /invalid regular expression.*missing closing \)/],
    ['1node', 1, /expected a metric name/],
  ];
  for (const [text, column, reason] of cases) {
    try {
      parseExpr(text);
      assert.fail(`${text} parsed`);
    } catch (err) {
      assert.ok(err instanceof ExprError, `${text}: ${String(err)}`);
      assert.equal(err.column, column, `${text}: ${err.message}`);
      assert.match(err.reason, reason, text);
    }
  }
});

void test('what RE2 refuses is refused with the column of the refused part in the expression', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['x{a=~"b(?=c)"}', 8, /unsupported Perl syntax: `\(\?=`/],
    ['x{a!~"b(?!c)"}', 8, /unsupported Perl syntax: `\(\?!`/],
    ['x{a=~"(?<=a)b"}', 7, /`\(\?<=a\)b`/],
    ['x{a=~"(a)\\1"}', 10, /invalid escape sequence: `\\1`/],
    // The string's own escapes are counted in the column, and an escaped paren is no lookahead.
    ['x{a=~"\\(?=(?=y)"}', 11, /`\(\?=`/],
    ['x{b="(?=", a=~"a++"}', 17, /invalid nested repetition operator: `\+\+`/],
    ['x{a=~"ab\\\\"}', 9, /trailing backslash/],
  ];
  for (const [text, column, reason] of cases) {
    assert.throws(
      () => parseExpr(text),
      (err) =>
        err instanceof ExprError &&
        err.column === column &&
        reason.test(err.reason) &&
        /RE2 syntax.*no lookarounds or backreferences/.test(err.reason),
      text,
    );
  }
  // RE2 takes what a JavaScript RegExp refused: flags and Go's named groups.
  assert.doesNotThrow(() => parseExpr('x{a=~"(?i)Z1", b=~"(?P<n>sd)a"}'));
});

const at = (
  host: string,
  metric: string,
  value: number,
  labels: Record<string, string> = {},
  service = 'node-exporter',
  role = 'exporter',
): LatestSample => ({
  host,
  service,
  role,
  metric,
  labels,
  value,
});

function source(latest: LatestSample[], history: HistorySeries[] = [], now = 1_000_000): SampleSource {
  return { latest: (m) => latest.filter((s) => s.metric === m), history: (m) => history.filter((s) => s.metric === m), now };
}

void test('a selector keeps the matching series; host, service and role match like labels', () => {
  const src = source([
    at('z1', 'node_load1', 3),
    at('z2', 'node_load1', 9),
    at('z1', 'up', 0, { host: 'z1', service: 'redis', role: 'server' }, 'redis', 'server'),
  ]);
  assert.deepEqual(
    evaluate(parseExpr('node_load1{host="z1"}'), src).map((r) => [r.host, r.value]),
    [['z1', 3]],
  );
  assert.deepEqual(
    evaluate(parseExpr('node_load1{host=~"z.", host!="z1"}'), src).map((r) => r.host),
    ['z2'],
  );
  assert.deepEqual(
    evaluate(parseExpr('up{service="redis"}'), src).map((r) => r.host),
    ['z1'],
  );
  // A rule scoped to a service sees only the series scraped from it.
  assert.deepEqual(evaluate(parseExpr('up'), src, { service: 'zookeeper' }), []);
  assert.deepEqual(evaluate(parseExpr('node_load1'), src, { service: 'node-exporter', role: 'exporter' }).length, 2);
  // Anchored regular expressions, as in PromQL.
  assert.deepEqual(evaluate(parseExpr('node_load1{host=~"z"}'), src), []);
});

void test('regular expressions match the whole value in linear time, as in PromQL', () => {
  const long = 'a'.repeat(5000);
  const src = source([
    at('z1', 'm', 1, { v: `${long}b` }),
    at('z2', 'm', 2, { v: long }),
    at('z3', 'm', 3, { v: 'line1\nline2' }),
    at('z4', 'm', 4, { v: 'ab' }),
  ]);
  const hosts = (expr: string) => evaluate(parseExpr(expr), src).map((r) => r.host);
  // A backtracking engine takes time exponential in the a's before the 'b' here (about 1.8x per character).
  assert.deepEqual(hosts('m{v=~"(a+)+"}'), ['z2']);
  assert.deepEqual(hosts('m{v!~"(a+)+"}'), ['z1', 'z3', 'z4']);
  assert.deepEqual(hosts('m{v=~"^(?:(a+)+)$"}'), ['z2']);
  // Anchored at both ends: an alternative that matches a prefix does not match the value.
  assert.deepEqual(hosts('m{v=~"a|ab"}'), ['z4']);
  assert.deepEqual(hosts('m{v=~"b"}'), []);
  // `.` matches newlines, as in PromQL.
  assert.deepEqual(hosts('m{v=~"line1.line2"}'), ['z3']);
});

void test('a ratio pairs series with the same labels and target', () => {
  const fs = (mp: string) => ({ mountpoint: mp, device: 'sda' });
  const src = source([
    at('z1', 'avail', 10, fs('/')),
    at('z1', 'size', 100, fs('/')),
    at('z1', 'avail', 50, fs('/data')),
    at('z1', 'size', 100, fs('/data')),
    at('z2', 'avail', 1, fs('/')),
  ]);
  const out = evaluate(parseExpr('avail / size'), src);
  assert.deepEqual(
    out.map((r) => [r.host, r.labels.mountpoint, r.value]),
    [
      ['z1', '/', 0.1],
      ['z1', '/data', 0.5],
    ],
  );
});

void test('rate and avg_over_time read the window of history; rate counts counter resets', () => {
  const series = (host: string, points: Array<[secondsAgo: number, value: number]>): HistorySeries => ({
    host,
    service: 'node-exporter',
    role: 'exporter',
    metric: 'req_total',
    labels: {},
    points: points.map(([t, value]) => ({ at: 1_000_000 - t * 1000, value })),
  });
  const history = [
    series('z1', [
      [400, 1000],
      [60, 10],
      [40, 20],
      [20, 5],
      [0, 15],
    ]),
    series('z2', [[0, 7]]),
    series('z3', [[900, 7]]),
  ];
  const src = source([], history);
  // In the last 5 minutes: 10 → 20 (+10) → 5 (reset: +5) → 15 (+10) over 60 s.
  assert.deepEqual(
    evaluate(parseExpr('rate(req_total[5m])'), src).map((r) => [r.host, r.value]),
    [['z1', 25 / 60]],
  );
  assert.deepEqual(
    evaluate(parseExpr('avg_over_time(req_total[1m])'), src).map((r) => [r.host, r.value]),
    [
      ['z1', (20 + 5 + 15) / 3],
      ['z2', 7],
    ],
  );
});

void test('comparisons: every operator, NaN never true', () => {
  assert.ok(
    compare('>', 2, 1) && compare('>=', 1, 1) && compare('<', 0, 1) && compare('<=', 1, 1) && compare('==', 0, 0) && compare('!=', 1, 0),
  );
  assert.ok(!compare('>', 1, 1) && !compare('==', 1, 0) && !compare('!=', Number.NaN, 0) && !compare('<', Number.NaN, 1));
  assert.ok(compare('>', Infinity, 1));
});

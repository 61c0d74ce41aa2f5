import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExposition, scanExposition } from '../../src/features/monitoring/exposition.js';
import { samplesOfTarget } from '../../src/features/monitoring/samples.js';
import { labelsJson } from '../../src/features/monitoring/repo.js';

test('labelled histograms and summaries come out one sample per series', () => {
  const samples = parseExposition(`# HELP k a histogram
# TYPE k histogram
k_bucket{a="1",le="0.5"} 3
k_bucket{a="1",le="+Inf"} 5
k_sum{a="1"} 2.5
k_count{a="1"} 5
k_bucket{a="2",le="+Inf"} 7
k_count{a="2"} 7
# TYPE s summary
s{quantile="0.5",x="q"} 1
s_count{x="q"} 4
`);
  assert.deepEqual(
    samples.map((s) => `${s.metric}${JSON.stringify(s.labels)}=${s.value}`),
    [
      'k_bucket{"a":"1","le":"0.5"}=3',
      'k_bucket{"a":"1","le":"+Inf"}=5',
      'k_sum{"a":"1"}=2.5',
      'k_count{"a":"1"}=5',
      'k_bucket{"a":"2","le":"+Inf"}=7',
      'k_count{"a":"2"}=7',
      's{"quantile":"0.5","x":"q"}=1',
      's_count{"x":"q"}=4',
    ],
  );
});

test('special values, escapes and timestamps', () => {
  const samples = parseExposition('g NaN\ng{a="b"} -Inf\nx{w="a\\"b\\\\c\\nd"} +Inf 123\ny 1e3\n');
  assert.ok(Number.isNaN(samples[0]!.value));
  assert.equal(samples[1]!.value, -Infinity);
  assert.deepEqual(samples[2], { metric: 'x', labels: { w: 'a"b\\c\nd' }, value: Infinity });
  assert.equal(samples[3]!.value, 1000);
});

test('the last line counts without a final newline', () => {
  assert.deepEqual(
    parseExposition('a 1\nb 2').map((x) => x.metric),
    ['a', 'b'],
  );
});

test('a malformed line fails the whole payload', () => {
  assert.throws(() => parseExposition('ok 1\nbad{{ line\n'));
});

test('labelsJson gives one text per label set, whatever the key order, and reads back as the labels', () => {
  const a = labelsJson({ mountpoint: '/', device: 'sda1', fstype: 'ext4' });
  assert.equal(a, labelsJson({ fstype: 'ext4', device: 'sda1', mountpoint: '/' }));
  assert.equal(a, '{"device":"sda1","fstype":"ext4","mountpoint":"/"}');
  assert.deepEqual(JSON.parse(labelsJson({ b: 'x"y', a: '\\' })), { a: '\\', b: 'x"y' });
  assert.equal(labelsJson({}), '{}');
});

const PAYLOAD = `# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.5
node_load15 0.25
  node_load1{cpu="x"} 2
node_load1_extra 9
	node_load5	1
# node_load1 7
up 0
`;

test('scanExposition keeps the lines of the given metrics, by exact name, whatever the leading blanks', () => {
  const lines = (metrics: string[]) => scanExposition(PAYLOAD, metrics).lines;
  assert.equal(lines(['node_load1']), 'node_load1 0.5\nnode_load1{cpu="x"} 2');
  assert.equal(lines(['node_load5']), 'node_load5\t1');
  assert.equal(lines(['node_load5', 'node_load15']), 'node_load15 0.25\nnode_load5\t1', 'in payload order');
  assert.equal(lines(['node_load']), '');
  assert.equal(lines([]), '');
  assert.equal(scanExposition('m 1', ['m']).lines, 'm 1', 'a payload without a final newline');
  assert.deepEqual(
    parseExposition(lines(['node_load1'])).map((x) => x.value),
    [0.5, 2],
  );
});

test('scanExposition counts the lines that are neither blank nor comments', () => {
  assert.equal(scanExposition(PAYLOAD, []).samples, 6);
  assert.equal(scanExposition('', []).samples, 0);
  assert.equal(scanExposition('a 1\n\n  \n# x\nb 2', ['a']).samples, 2);
});

const target = (body: string | null) => ({
  host: 'h',
  service: 's',
  role: 'r',
  body,
  at: body === null ? null : new Date(0),
  own: [{ metric: 'up', labels: { host: 'h' }, value: 1, at: new Date(0).toISOString() }],
});

test("a target's samples: sorted by metric and labels, a repeated series keeps its last value, a scraped `up` is dropped", () => {
  const { samples, error } = samplesOfTarget(target('b{x="2"} 1\na 1\nb{x="1"} 2\na 3\nup 0\n'), undefined);
  assert.equal(error, undefined);
  assert.deepEqual(
    samples.map((x) => `${x.metric}${JSON.stringify(x.labels)}=${x.value}`),
    ['a{}=3', 'b{"x":"1"}=2', 'b{"x":"2"}=1', 'up{"host":"h"}=1'],
  );
  assert.deepEqual(
    samplesOfTarget(target('a 1\nb 2\n'), 'b').samples.map((x) => x.metric),
    ['b', 'up'],
  );
});

test("a stored scrape that does not parse leaves out the target's scraped samples, says why, and keeps its own", () => {
  const { samples, error } = samplesOfTarget(target('a 1\nbad{{ line\n'), undefined);
  assert.match(error ?? '', /does not parse/);
  assert.deepEqual(
    samples.map((x) => x.metric),
    ['up'],
  );
  assert.deepEqual(
    samplesOfTarget(target(null), undefined).samples.map((x) => x.metric),
    ['up'],
  );
});

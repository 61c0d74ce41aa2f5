import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExposition } from '../../src/monitoring/exposition.js';
import { labelsJson } from '../../src/monitoring/repo.js';

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

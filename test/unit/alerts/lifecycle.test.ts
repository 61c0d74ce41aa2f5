import assert from 'node:assert/strict';
import { test } from 'node:test';
import { step, type OpenAlert, type Step } from '../../../src/features/alerts/lifecycle.js';

const t0 = new Date('2026-11-26T06:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);
const obs = (active: boolean, s = 0, more: Partial<{ forSeconds: number; resolveAfter: number; muted: boolean }> = {}) => ({
  active,
  now: later(s),
  forSeconds: 30,
  resolveAfter: 2,
  muted: false,
  ...more,
});
const open = (s: Step): OpenAlert => {
  assert.ok(s.next && s.next.state !== 'resolved');
  return { state: s.next.state, startsAt: s.next.startsAt, clearEvaluations: s.next.clearEvaluations, silenced: s.next.silenced };
};

void test('nothing open and nothing true: nothing happens', () => {
  assert.deepEqual(step(undefined, obs(false)), { transitions: [], escalate: false, notifyResolved: false });
});

void test('pending until `for` has passed, then firing and escalated; its chain is asked for again at each evaluation', () => {
  const a = step(undefined, obs(true));
  assert.equal(a.next?.state, 'pending');
  assert.equal(a.escalate, false);
  const b = step(open(a), obs(true, 10));
  assert.equal(b.next?.state, 'pending');
  assert.deepEqual(b.transitions, []);
  const c = step(open(b), obs(true, 30));
  assert.equal(c.next?.state, 'firing');
  assert.equal(c.next?.firedNow, true);
  assert.equal(c.escalate, true);
  assert.deepEqual(c.transitions, [{ from: 'pending', to: 'firing' }]);
  const d = step(open(c), obs(true, 60));
  assert.equal(d.next?.state, 'firing');
  assert.equal(d.escalate, true, 'a start lost to a crash is made up (starting a chain again is a no-op)');
});

void test('for 0 fires at once; a pending alert whose condition goes away resolves without notice', () => {
  const a = step(undefined, obs(true, 0, { forSeconds: 0 }));
  assert.equal(a.next?.state, 'firing');
  assert.deepEqual(
    a.transitions.map((x) => x.to),
    ['pending', 'firing'],
  );
  assert.equal(a.escalate, true);
  const p = step(undefined, obs(true));
  const r = step(open(p), obs(false, 5));
  assert.equal(r.next?.state, 'resolved');
  assert.equal(r.notifyResolved, false);
});

void test('flap guard: a firing alert resolves only after resolveAfter false evaluations in a row', () => {
  const firing: OpenAlert = { state: 'firing', startsAt: t0, clearEvaluations: 0, silenced: false };
  const a = step(firing, obs(false, 60));
  assert.equal(a.next?.state, 'firing');
  assert.equal(a.next?.clearEvaluations, 1);
  const b = step(open(a), obs(true, 70));
  assert.equal(b.next?.clearEvaluations, 0, 'a true evaluation starts the count again');
  const c = step(open(step(open(b), obs(false, 80))), obs(false, 90));
  assert.equal(c.next?.state, 'resolved');
  assert.equal(c.notifyResolved, true);
  assert.deepEqual(c.transitions.at(-1), { from: 'firing', to: 'resolved', note: 'condition false on 2 evaluation(s) in a row' });
  // An acknowledged alert resolves the same way.
  const acked: OpenAlert = { state: 'acknowledged', startsAt: t0, clearEvaluations: 0, silenced: false };
  assert.equal(step(acked, obs(false, 60, { resolveAfter: 1 })).next?.state, 'resolved');
  assert.equal(step(acked, obs(true, 60)).next?.state, 'acknowledged');
});

void test('muting: recorded as silenced, no escalation; unmuted while firing escalates then', () => {
  const a = step(undefined, obs(true, 0, { forSeconds: 0, muted: true }));
  assert.equal(a.next?.state, 'firing');
  assert.equal(a.next?.silenced, true);
  assert.equal(a.escalate, false);
  const b = step(open(a), obs(true, 10, { muted: true }));
  assert.equal(b.escalate, false);
  assert.deepEqual(b.transitions, []);
  const c = step(open(b), obs(true, 20));
  assert.equal(c.next?.silenced, false);
  assert.equal(c.escalate, true);
  assert.deepEqual(c.transitions, [{ from: 'firing', to: 'firing', note: 'no longer muted' }]);
  // An acknowledged alert is not paged again when unmuted.
  const acked: OpenAlert = { state: 'acknowledged', startsAt: t0, clearEvaluations: 0, silenced: true };
  assert.equal(step(acked, obs(true, 30)).escalate, false);
});

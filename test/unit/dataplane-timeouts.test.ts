// The gateway's whole-request timeouts (src/dataplane/timeouts.ts), on a fake clock and timers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Timeouts, type TimeoutEntry, type TimerApi } from '../../src/dataplane/timeouts.js';

class Entry implements TimeoutEntry {
  tPrev: TimeoutEntry | null = null;
  tNext: TimeoutEntry | null = null;
  tList: object | null = null;
  tDue = 0;
  constructor(readonly name: string) {}
}

/** A clock moved by hand, and timers that fire when it passes their time. */
function fakeTimers(): TimerApi & { advance(ms: number): void; armed(): number } {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    set(fn, ms) {
      timers.push({ at: now + ms, fn });
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (t === undefined || t.at > end) break;
        timers = timers.slice(1);
        now = t.at;
        t.fn();
      }
      now = end;
    },
    armed: () => timers.length,
  };
}

test('timeouts: each entry expires once, at its own time, in arrival order; removed ones never', () => {
  const clock = fakeTimers();
  const fired: string[] = [];
  const q = new Timeouts<Entry>((e) => fired.push(`${e.name}@${clock.now()}`), clock);
  const a = new Entry('a');
  const b = new Entry('b');
  const c = new Entry('c');
  const d = new Entry('d');
  q.add(a, 100);
  clock.advance(10);
  q.add(b, 100);
  q.add(c, 100);
  q.add(d, 30);
  // One timer per duration, however many entries it holds.
  assert.equal(clock.armed(), 2);
  q.remove(c);
  clock.advance(40);
  assert.deepEqual(fired, ['d@40']);
  clock.advance(200);
  assert.deepEqual(fired, ['d@40', 'a@100', 'b@110']);
  assert.equal(q.size(), 0);
  // Nothing left: no timer stays armed, and removing again is harmless.
  assert.equal(clock.armed(), 0);
  q.remove(a);
  q.add(a, 5);
  clock.advance(5);
  assert.deepEqual(fired.slice(3), ['a@255']);
});

test('timeouts: an entry removed from the head does not fire; the list re-arms for the next one', () => {
  const clock = fakeTimers();
  const fired: string[] = [];
  const q = new Timeouts<Entry>((e) => fired.push(`${e.name}@${clock.now()}`), clock);
  const a = new Entry('a');
  const b = new Entry('b');
  q.add(a, 50);
  clock.advance(20);
  q.add(b, 50);
  q.remove(a);
  clock.advance(30); // a's time: the timer finds b not yet due
  assert.deepEqual(fired, []);
  clock.advance(20);
  assert.deepEqual(fired, ['b@70']);
});

test('timeouts: an entry added again moves to its new time; an expiry may add entries', () => {
  const clock = fakeTimers();
  const fired: string[] = [];
  const again = new Entry('again');
  const q = new Timeouts<Entry>((e) => {
    fired.push(`${e.name}@${clock.now()}`);
    if (e.name === 'a') q.add(again, 10);
  }, clock);
  const a = new Entry('a');
  q.add(a, 10);
  q.add(a, 40);
  clock.advance(100);
  assert.deepEqual(fired, ['a@40', 'again@50']);
});

// Whole-request timeouts (a revision's timeoutSeconds) without a timer per request: requests with
// the same timeout are due in the order they arrived, so each distinct duration keeps one list in
// arrival order (linked through the entries themselves) and one timer, armed for its oldest entry.
// Adding and removing an entry is a few field writes; a timer is armed again only when it fires.
// A per-request setTimeout/clearTimeout pair allocated a Timeout and went through Node's timer
// lists and async-hooks bookkeeping for every request.

/** The fields an entry carries (an Exchange): its neighbours, its list and when it is due. */
export interface TimeoutEntry {
  tPrev: TimeoutEntry | null;
  tNext: TimeoutEntry | null;
  tList: object | null;
  tDue: number;
}

/** What the queue needs from the outside world (real timers and a monotonic clock in the gateway). */
export interface TimerApi {
  now(): number;
  /** Calls fn after ms; the timer must not keep the process alive (entries belong to open connections). */
  set(fn: () => void, ms: number): unknown;
}

export const REAL_TIMERS: TimerApi = {
  now: () => performance.now(),
  set: (fn, ms) => setTimeout(fn, ms).unref(),
};

class List<T extends TimeoutEntry> {
  head: T | null = null;
  tail: T | null = null;
  armed = false;
  constructor(readonly ms: number) {}
}

export class Timeouts<T extends TimeoutEntry> {
  private readonly lists = new Map<number, List<T>>();

  constructor(
    /** Called once for each entry whose time ran out (it is no longer in the queue then). */
    private readonly expired: (entry: T) => void,
    private readonly timers: TimerApi = REAL_TIMERS,
  ) {}

  /** Starts the entry's timeout of `ms` milliseconds (an entry is in at most one list). */
  add(e: T, ms: number): void {
    if (e.tList !== null) this.remove(e);
    let l = this.lists.get(ms);
    if (l === undefined) {
      l = new List<T>(ms);
      this.lists.set(ms, l);
    }
    e.tDue = this.timers.now() + ms;
    e.tList = l;
    e.tPrev = l.tail;
    e.tNext = null;
    if (l.tail !== null) l.tail.tNext = e;
    else l.head = e;
    l.tail = e;
    if (!l.armed) this.arm(l, ms);
  }

  /** Stops the entry's timeout (nothing if it has none). */
  remove(e: T): void {
    const l = e.tList as List<T> | null;
    if (l === null) return;
    const prev = e.tPrev as T | null;
    const next = e.tNext as T | null;
    if (prev !== null) prev.tNext = next;
    else l.head = next;
    if (next !== null) next.tPrev = prev;
    else l.tail = prev;
    e.tPrev = e.tNext = null;
    e.tList = null;
  }

  /** Entries still waiting (for tests and debugging). */
  size(): number {
    let n = 0;
    for (const l of this.lists.values()) for (let e = l.head; e !== null; e = e.tNext as T | null) n++;
    return n;
  }

  private arm(l: List<T>, ms: number): void {
    l.armed = true;
    this.timers.set(() => this.check(l), Math.max(1, Math.ceil(ms)));
  }

  private check(l: List<T>): void {
    l.armed = false;
    const now = this.timers.now();
    let e = l.head;
    while (e !== null && e.tDue <= now) {
      this.remove(e);
      this.expired(e);
      e = l.head;
    }
    // (An expiry may have added entries and armed the list already.)
    if (l.armed) return;
    if (l.head !== null) this.arm(l, l.head.tDue - now);
    else this.lists.delete(l.ms);
  }
}

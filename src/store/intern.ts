// One copy of each repeated string in the objects the caches keep. Every stored version of an
// object is a fresh parse, so without this each of 10,000 Services, Configurations, Revisions,
// Routes and PodAutoscalers carries its own "True", "Ready", image name, label values and
// annotations copied from its Service (9.5 of the 11.5 MiB of short strings in the caches at
// 3,000 Services were duplicates). Replacing a string by an equal one changes nothing a reader
// can see, so the objects are rewritten in place.
//
// The tables only have to remember recent strings: when one fills up it starts afresh (strings
// already shared stay shared; the table just stops keeping old ones alive).

/** Longer strings are few but large (annotations): kept in their own table, bounded by size. */
const SHORT = 1024;

export class Interner {
  private short = new Map<string, string>();
  private long = new Map<string, string>();
  private longChars = 0;

  constructor(
    private readonly maxShort = 100_000,
    private readonly maxLongChars = 8 * 2 ** 20,
  ) {}

  intern(s: string): string {
    if (s.length <= SHORT) {
      const hit = this.short.get(s);
      if (hit !== undefined) return hit;
      if (this.short.size >= this.maxShort) this.short = new Map();
      this.short.set(s, s);
      return s;
    }
    const hit = this.long.get(s);
    if (hit !== undefined) return hit;
    if (s.length > this.maxLongChars) return s;
    if (this.longChars + s.length > this.maxLongChars) {
      this.long = new Map();
      this.longChars = 0;
    }
    this.long.set(s, s);
    this.longChars += s.length;
    return s;
  }

  /** Replaces every string value in a JSON-shaped value (objects, arrays) by its shared copy, in place. */
  internAll(v: unknown): void {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (typeof x === 'string') v[i] = this.intern(x);
        else if (x !== null && typeof x === 'object') this.internAll(x);
      }
    } else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k in o) {
        const x = o[k];
        if (typeof x === 'string') o[k] = this.intern(x);
        else if (x !== null && typeof x === 'object') this.internAll(x);
      }
    }
  }
}

/** The process' one table: the caches of every resource share strings with each other. */
export const sharedStrings = new Interner();

// Reflector and Informer, Sluice's own (client-node 1.4's informer stops on the first non-410 error
// and never asks for bookmarks). A Reflector keeps a sink in step with one resource on the API
// server: a paged list, then a watch from the list's resourceVersion with bookmarks; the watch is
// reopened from the last resourceVersion seen when the server ends it, the state is relisted on 410
// Gone, and every other failure is retried with a capped exponential backoff. An Informer is a
// Reflector feeding an indexed cache with add/update/delete handlers and a synced barrier.

import { ApiError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import { isGone, type KubeClient, type RawWatchEvent } from './client.js';
import type { ResourceType } from './resources.js';

export interface ReflectorSink {
  /** The whole state after a (re)list. */
  replace(items: KObject[], resourceVersion: string): void;
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KObject): void;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface ReflectorOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Items per list page (default 500, as client-go). */
  pageSize?: number;
  /** Server-side watch timeout; the watch is reopened after it (default 5–10 min, as client-go). */
  watchTimeoutSeconds?: () => number;
  /** Retry delays for errors other than 410 (default 800 ms doubling to 30 s, as client-go). */
  backoff?: Backoff;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  log?: (msg: string) => void;
  /**
   * Start watching from this resourceVersion instead of listing first. A 410 then ends the
   * reflector (onEnded) rather than relisting: the caller asked for changes after a point the
   * server no longer has; so does any failure before the first watch opened.
   */
  startAt?: string;
  /** Each watch the server opened (answered 200). */
  onWatchOpen?: () => void;
  /** The reflector stopped by itself (startAt and 410, or a first watch refused as BadRequest). */
  onEnded?: (err: Error) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** The delay before retry number `attempt` (0-based): initial · 2^attempt, never above max. */
export function backoffDelay(b: Backoff, attempt: number): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 30));
}

export class Reflector {
  private stopped = false;
  private watch?: { stop(): void };
  private wake?: () => void;
  private running?: Promise<void>;
  private attempt = 0;
  private rv = '';
  private syncedOnce = false;
  private everOpened = false;
  private syncWaiters: (() => void)[] = [];
  /** Counters a test or /metrics can read. */
  readonly stats = { lists: 0, watches: 0, relistsOnGone: 0, errors: 0, bookmarks: 0 };

  constructor(
    private readonly client: KubeClient,
    readonly type: ResourceType,
    private readonly sink: ReflectorSink,
    private readonly opts: ReflectorOptions = {},
  ) {}

  get lastSyncResourceVersion(): string {
    return this.rv;
  }

  get hasSynced(): boolean {
    return this.syncedOnce;
  }

  /** Resolves after the first complete list has reached the sink. */
  synced(): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  start(): void {
    if (!this.running) this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.stop();
    this.wake?.();
    await this.running;
  }

  private log(msg: string): void {
    this.opts.log?.(`reflector ${this.type.plural}: ${msg}`);
  }

  private async pause(): Promise<void> {
    const ms = backoffDelay(this.opts.backoff ?? { initialMs: 800, maxMs: 30_000 }, this.attempt++);
    await Promise.race([(this.opts.sleep ?? defaultSleep)(ms), new Promise<void>((r) => (this.wake = r))]);
  }

  private async run(): Promise<void> {
    let needList = this.opts.startAt === undefined;
    if (!needList) this.rv = this.opts.startAt!;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.list();
          needList = false;
          this.attempt = 0;
        } catch (e) {
          if (this.stopped) return;
          this.stats.errors++;
          this.log(`list failed: ${(e as Error).message}`);
          await this.pause();
          continue;
        }
      }
      if (this.stopped) return;
      try {
        await this.watchOnce();
      } catch (e) {
        if (this.stopped) return;
        // From a given resourceVersion, a 410 or a refusal of the first watch is the caller's to handle.
        if (this.opts.startAt !== undefined && (isGone(e) || (e instanceof ApiError && e.code === 400) || !this.everOpened)) {
          this.stopped = true;
          this.opts.onEnded?.(e as Error);
          return;
        }
        if (isGone(e)) {
          // Our resourceVersion is older than the server's history: start over from a list.
          this.stats.relistsOnGone++;
          this.log(`watch from ${this.rv} is too old (${(e as Error).message}); relisting`);
          needList = true;
          continue;
        }
        this.stats.errors++;
        this.log(`watch failed: ${(e as Error).message}`);
        await this.pause();
      }
    }
  }

  private async list(): Promise<void> {
    this.stats.lists++;
    const items: KObject[] = [];
    let cont: string | undefined;
    let rv = '';
    const limit = this.opts.pageSize ?? 500;
    for (;;) {
      let page;
      try {
        page = await this.client.list(this.type, {
          namespace: this.opts.namespace,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          limit,
          continue: cont,
        });
      } catch (e) {
        // A continue token can expire between pages: list again from the start.
        if (cont && isGone(e)) {
          items.length = 0;
          cont = undefined;
          continue;
        }
        throw e;
      }
      items.push(...page.items);
      // The resourceVersion of a paged list is the first page's (the snapshot the pages come from).
      if (!rv) rv = page.resourceVersion;
      if (!page.continue) break;
      cont = page.continue;
    }
    if (this.stopped) return;
    this.rv = rv;
    this.sink.replace(items, rv);
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watchOnce(): Promise<void> {
    this.stats.watches++;
    const started = (this.opts.now ?? Date.now)();
    let events = 0;
    const timeout = this.opts.watchTimeoutSeconds?.() ?? Math.floor(300 * (1 + Math.random()));
    const handle = this.client.watch(
      this.type,
      {
        namespace: this.opts.namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        resourceVersion: this.rv,
        allowWatchBookmarks: true,
        timeoutSeconds: timeout,
      },
      (e: RawWatchEvent) => {
        if (this.stopped) return;
        events++;
        this.attempt = 0;
        const rv = e.object?.metadata?.resourceVersion;
        if (e.type === 'BOOKMARK') {
          this.stats.bookmarks++;
        } else if (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED') {
          this.sink.event(e.type, e.object);
        }
        if (rv) this.rv = rv;
      },
    );
    this.watch = handle;
    void handle.established.then(
      () => {
        this.everOpened = true;
        if (!this.stopped) this.opts.onWatchOpen?.();
      },
      () => {},
    );
    try {
      await handle.done;
    } finally {
      this.watch = undefined;
    }
    // A server that closes watches at once, with nothing sent, must not make us spin.
    if (!this.stopped && events === 0 && (this.opts.now ?? Date.now)() - started < 1000) await this.pause();
  }
}

export interface InformerHandlers {
  add?(obj: KObject): void;
  update?(oldObj: KObject, newObj: KObject): void;
  delete?(obj: KObject): void;
}

export type IndexFunc = (obj: KObject) => string[];

const keyOf = (o: KObject) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : String(o.metadata.name));

/** A Reflector into a cache with indexes; reads come from here, writes go to the API. */
export class Informer implements ReflectorSink {
  private readonly items = new Map<string, KObject>();
  private readonly indexers = new Map<string, IndexFunc>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly handlers = new Set<InformerHandlers>();
  readonly reflector: Reflector;

  constructor(client: KubeClient, type: ResourceType, opts: ReflectorOptions = {}) {
    this.reflector = new Reflector(client, type, this, opts);
    this.addIndex('namespace', (o) => [o.metadata.namespace ?? '']);
  }

  get type(): ResourceType {
    return this.reflector.type;
  }

  addIndex(name: string, fn: IndexFunc): void {
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const [k, o] of this.items) for (const v of fn(o)) addTo(idx, v, k);
  }

  /** Handlers see every later change; with `replay`, the cached objects first as adds. */
  on(h: InformerHandlers, replay = true): () => void {
    this.handlers.add(h);
    if (replay) for (const o of this.items.values()) h.add?.(o);
    return () => this.handlers.delete(h);
  }

  start(): void {
    this.reflector.start();
  }

  stop(): Promise<void> {
    return this.reflector.stop();
  }

  synced(): Promise<void> {
    return this.reflector.synced();
  }

  get hasSynced(): boolean {
    return this.reflector.hasSynced;
  }

  get resourceVersion(): string {
    return this.reflector.lastSyncResourceVersion;
  }

  get(namespace: string | undefined, name: string): KObject | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Every cached object, or one namespace's, sorted by namespace then name. */
  list(namespace?: string): KObject[] {
    const out = namespace === undefined ? [...this.items.values()] : this.byIndex('namespace', namespace);
    return out.sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  }

  byIndex(index: string, value: string): KObject[] {
    const keys = this.indexes.get(index)?.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.items.get(k)!).filter(Boolean);
  }

  replace(list: KObject[], _resourceVersion: string): void {
    const fresh = new Map(list.map((o) => [keyOf(o), o]));
    for (const [k, old] of [...this.items]) if (!fresh.has(k)) this.remove(k, old);
    for (const [k, o] of fresh) {
      const old = this.items.get(k);
      if (!old) this.put(k, o, undefined);
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.put(k, o, old);
    }
  }

  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KObject): void {
    const k = keyOf(obj);
    const old = this.items.get(k);
    if (type === 'DELETED') {
      if (old) this.remove(k, obj);
    } else this.put(k, obj, old);
  }

  private put(k: string, o: KObject, old: KObject | undefined): void {
    if (old) this.unindex(k, old);
    this.items.set(k, o);
    for (const [name, fn] of this.indexers) for (const v of fn(o)) addTo(this.indexes.get(name)!, v, k);
    for (const h of this.handlers) {
      if (old) h.update?.(old, o);
      else h.add?.(o);
    }
  }

  private remove(k: string, last: KObject): void {
    const old = this.items.get(k);
    if (old) this.unindex(k, old);
    this.items.delete(k);
    for (const h of this.handlers) h.delete?.(last);
  }

  private unindex(k: string, o: KObject): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(o)) {
        const s = idx.get(v);
        s?.delete(k);
        if (s && s.size === 0) idx.delete(v);
      }
    }
  }
}

function addTo(idx: Map<string, Set<string>>, v: string, k: string): void {
  let s = idx.get(v);
  if (!s) idx.set(v, (s = new Set()));
  s.add(k);
}

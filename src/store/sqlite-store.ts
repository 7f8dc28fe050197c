// The embedded Store: one SQLite file (better-sqlite3, WAL, synchronous=FULL so an acknowledged
// write survives kill -9 and power loss). Objects are kept as JSON documents keyed by
// (resource, namespace, name); one global counter gives the monotonic resourceVersion, as etcd's
// revision does for Kubernetes.

import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ApiError, alreadyExists, conflict, notFound } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { ListResult, Store, UpdateOptions, WatchEvent } from './store.js';
import { WatchHub } from './watch-hub.js';

/** Splits "group/plural" into display parts for error messages. */
function describe(resource: string): [string, string] {
  const i = resource.lastIndexOf('/');
  return i < 0 ? [resource, ''] : [resource.slice(i + 1), resource.slice(0, i)];
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private rv: number;
  private readonly hub = new WatchHub();
  private readonly stmts;

  private constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        rv INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (resource, namespace, name));
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO counters (name, value) VALUES ('resourceVersion', 0);
    `);
    this.stmts = {
      get: this.db.prepare('SELECT body FROM objects WHERE resource = ? AND namespace = ? AND name = ?'),
      listNs: this.db.prepare('SELECT body FROM objects WHERE resource = ? AND namespace = ? ORDER BY name'),
      listAll: this.db.prepare('SELECT body FROM objects WHERE resource = ? ORDER BY namespace, name'),
      insert: this.db.prepare('INSERT INTO objects (resource, namespace, name, rv, body) VALUES (?, ?, ?, ?, ?)'),
      replace: this.db.prepare('UPDATE objects SET rv = ?, body = ? WHERE resource = ? AND namespace = ? AND name = ?'),
      remove: this.db.prepare('DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?'),
      bump: this.db.prepare("UPDATE counters SET value = ? WHERE name = 'resourceVersion'"),
    };
    this.rv = (this.db.prepare("SELECT value FROM counters WHERE name = 'resourceVersion'").get() as { value: number }).value;
    this.hub.reset(this.rv);
  }

  static open(dataDir: string): SqliteStore {
    mkdirSync(dataDir, { recursive: true });
    return new SqliteStore(join(dataDir, 'sluice.db'));
  }

  async get(resource: string, namespace: string | undefined, name: string): Promise<KObject | undefined> {
    const row = this.stmts.get.get(resource, namespace ?? '', name) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as KObject) : undefined;
  }

  async list(resource: string, namespace?: string): Promise<ListResult> {
    const rows = (namespace === undefined ? this.stmts.listAll.all(resource) : this.stmts.listNs.all(resource, namespace)) as {
      body: string;
    }[];
    return { items: rows.map((r) => JSON.parse(r.body) as KObject), resourceVersion: String(this.rv) };
  }

  async create(resource: string, obj: KObject): Promise<KObject> {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name;
    if (!name) throw new ApiError(422, 'Invalid', 'metadata.name: Required value: name or generateName is required');
    const created: KObject = structuredClone(obj);
    const meta = created.metadata;
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (created.spec !== undefined) meta.generation = 1;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    // The existence check and insert run in one transaction so two creates cannot both win.
    const tx = this.db.transaction(() => {
      if (this.stmts.get.get(resource, ns, name)) {
        const [plural, group] = describe(resource);
        throw alreadyExists(plural, name, group);
      }
      const rv = this.nextRv();
      meta.resourceVersion = String(rv);
      this.stmts.insert.run(resource, ns, name, rv, JSON.stringify(created));
    });
    tx();
    this.hub.publish({ type: 'ADDED', resource, object: created }, this.rv);
    return structuredClone(created);
  }

  async update(resource: string, obj: KObject, opts: UpdateOptions = {}): Promise<KObject> {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    const [plural, group] = describe(resource);
    let next!: KObject;
    let changed = false;
    const tx = this.db.transaction(() => {
      const row = this.stmts.get.get(resource, ns, name) as { body: string } | undefined;
      if (!row) throw notFound(plural, name, group);
      const current = JSON.parse(row.body) as KObject;
      const wantRv = obj.metadata.resourceVersion;
      if (wantRv && wantRv !== current.metadata.resourceVersion) throw conflict(plural, name, group);
      if (opts.subresource === 'status') {
        next = { ...current, status: structuredClone(obj.status) };
      } else {
        next = structuredClone(obj);
        // Status is owned by the /status subresource; identity fields by the store.
        if (current.status !== undefined) next.status = current.status;
        else delete next.status;
        next.metadata.uid = current.metadata.uid;
        next.metadata.creationTimestamp = current.metadata.creationTimestamp;
        next.metadata.generation = current.metadata.generation;
        if (next.spec !== undefined && !isDeepStrictEqual(next.spec, current.spec)) {
          next.metadata.generation = (current.metadata.generation ?? 0) + 1;
        }
      }
      next.metadata.resourceVersion = current.metadata.resourceVersion;
      if (isDeepStrictEqual(next, current)) {
        next = current; // a no-op write keeps its resourceVersion and makes no event, like Kubernetes
        return;
      }
      changed = true;
      const rv = this.nextRv();
      next.metadata.resourceVersion = String(rv);
      this.stmts.replace.run(rv, JSON.stringify(next), resource, ns, name);
    });
    tx();
    if (changed) this.hub.publish({ type: 'MODIFIED', resource, object: next }, this.rv);
    return structuredClone(next);
  }

  async delete(resource: string, namespace: string | undefined, name: string): Promise<KObject> {
    const ns = namespace ?? '';
    const [plural, group] = describe(resource);
    let gone!: KObject;
    const tx = this.db.transaction(() => {
      const row = this.stmts.get.get(resource, ns, name) as { body: string } | undefined;
      if (!row) throw notFound(plural, name, group);
      gone = JSON.parse(row.body) as KObject;
      this.stmts.remove.run(resource, ns, name);
      // A delete is an event with its own resourceVersion, as in Kubernetes.
      gone.metadata.resourceVersion = String(this.nextRv());
    });
    tx();
    this.hub.publish({ type: 'DELETED', resource, object: gone }, this.rv);
    return structuredClone(gone);
  }

  watch(resource: string, since: string | undefined, onEvent: (e: WatchEvent) => void): () => void {
    return this.hub.subscribe(resource, since, onEvent);
  }

  currentResourceVersion(): string {
    return String(this.rv);
  }

  close(): void {
    this.hub.closeAll();
    this.db.close();
  }

  private nextRv(): number {
    this.rv += 1;
    this.stmts.bump.run(this.rv);
    return this.rv;
  }
}

// The embedded store's file: one SQLite database (better-sqlite3, WAL, synchronous=NORMAL: a
// commit is written to the WAL before it is acknowledged, so it survives kill -9 of the server;
// only a power loss or OS crash can drop the last commits, never corrupt the file; see
// docs/architecture.md "Seams"). Objects are JSON documents keyed by
// (resource, namespace, name); the resourceVersion counter is a row written in the same
// transaction as the object.

import Database from 'better-sqlite3';
import type { KObject } from '../api/types.js';
import type { Backend } from './backend.js';
import type { ListPage } from './store.js';

export class SqliteBackend implements Backend {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // No fsync per commit (it blocked the event loop for a fifth of the server's CPU at 3,000
    // Services); the WAL is synced at checkpoints.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        rv INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (resource, namespace, name));
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO counters (name, value) VALUES ('resourceVersion', 0);
    `);
    this.stmts = {
      get: this.db.prepare('SELECT body FROM objects WHERE resource = ? AND namespace = ? AND name = ?').pluck(),
      listNs: this.db.prepare('SELECT body FROM objects WHERE resource = ? AND namespace = ? ORDER BY name').pluck(),
      listAll: this.db.prepare('SELECT body FROM objects WHERE resource = ? ORDER BY namespace, name').pluck(),
      // Pages: rows after (namespace, name) in the primary key's order, and how many there are.
      pageNs: this.db.prepare('SELECT body FROM objects WHERE resource = ? AND namespace = ? AND name > ? ORDER BY name LIMIT ?').pluck(),
      countNs: this.db.prepare('SELECT COUNT(*) FROM objects WHERE resource = ? AND namespace = ? AND name > ?').pluck(),
      pageAll: this.db
        .prepare('SELECT body FROM objects WHERE resource = ? AND (namespace, name) > (?, ?) ORDER BY namespace, name LIMIT ?')
        .pluck(),
      countAll: this.db.prepare('SELECT COUNT(*) FROM objects WHERE resource = ? AND (namespace, name) > (?, ?)').pluck(),
      put: this.db.prepare('INSERT OR REPLACE INTO objects (resource, namespace, name, rv, body) VALUES (?, ?, ?, ?, ?)'),
      remove: this.db.prepare('DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?'),
      loadRv: this.db.prepare("SELECT value FROM counters WHERE name = 'resourceVersion'").pluck(),
      saveRv: this.db.prepare("UPDATE counters SET value = ? WHERE name = 'resourceVersion'"),
    };
  }

  read(resource: string, namespace: string, name: string): KObject | undefined {
    const body = this.stmts.get.get(resource, namespace, name) as string | undefined;
    return body === undefined ? undefined : (JSON.parse(body) as KObject);
  }

  readAll(resource: string, namespace?: string): KObject[] {
    const rows = (namespace === undefined ? this.stmts.listAll.all(resource) : this.stmts.listNs.all(resource, namespace)) as string[];
    return rows.map((body) => JSON.parse(body) as KObject);
  }

  readPage(resource: string, namespace: string | undefined, page: ListPage): { items: KObject[]; remaining: number } {
    const s = this.stmts;
    // SQLite's LIMIT is a 64-bit integer; any limit past the rows there are means all of them.
    const limit = Math.min(page.limit, Number.MAX_SAFE_INTEGER);
    const rows = (
      namespace === undefined
        ? s.pageAll.all(resource, page.after?.namespace ?? '', page.after?.name ?? '', limit)
        : s.pageNs.all(resource, namespace, page.after && page.after.namespace === namespace ? page.after.name : '', limit)
    ) as string[];
    const items = rows.map((body) => JSON.parse(body) as KObject);
    const last = items[items.length - 1]?.metadata;
    const total = (
      namespace === undefined
        ? s.countAll.get(resource, page.after?.namespace ?? '', page.after?.name ?? '')
        : s.countNs.get(resource, namespace, page.after && page.after.namespace === namespace ? page.after.name : '')
    ) as number;
    return { items, remaining: last ? total - items.length : 0 };
  }

  put(resource: string, namespace: string, name: string, rv: number, _obj: KObject, json: string): void {
    this.stmts.put.run(resource, namespace, name, rv, json);
  }

  remove(resource: string, namespace: string, name: string): void {
    this.stmts.remove.run(resource, namespace, name);
  }

  loadRv(): number {
    return this.stmts.loadRv.get() as number;
  }

  saveRv(rv: number): void {
    this.stmts.saveRv.run(rv);
  }

  transaction<T>(fn: () => T): T {
    // Inside an open batch better-sqlite3 runs this as a savepoint.
    return this.db.transaction(fn)();
  }

  begin(): void {
    this.db.exec('BEGIN IMMEDIATE');
  }

  commit(): void {
    this.db.exec('COMMIT');
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  close(): void {
    this.db.close();
  }
}

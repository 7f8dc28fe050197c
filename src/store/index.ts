// Opens a store by URL, as kine picks its driver: `sqlite://DIR` (the file DIR/sluice.db) or
// `memory://`. A Kubernetes-API store registers here as `kubernetes://…` when it exists.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DocumentStore } from './document-store.js';
import { MemoryBackend } from './memory-backend.js';
import { SqliteBackend } from './sqlite-backend.js';
import type { Store } from './store.js';

export interface StoreOptions {
  /** Events kept for watches that start from a resourceVersion (default 10,000). */
  watchHistory?: number;
  /** ... and at most this many characters of their serialized objects (default 64 Mi). */
  watchHistoryChars?: number;
  log?: (msg: string) => void;
}

/** The SQLite file under dataDir (created when missing). */
export function openSqliteStore(dataDir: string, opts: StoreOptions = {}): Store {
  mkdirSync(dataDir, { recursive: true });
  return new DocumentStore(new SqliteBackend(join(dataDir, 'sluice.db')), opts);
}

export function openMemoryStore(opts: StoreOptions = {}): Store {
  return new DocumentStore(new MemoryBackend(), opts);
}

export async function openStore(url: string, opts: StoreOptions = {}): Promise<Store> {
  const m = /^([a-z]+):\/\/(.*)$/.exec(url);
  if (m?.[1] === 'sqlite') return openSqliteStore(m[2], opts);
  if (m?.[1] === 'memory') return openMemoryStore(opts);
  throw new Error(`unknown store "${url}": expected sqlite://DIR or memory://`);
}

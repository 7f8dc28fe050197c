// Store write latency and outcomes, for any Store: a wrapper that times create, update and
// delete and passes everything else through. The server hands the wrapped store to the API
// server, the controllers and the autoscaler, so every write is counted whoever makes it.

import type { Registry } from '../observability/registry.js';
import type { Store } from './store.js';

/** Writes are an fsync on the embedded store: tenths of a millisecond to tens of milliseconds. */
export const WRITE_BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

type Op = 'create' | 'update' | 'delete';

export function instrumentStore(store: Store, reg: Registry): Store {
  const seconds = reg.histogram(
    'sluice_store_write_duration_seconds',
    'How long a store write took, by resource and operation.',
    WRITE_BOUNDS,
    ['resource', 'operation'],
  );
  const total = reg.counter(
    'sluice_store_writes_total',
    'Store writes by resource, operation and result (ok, conflict, not_found, error).',
    ['resource', 'operation', 'result'],
  );
  const timed = async <T>(resource: string, op: Op, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    let result = 'ok';
    try {
      return await run();
    } catch (err) {
      const code = (err as { code?: number }).code;
      result = code === 409 ? 'conflict' : code === 404 ? 'not_found' : 'error';
      throw err;
    } finally {
      seconds.child(resource, op).observe((performance.now() - started) / 1000);
      total.child(resource, op, result).inc();
    }
  };
  return {
    get: (r, ns, name) => store.get(r, ns, name),
    list: (r, ns, page) => store.list(r, ns, page),
    create: (r, obj) => timed(r, 'create', () => store.create(r, obj)),
    update: (r, obj, opts) => timed(r, 'update', () => store.update(r, obj, opts)),
    delete: (r, ns, name) => timed(r, 'delete', () => store.delete(r, ns, name)),
    watch: (r, opts, handlers) => store.watch(r, opts, handlers),
    close: () => store.close(),
  };
}

export { LocalRuntime, type LocalRuntimeOptions } from './runtime.js';
export { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
export type { Clock } from './instance.js';
export { STARTUP_PROBE_INTERVAL_MS } from './probe.js';

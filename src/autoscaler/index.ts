// Sluice autoscaling: pure deciders (KPA, HPA, event gateway, plugins) plus their configuration.
export * from './config.js';
export * from './annotations.js';
export * from './metrics.js';
export * from './kpa.js';
export * from './hpa.js';
export * from './schedule.js';
export * from './event-gateway.js';
export * from './plugin.js';
export * from './decide.js';
export { formatGoDuration, parseGoDuration } from './goparse.js';

// Knative's cluster-wide revision defaults (ConfigMap knative-serving/config-defaults): timeouts,
// containerConcurrency, container names and resource defaults. Keys, defaults, checks and messages
// follow knative/serving pkg/apis/config/defaults.go.

import { GoParseError, parseGoBool, parseGoInt } from '../autoscaler/goparse.js';
import { parseQuantity } from './quantity.js';

export const DEFAULTS_CONFIGMAP = 'config-defaults';

export interface ServingDefaults {
  revisionTimeoutSeconds: number;
  maxRevisionTimeoutSeconds: number;
  /** 0: no separate limit for the first byte of the response. */
  revisionResponseStartTimeoutSeconds: number;
  /** 0: no limit on a quiet stream. */
  revisionIdleTimeoutSeconds: number;
  containerConcurrency: number;
  containerConcurrencyMaxLimit: number;
  allowContainerConcurrencyZero: boolean;
  /** Go-template of the parent's ObjectMeta, e.g. "user-container" or "{{.Name}}". */
  containerNameTemplate: string;
  initContainerNameTemplate: string;
  /** Resource requests/limits given to a container that sets none (cpu, memory, ephemeral-storage). */
  resourceRequests: Record<string, string>;
  resourceLimits: Record<string, string>;
}

export const DEFAULTS: ServingDefaults = {
  revisionTimeoutSeconds: 300,
  maxRevisionTimeoutSeconds: 600,
  revisionResponseStartTimeoutSeconds: 300,
  revisionIdleTimeoutSeconds: 0,
  containerConcurrency: 0,
  containerConcurrencyMaxLimit: 1000,
  allowContainerConcurrencyZero: true,
  containerNameTemplate: 'user-container',
  initContainerNameTemplate: 'init-container',
  resourceRequests: {},
  resourceLimits: {},
};

export class ConfigError extends Error {}

const TEMPLATE_FIELD = /\{\{\s*\.(Name|Namespace|GenerateName|UID)\s*\}\}/g;

/** Expands the subset of Go templates Knative's container-name templates use: {{.Name}} and friends. */
export function expandNameTemplate(template: string, parent: { name?: string; namespace?: string; generateName?: string; uid?: string }) {
  return template.replace(TEMPLATE_FIELD, (_, f: string) => {
    const v = f === 'Name' ? parent.name : f === 'Namespace' ? parent.namespace : f === 'GenerateName' ? parent.generateName : parent.uid;
    return v ?? '';
  });
}

function checkTemplate(key: string, raw: string): string {
  const rest = raw.replace(TEMPLATE_FIELD, '');
  if (rest.includes('{{') || rest.includes('}}')) {
    throw new ConfigError(`error executing template: ${key}: only {{.Name}}, {{.Namespace}}, {{.GenerateName}} and {{.UID}} are supported`);
  }
  return raw;
}

const RESOURCE_KEYS: [string, 'resourceRequests' | 'resourceLimits', string][] = [
  ['revision-cpu-request', 'resourceRequests', 'cpu'],
  ['revision-memory-request', 'resourceRequests', 'memory'],
  ['revision-ephemeral-storage-request', 'resourceRequests', 'ephemeral-storage'],
  ['revision-cpu-limit', 'resourceLimits', 'cpu'],
  ['revision-memory-limit', 'resourceLimits', 'memory'],
  ['revision-ephemeral-storage-limit', 'resourceLimits', 'ephemeral-storage'],
];

/** Parses config-defaults data as Knative does; throws ConfigError with Knative's message. */
export function parseDefaultsConfig(data: Record<string, unknown> = {}): ServingDefaults {
  const d: ServingDefaults = { ...DEFAULTS, resourceRequests: {}, resourceLimits: {} };
  const str = (key: string): string | undefined => {
    const v = data[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new ConfigError(`failed to parse "${key}": must be a string`);
    return v;
  };
  const int = (key: string): number | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    try {
      return parseGoInt(v);
    } catch (err) {
      if (err instanceof GoParseError) throw new ConfigError(`failed to parse "${key}": ${err.message}`);
      throw err;
    }
  };
  const tmpl = str('container-name-template');
  if (tmpl !== undefined) d.containerNameTemplate = checkTemplate('container-name-template', tmpl);
  const initTmpl = str('init-container-name-template');
  if (initTmpl !== undefined) d.initContainerNameTemplate = checkTemplate('init-container-name-template', initTmpl);
  const zero = str('allow-container-concurrency-zero');
  if (zero !== undefined) {
    try {
      d.allowContainerConcurrencyZero = parseGoBool(zero);
    } catch (err) {
      throw new ConfigError(`failed to parse "allow-container-concurrency-zero": ${(err as Error).message}`);
    }
  }
  d.revisionTimeoutSeconds = int('revision-timeout-seconds') ?? d.revisionTimeoutSeconds;
  d.maxRevisionTimeoutSeconds = int('max-revision-timeout-seconds') ?? d.maxRevisionTimeoutSeconds;
  d.revisionIdleTimeoutSeconds = int('revision-idle-timeout-seconds') ?? d.revisionIdleTimeoutSeconds;
  d.containerConcurrency = int('container-concurrency') ?? d.containerConcurrency;
  d.containerConcurrencyMaxLimit = int('container-concurrency-max-limit') ?? d.containerConcurrencyMaxLimit;
  for (const [key, field, resource] of RESOURCE_KEYS) {
    const v = str(key);
    if (v === undefined) continue;
    const q = parseQuantity(v);
    if (!q.ok) throw new ConfigError(`failed to parse "${key}": ${q.error}`);
    d[field][resource] = v;
  }
  // The response-start timeout follows the revision timeout unless set on its own.
  d.revisionResponseStartTimeoutSeconds = int('revision-response-start-timeout-seconds') ?? d.revisionTimeoutSeconds;

  if (d.revisionTimeoutSeconds > d.maxRevisionTimeoutSeconds) {
    throw new ConfigError(
      `revision-timeout-seconds (${d.revisionTimeoutSeconds}) cannot be greater than max-revision-timeout-seconds (${d.maxRevisionTimeoutSeconds})`,
    );
  }
  if (d.revisionResponseStartTimeoutSeconds > 0 && d.revisionResponseStartTimeoutSeconds > d.revisionTimeoutSeconds) {
    throw new ConfigError(
      `revision-response-start-timeout-seconds (${d.revisionResponseStartTimeoutSeconds}) cannot be greater than revision-timeout-seconds (${d.revisionTimeoutSeconds})`,
    );
  }
  if (d.revisionIdleTimeoutSeconds > 0 && d.revisionIdleTimeoutSeconds > d.revisionTimeoutSeconds) {
    throw new ConfigError(
      `revision-idle-timeout-seconds (${d.revisionIdleTimeoutSeconds}) cannot be greater than revision-timeout-seconds (${d.revisionTimeoutSeconds})`,
    );
  }
  if (d.containerConcurrencyMaxLimit < 1) {
    throw new ConfigError(`expected 1 <= ${d.containerConcurrencyMaxLimit} <= 2147483647: container-concurrency-max-limit`);
  }
  if (d.containerConcurrency < 0 || d.containerConcurrency > d.containerConcurrencyMaxLimit) {
    throw new ConfigError(`expected 0 <= ${d.containerConcurrency} <= ${d.containerConcurrencyMaxLimit}: container-concurrency`);
  }
  return d;
}

/**
 * The data Sluice writes when config-defaults is missing: Knative's defaults, explicitly, except
 * revision-response-start-timeout-seconds, which follows revision-timeout-seconds unless set.
 */
export function defaultDefaultsConfigData(): Record<string, string> {
  return {
    'revision-timeout-seconds': String(DEFAULTS.revisionTimeoutSeconds),
    'max-revision-timeout-seconds': String(DEFAULTS.maxRevisionTimeoutSeconds),
    'revision-idle-timeout-seconds': String(DEFAULTS.revisionIdleTimeoutSeconds),
    'container-name-template': DEFAULTS.containerNameTemplate,
    'init-container-name-template': DEFAULTS.initContainerNameTemplate,
    'container-concurrency': String(DEFAULTS.containerConcurrency),
    'container-concurrency-max-limit': String(DEFAULTS.containerConcurrencyMaxLimit),
    'allow-container-concurrency-zero': String(DEFAULTS.allowContainerConcurrencyZero),
  };
}

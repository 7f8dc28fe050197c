// The cluster settings admission and the gateway read, parsed from the ConfigMaps Knative keeps in
// knative-serving (config-features, config-defaults; config-gc for the revision GC), and the check admission applies to an edit
// of those ConfigMaps (Knative's configmap webhook refuses a value its parser refuses).

import { DEFAULTS, DEFAULTS_CONFIGMAP, parseDefaultsConfig, type ServingDefaults } from './config-defaults.js';
import { GC_CONFIGMAP, parseGcConfig } from './config-gc.js';
import { DEFAULT_FEATURES, FEATURES_CONFIGMAP, parseFeatures, type Features } from './features.js';

export const SERVING_NAMESPACE = 'knative-serving';

export interface ServingConfig {
  features: Features;
  defaults: ServingDefaults;
}

export const DEFAULT_SERVING_CONFIG: ServingConfig = { features: DEFAULT_FEATURES, defaults: DEFAULTS };

/** Parsers of the knative-serving ConfigMaps whose edits admission checks; each throws on bad data. */
const PARSERS = new Map<string, (data: Record<string, unknown>) => unknown>([
  [FEATURES_CONFIGMAP, parseFeatures],
  [DEFAULTS_CONFIGMAP, parseDefaultsConfig],
  [GC_CONFIGMAP, parseGcConfig],
]);

/** The parse error for a knative-serving ConfigMap Sluice reads, or undefined when it is fine (or not one of them). */
export function configMapProblem(namespace: string | undefined, name: string | undefined, data: unknown): string | undefined {
  if (namespace !== SERVING_NAMESPACE || !name) return undefined;
  const parse = PARSERS.get(name);
  if (!parse) return undefined;
  const d = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  try {
    parse(d);
    return undefined;
  } catch (err) {
    return String((err as Error)?.message ?? err);
  }
}

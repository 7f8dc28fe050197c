// Knative's revision garbage-collection settings (ConfigMap knative-serving/config-gc): how long a
// revision is kept after creation and after it was last routed, and how many non-active revisions
// a configuration keeps at least and at most. Keys, defaults, "disabled" and messages follow
// knative/serving pkg/gc/config.go.

import { GoParseError, parseGoDuration, parseGoInt } from '../autoscaler/goparse.js';
import { ConfigError } from './config-defaults.js';

export const GC_CONFIGMAP = 'config-gc';
/** Knative's value for a setting that is switched off. */
export const GC_DISABLED = -1;

export interface GcConfig {
  /** Milliseconds, or GC_DISABLED. */
  retainSinceCreateTimeMs: number;
  retainSinceLastActiveTimeMs: number;
  minNonActiveRevisions: number;
  /** A count, or GC_DISABLED. */
  maxNonActiveRevisions: number;
}

export const DEFAULT_GC: GcConfig = {
  retainSinceCreateTimeMs: 48 * 3600_000,
  retainSinceLastActiveTimeMs: 15 * 3600_000,
  minNonActiveRevisions: 20,
  maxNonActiveRevisions: 1000,
};

const str = (data: Record<string, unknown>, key: string): string => {
  const v = data[key];
  return typeof v === 'string' ? v : v === undefined ? '' : String(v);
};

function durationOrDisabled(data: Record<string, unknown>, key: string, def: number): number {
  const v = str(data, key);
  if (v === '') return def;
  if (v.toLowerCase() === 'disabled') return GC_DISABLED;
  let ms: number;
  try {
    ms = parseGoDuration(v);
  } catch (err) {
    if (err instanceof GoParseError) throw new ConfigError(`failed to parse ${key}: ${err.message}`);
    throw err;
  }
  if (ms < 0) throw new ConfigError(`failed to parse ${key}: must be non-negative`);
  return ms;
}

export function parseGcConfig(data: Record<string, unknown> = {}): GcConfig {
  const c: GcConfig = { ...DEFAULT_GC };
  const min = str(data, 'min-non-active-revisions');
  if (min !== '') {
    try {
      c.minNonActiveRevisions = parseGoInt(min);
    } catch (err) {
      throw new ConfigError(`failed to parse data: failed to parse "min-non-active-revisions": ${(err as Error).message}`);
    }
  }
  c.retainSinceCreateTimeMs = durationOrDisabled(data, 'retain-since-create-time', c.retainSinceCreateTimeMs);
  c.retainSinceLastActiveTimeMs = durationOrDisabled(data, 'retain-since-last-active-time', c.retainSinceLastActiveTimeMs);
  const max = str(data, 'max-non-active-revisions');
  if (max.toLowerCase() === 'disabled') c.maxNonActiveRevisions = GC_DISABLED;
  else if (max !== '') {
    try {
      c.maxNonActiveRevisions = parseGoInt(max, 64, 'strconv.ParseUint');
      if (c.maxNonActiveRevisions < 0) throw new GoParseError(`strconv.ParseUint: parsing "${max}": invalid syntax`);
    } catch (err) {
      throw new ConfigError(`failed to parse max-non-active-revisions: ${(err as Error).message}`);
    }
  }
  if (c.minNonActiveRevisions < 0) throw new ConfigError(`min-non-active-revisions must be non-negative, was: ${c.minNonActiveRevisions}`);
  if (c.maxNonActiveRevisions >= 0 && c.minNonActiveRevisions > c.maxNonActiveRevisions) {
    throw new ConfigError(
      `min-non-active-revisions(${c.minNonActiveRevisions}) must be <= max-non-active-revisions(${c.maxNonActiveRevisions})`,
    );
  }
  return c;
}

export function defaultGcConfigData(): Record<string, string> {
  return {
    'retain-since-create-time': '48h',
    'retain-since-last-active-time': '15h',
    'min-non-active-revisions': '20',
    'max-non-active-revisions': '1000',
  };
}

// Custom scaling plugins: a module that collects indicators and turns them into an instance count.
// The two halves of the article's "custom scaling plugin" — collect indicators, adjust instances —
// map to collect() and decide(); Sluice applies the number (bounded by min/max-scale).
//
// A plugin module's default export (or its export named `plugin`) is a ScalingPlugin object.
// Faults never escape runPlugin(): a throw, a rejected promise, a hang past the timeout, or a
// result that is not a finite number >= 0 becomes { error }, and the caller keeps the current scale.
// A fractional result is rounded up (like Knative's ceil) and reported. Note: a plugin that blocks
// the event loop (a synchronous infinite loop) cannot be interrupted in-process.

import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { clampDelay } from '../timers.js';
import type { TimedSample } from './metrics.js';

export interface PluginContext {
  revision: { namespace: string; name: string; key: string };
  annotations: Record<string, string>;
  /** Instances currently asked of the runtime. */
  current: number;
  ready: number;
  /** Data-plane samples of the last stable window, oldest first. */
  samples: readonly TimedSample[];
  /** Per-instance resource usage, when known. */
  usage: ReadonlyArray<{ id: string; cpuSeconds: number; rssBytes: number }>;
  /** Epoch ms. */
  now: number;
}

export type Indicators = Record<string, number>;

export interface ScalingPlugin {
  name: string;
  collect(ctx: PluginContext): Promise<Indicators> | Indicators;
  decide(indicators: Indicators, ctx: PluginContext): number | Promise<number>;
}

export class PluginLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot load scaling plugins:\n  ${problems.join('\n  ')}`);
    this.name = 'PluginLoadError';
  }
}

/** What is wrong with a candidate plugin object, or undefined when it is usable. */
export function pluginShapeProblem(p: unknown): string | undefined {
  if (p === null || typeof p !== 'object') return 'the module exports no plugin object (default export or `plugin`)';
  const o = p as Record<string, unknown>;
  if (typeof o.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.name)) {
    return 'plugin.name must be a lower-case DNS-style name such as "queue-depth"';
  }
  if (typeof o.collect !== 'function') return `plugin "${o.name}" has no collect(ctx) function`;
  if (typeof o.decide !== 'function') return `plugin "${o.name}" has no decide(indicators, ctx) function`;
  return undefined;
}

/**
 * Imports each path (relative paths are resolved against the working directory) and returns the
 * plugins by name. Every problem — missing file, import failure, wrong shape, duplicate name — is
 * collected and thrown together as one PluginLoadError.
 */
export async function loadPlugins(paths: readonly string[]): Promise<Map<string, ScalingPlugin>> {
  const plugins = new Map<string, ScalingPlugin>();
  const problems: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    if (!existsSync(abs)) {
      problems.push(`${p}: no such file`);
      continue;
    }
    let mod: Record<string, unknown>;
    try {
      mod = await import(pathToFileURL(abs).href);
    } catch (e) {
      problems.push(`${p}: import failed: ${(e as Error)?.message ?? String(e)}`);
      continue;
    }
    const candidate = mod.default ?? mod.plugin;
    const problem = pluginShapeProblem(candidate);
    if (problem) {
      problems.push(`${p}: ${problem}`);
      continue;
    }
    const plugin = candidate as ScalingPlugin;
    if (plugins.has(plugin.name)) {
      problems.push(`${p}: a plugin named "${plugin.name}" is already loaded`);
      continue;
    }
    plugins.set(plugin.name, plugin);
  }
  if (problems.length) throw new PluginLoadError(problems);
  return plugins;
}

export type PluginResult = { desired: number; rounded?: boolean } | { error: string };

const INT32_MAX = 2147483647;

/** Checks a decide() result: a finite number >= 0; fractions are rounded up. */
export function validatePluginResult(name: string, value: unknown): PluginResult {
  if (typeof value !== 'number') return { error: `plugin "${name}" returned ${describe(value)}, expected a number` };
  if (Number.isNaN(value)) return { error: `plugin "${name}" returned NaN` };
  if (!Number.isFinite(value)) return { error: `plugin "${name}" returned ${value}` };
  if (value < 0) return { error: `plugin "${name}" returned a negative count (${value})` };
  if (value > INT32_MAX) return { error: `plugin "${name}" returned ${value}, more than ${INT32_MAX}` };
  if (!Number.isInteger(value)) return { desired: Math.ceil(value), rounded: true };
  return { desired: value };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)})`;
  return `a${typeof v === 'object' ? 'n' : ''} ${typeof v}`;
}

function message(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  try {
    return typeof e === 'string' ? e : (JSON.stringify(e) ?? String(e));
  } catch {
    return String(e);
  }
}

/** Runs collect() then decide() under one deadline; never throws, never hangs past timeoutMs. */
export async function runPlugin(plugin: ScalingPlugin, ctx: PluginContext, timeoutMs: number): Promise<PluginResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<PluginResult>((done) => {
    // Not unref'd: a hung plugin must still get its answer when nothing else keeps the loop alive.
    timer = setTimeout(() => done({ error: `plugin "${plugin.name}" did not answer within ${timeoutMs} ms` }), clampDelay(timeoutMs));
  });
  const work = (async (): Promise<PluginResult> => {
    let indicators: Indicators;
    try {
      indicators = await plugin.collect(ctx);
    } catch (e) {
      return { error: `plugin "${plugin.name}" failed in collect: ${message(e)}` };
    }
    let value: unknown;
    try {
      value = await plugin.decide(indicators, ctx);
    } catch (e) {
      return { error: `plugin "${plugin.name}" failed in decide: ${message(e)}` };
    }
    return validatePluginResult(plugin.name, value);
  })();
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

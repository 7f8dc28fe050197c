// Keeps the parsed knative-serving ConfigMaps that admission, the gateway and the controllers read
// (config-features, config-defaults, …): writes each with Knative's defaults when it is missing
// (and again when it is deleted), and re-parses it on every change. Data that does not parse keeps
// the previous settings in force; admission refuses such edits in the first place.

import { isDeepStrictEqual } from 'node:util';
import { DEFAULTS_CONFIGMAP, defaultDefaultsConfigData, parseDefaultsConfig } from '../api/config-defaults.js';
import { defaultGcConfigData, GC_CONFIGMAP, type GcConfig, parseGcConfig } from '../api/config-gc.js';
import { defaultFeaturesConfigData, FEATURES_CONFIGMAP, parseFeatures } from '../api/features.js';
import { SERVING_NAMESPACE, type ServingConfig } from '../api/serving-config.js';
import type { KObject } from '../api/types.js';
import type { Store, WatchEvent } from '../store/store.js';
import { RES } from './context.js';

/** One ConfigMap Sluice owns in knative-serving: its defaults and how to parse it. */
export interface ConfigMapSpec<T> {
  name: string;
  component: string;
  defaultData: () => Record<string, string>;
  parse: (data: Record<string, unknown>) => T;
}

export function configMapObject(spec: ConfigMapSpec<unknown>, data: Record<string, string>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: spec.name,
      namespace: SERVING_NAMESPACE,
      labels: { 'app.kubernetes.io/name': 'knative-serving', 'app.kubernetes.io/component': spec.component },
    },
    data,
  };
}

const dataOf = (cm: KObject | undefined): Record<string, unknown> => {
  const d = cm?.data;
  return d && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : {};
};

/** A parsed view of one ConfigMap, kept current from the store's watch. */
export class WatchedConfigMap<T> {
  private value: T;
  private problem?: string;

  constructor(
    readonly spec: ConfigMapSpec<T>,
    private readonly store: Store,
    private readonly log: (msg: string) => void,
  ) {
    this.value = spec.parse({});
  }

  current(): T {
    return this.value;
  }

  /** Creates the ConfigMap with its defaults unless it exists (overrides are written into it), then reads it. */
  async ensure(overrides?: Record<string, string>): Promise<void> {
    let cm = await this.store.get(RES.configmaps, SERVING_NAMESPACE, this.spec.name);
    if (!cm) {
      try {
        cm = await this.store.create(RES.configmaps, configMapObject(this.spec, { ...this.spec.defaultData(), ...overrides }));
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
        cm = await this.store.get(RES.configmaps, SERVING_NAMESPACE, this.spec.name);
      }
    } else if (overrides) {
      const data = { ...dataOf(cm), ...overrides };
      if (!isDeepStrictEqual(data, dataOf(cm))) cm = await this.store.update(RES.configmaps, { ...cm, data });
    }
    this.apply(cm);
  }

  /** Handles a watch event on this ConfigMap; returns true when the parsed value changed. */
  async onEvent(e: WatchEvent): Promise<boolean> {
    if (e.type === 'DELETED') {
      // Without the ConfigMap Knative uses its defaults; Sluice writes them back so there is something to edit.
      this.log(`${this.spec.name} was deleted; recreating it with the defaults`);
      try {
        await this.store.create(RES.configmaps, configMapObject(this.spec, this.spec.defaultData()));
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
      return false;
    }
    return this.apply(e.object);
  }

  private apply(cm: KObject | undefined): boolean {
    try {
      const next = this.spec.parse(dataOf(cm));
      if (this.problem) this.log(`${this.spec.name} is valid again`);
      this.problem = undefined;
      const changed = !isDeepStrictEqual(next, this.value);
      this.value = next;
      return changed;
    } catch (err) {
      const problem = String((err as Error)?.message ?? err);
      if (problem !== this.problem) this.log(`${this.spec.name} refused, keeping the previous settings: ${problem}`);
      this.problem = problem;
      return false;
    }
  }
}

export const FEATURES_SPEC: ConfigMapSpec<ServingConfig['features']> = {
  name: FEATURES_CONFIGMAP,
  component: 'controller',
  defaultData: defaultFeaturesConfigData,
  parse: parseFeatures,
};

export const DEFAULTS_SPEC: ConfigMapSpec<ServingConfig['defaults']> = {
  name: DEFAULTS_CONFIGMAP,
  component: 'controller',
  defaultData: defaultDefaultsConfigData,
  parse: parseDefaultsConfig,
};

export const GC_SPEC: ConfigMapSpec<GcConfig> = {
  name: GC_CONFIGMAP,
  component: 'controller',
  defaultData: defaultGcConfigData,
  parse: parseGcConfig,
};

export interface ServingConfigOptions {
  store: Store;
  log: (msg: string) => void;
  /** Keys written into the ConfigMaps at startup, by ConfigMap name (tests turn features on this way). */
  overrides?: Record<string, Record<string, string>>;
}

/** config-features and config-defaults, as one current ServingConfig; config-gc beside them. */
export class ServingConfigWatcher {
  private readonly maps: WatchedConfigMap<unknown>[];
  private readonly features: WatchedConfigMap<ServingConfig['features']>;
  private readonly defaults: WatchedConfigMap<ServingConfig['defaults']>;
  private readonly gcMap: WatchedConfigMap<GcConfig>;
  private readonly listeners: (() => void)[] = [];
  private stopWatch?: () => void;

  constructor(private readonly o: ServingConfigOptions) {
    this.features = new WatchedConfigMap(FEATURES_SPEC, o.store, o.log);
    this.defaults = new WatchedConfigMap(DEFAULTS_SPEC, o.store, o.log);
    this.gcMap = new WatchedConfigMap(GC_SPEC, o.store, o.log);
    this.maps = [this.features, this.defaults, this.gcMap as WatchedConfigMap<unknown>];
  }

  /** config-gc as currently parsed. */
  gc(): GcConfig {
    return this.gcMap.current();
  }

  current(): ServingConfig {
    return { features: this.features.current(), defaults: this.defaults.current() };
  }

  /** Called after any watched ConfigMap's parsed value changed. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    // Watched from before the ensure writes, so the watch sees them (and whatever else comes).
    const since = (await this.o.store.list(RES.configmaps, SERVING_NAMESPACE)).resourceVersion;
    for (const m of this.maps) await m.ensure(this.o.overrides?.[m.spec.name]);
    const onEvent = (e: WatchEvent) => {
      const m = this.maps.find((x) => x.spec.name === e.object.metadata.name);
      if (!m) return;
      void m
        .onEvent(e)
        .then((changed) => {
          if (changed) for (const l of this.listeners) l();
        })
        .catch((err) => this.o.log(`${m.spec.name}: ${String((err as Error)?.message ?? err)}`));
    };
    this.stopWatch = await this.o.store.watch(RES.configmaps, { resourceVersion: since, namespace: SERVING_NAMESPACE }, { onEvent });
  }

  stop(): void {
    this.stopWatch?.();
  }
}

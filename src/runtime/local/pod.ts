// How to launch one instance of a revision (a "pod"): every container of the pod spec becomes a
// process of the instance. makeTemplate works out once per workload what never changes (each
// container's command from its image mapping, its probes, its mounts) or why the spec cannot run
// at all; at every start, resolve() reads the ConfigMaps and Secrets (env and volumes, so a start
// sees their current data, as a new container in Kubernetes does) and prepare() lays out the
// instance's volumes and gives each container its argv, working directory and environment.

import os from 'node:os';
import path from 'node:path';
import type { Container, RevisionSpec } from '../../api/types.js';
import { configRefs, type ConfigLookup, type ConfigRef } from '../config-refs.js';
import { isResolveError, resolveCommand, type ImageMapping } from '../image-map.js';
import type { WorkloadFailure, WorkloadSpec } from '../runtime.js';
import { resolveContainerEnv, type EnvEntry, type PodFacts } from './config-env.js';
import { buildEnv, expandVars } from './env.js';
import { normalizeProbe, type ProbeConfig } from './probe.js';
import type { InstanceFiles } from './volume-files.js';
import { planMounts, planVolumes, rewritePaths, type MountPlan, type VolumeContent } from './volumes.js';

/** The variable that names the directory under which a container's mountPaths appear. */
export const MOUNT_ROOT_ENV = 'SLUICE_MOUNT_ROOT';

export interface ContainerTemplate {
  name: string;
  /** The container with the port: gets PORT, and its readiness gates routing. */
  serving: boolean;
  container: Container;
  /** argv before $(VAR) expansion and mount path rewriting. */
  command: string[];
  cwd: string;
  mappingEnv: Record<string, string>;
  /** Always set for the serving container (Knative's default TCP check); a sidecar's only when declared. */
  readiness?: ProbeConfig;
  liveness?: ProbeConfig;
  mounts: MountPlan[];
}

/** What one start read from ConfigMaps and Secrets. */
export interface Resolved {
  env: Map<string, EnvEntry[]>;
  volumes: Map<string, VolumeContent>;
}

export interface PreparedContainer {
  name: string;
  serving: boolean;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  readiness?: ProbeConfig;
  liveness?: ProbeConfig;
}

export interface LaunchTemplate {
  key: string;
  namespace: string;
  containers: ContainerTemplate[];
  /** The ConfigMaps and Secrets the spec reads: a change to one wakes instances waiting on it. */
  refs: ConfigRef[];
  /** Reads the referenced data now; throws ConfigError when something non-optional is missing. */
  resolve(instanceId: string): Resolved;
  /** Writes the volumes and builds each container's process for the instance's port. */
  prepare(resolved: Resolved, port: number, files: InstanceFiles): PreparedContainer[];
  /** The volumes' current content, for refreshing a running instance (throws ConfigError). */
  volumes(instanceId: string): Map<string, VolumeContent>;
}

export interface PodContext {
  imageMappings: readonly ImageMapping[];
  dataDir: string;
  host: string;
  baseEnv: Record<string, string | undefined>;
  /** Variables every container gets from the platform (read at each start). */
  platformEnv: () => Record<string, string>;
  config: ConfigLookup;
}

const containerName = (c: Container, i: number) =>
  typeof c.name === 'string' && c.name !== '' ? c.name : i === 0 ? 'user-container' : `container-${i}`;

/** Knative's rule, validated at admission: the serving container is the one with a port (else the only one). */
export function servingIndex(containers: readonly Container[]): number {
  const i = containers.findIndex((c) => Array.isArray(c.ports) && c.ports.length > 0);
  return i === -1 ? 0 : i;
}

function containerTemplate(c: Container, i: number, serving: boolean, ctx: PodContext): ContainerTemplate | WorkloadFailure {
  const name = containerName(c, i);
  const label = (what: string) => (serving ? what : `container "${name}": ${what}`);
  const resolved = resolveCommand(c, ctx.imageMappings);
  if (isResolveError(resolved)) return { reason: resolved.error.reason, message: label(resolved.error.message) };
  let readiness: ProbeConfig | undefined;
  if (serving || c.readinessProbe) {
    const r = normalizeProbe(c.readinessProbe, c.ports, 'readinessProbe', !serving);
    if ('error' in r) return { reason: 'InvalidProbe', message: label(r.error) };
    readiness = r;
  }
  let liveness: ProbeConfig | undefined;
  if (c.livenessProbe) {
    const l = normalizeProbe(c.livenessProbe, c.ports, 'livenessProbe', !serving);
    if ('error' in l) return { reason: 'InvalidProbe', message: label(l.error) };
    liveness = l;
  }
  return {
    name,
    serving,
    container: c,
    command: resolved.command,
    // A relative workingDir is taken relative to where Sluice was started.
    cwd: resolved.workingDir ? path.resolve(resolved.workingDir) : ctx.dataDir,
    mappingEnv: resolved.env,
    ...(readiness ? { readiness } : {}),
    ...(liveness ? { liveness } : {}),
    mounts: planMounts(c),
  };
}

/** Works out how to launch the spec's containers, or why they cannot be launched. */
export function makeTemplate(spec: WorkloadSpec, ctx: PodContext): LaunchTemplate | WorkloadFailure {
  const podSpec: RevisionSpec = spec.podSpec ?? { containers: [spec.container] };
  const list = Array.isArray(podSpec.containers) && podSpec.containers.length > 0 ? podSpec.containers : [spec.container];
  const si = servingIndex(list);
  const containers: ContainerTemplate[] = [];
  for (const [i, c] of list.entries()) {
    const t = containerTemplate(c, i, i === si, ctx);
    if (!('command' in t)) return t;
    containers.push(t);
  }
  const facts = (instanceId: string): PodFacts => ({
    namespace: spec.namespace,
    name: instanceId,
    uid: instanceId,
    labels: { ...(spec.labels ?? {}), 'serving.knative.dev/revision': spec.revision },
    annotations: { ...(spec.annotations ?? {}) },
    nodeName: os.hostname(),
    serviceAccountName:
      typeof podSpec.serviceAccountName === 'string' && podSpec.serviceAccountName ? podSpec.serviceAccountName : 'default',
    podIP: ctx.host,
    hostIP: ctx.host,
  });
  const platform = (serving: boolean, port: number): Record<string, string> => ({
    ...ctx.platformEnv(),
    // Knative gives PORT to the serving container only; every container gets the K_ variables.
    ...(serving ? { PORT: String(port) } : {}),
    HOST: ctx.host,
    K_REVISION: spec.revision,
    K_CONFIGURATION: spec.configuration,
    ...(spec.service ? { K_SERVICE: spec.service } : {}),
  });
  return {
    key: spec.key,
    namespace: spec.namespace,
    containers,
    refs: configRefs(podSpec),
    resolve: (instanceId) => {
      const pod = facts(instanceId);
      const env = new Map<string, EnvEntry[]>();
      for (const t of containers) env.set(t.name, resolveContainerEnv(t.container, spec.namespace, ctx.config, pod));
      return { env, volumes: planVolumes(podSpec, spec.namespace, ctx.config, pod) };
    },
    volumes: (instanceId) => planVolumes(podSpec, spec.namespace, ctx.config, facts(instanceId)),
    prepare: (resolved, port, files) => {
      files.writeVolumes(resolved.volumes);
      return containers.map((t) => {
        const mounts = files.linkMounts(t.name, t.mounts);
        const entries = (resolved.env.get(t.name) ?? []).map((e) => ({ ...e, value: rewritePaths(e.value, mounts) }));
        const env = buildEnv({
          base: ctx.baseEnv,
          mappingEnv: t.mappingEnv,
          containerEnv: entries,
          platform: { ...platform(t.serving, port), ...(t.mounts.length ? { [MOUNT_ROOT_ENV]: files.mountRoot(t.name) } : {}) },
        });
        return {
          name: t.name,
          serving: t.serving,
          argv: t.command.map((a) => rewritePaths(expandVars(a, env), mounts)),
          cwd: rewritePaths(t.cwd, mounts),
          env,
          ...(t.readiness ? { readiness: t.readiness } : {}),
          ...(t.liveness ? { liveness: t.liveness } : {}),
        };
      });
    },
  };
}

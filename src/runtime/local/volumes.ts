// What an instance's volumes hold and where its containers see them, worked out as data (pure):
//   planVolumes  configMap, secret and projected volumes → the files to write (items or every key,
//                defaultMode / mode, optional honoured; downwardAPI and resourceFieldRef files),
//                emptyDir → an empty writable directory. A missing ConfigMap, Secret or key is the
//                kubelet's FailedMount, in its words.
//   planMounts   each volumeMount of a container: the volume (and subPath) it shows at mountPath.
//   rewritePaths a process cannot see /etc/config without a mount namespace, so a mountPath named
//                in the container's command, args, env values or workingDir is rewritten to the
//                directory that holds the mount for this instance (see README.md).

import path from 'node:path';
import type { Container, RevisionSpec } from '../../api/types.js';
import type { ConfigKind, ConfigLookup } from '../config-refs.js';
import { ConfigError, downwardFieldValue, notFoundMessage, resourceValue, type PodFacts } from './config-env.js';

export interface VolumeFile {
  /** Relative to the volume's root. */
  path: string;
  data: Buffer;
  mode: number;
}

export type VolumeContent = { kind: 'emptyDir' } | { kind: 'files'; files: VolumeFile[] };

/** Kubernetes' default file mode for configMap, secret, projected and downwardAPI volumes (0644). */
export const DEFAULT_MODE = 0o644;

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const modeOf = (v: unknown, dflt: number): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0o777 ? v : dflt);

/** A relative path inside the volume, or an error (admission refuses these already; this is defence). */
function safeRelative(p: unknown, volume: string): string {
  const s = String(p ?? '');
  const norm = path.posix.normalize(s);
  if (s === '' || path.posix.isAbsolute(s) || norm === '..' || norm.startsWith('../') || s.split('/').includes('..'))
    throw new ConfigError('FailedMount', `MountVolume.SetUp failed for volume "${volume}" : invalid path "${s}"`);
  return norm;
}

function failed(volume: string, why: string): never {
  throw new ConfigError('FailedMount', `MountVolume.SetUp failed for volume "${volume}" : ${why}`);
}

/** The files of one configMap or secret source (a volume of its own or a projected source). */
function objectFiles(
  kind: ConfigKind,
  name: string,
  src: Record<string, any>,
  volume: string,
  defaultMode: number,
  namespace: string,
  lookup: ConfigLookup,
): VolumeFile[] {
  const data = lookup.get(kind, namespace, name);
  if (!data) {
    if (src.optional === true) return [];
    failed(volume, notFoundMessage(kind, name));
  }
  const items = list(src.items);
  if (items.length === 0) return [...data].map(([key, bytes]) => ({ path: safeRelative(key, volume), data: bytes, mode: defaultMode }));
  const files: VolumeFile[] = [];
  for (const it of items) {
    const bytes = data.get(String(it?.key));
    if (bytes === undefined) {
      if (src.optional === true) continue;
      failed(
        volume,
        kind === 'ConfigMap'
          ? `configmap references non-existent config key: ${it?.key}`
          : `references non-existent secret key: ${it?.key}`,
      );
    }
    files.push({ path: safeRelative(it.path, volume), data: bytes, mode: modeOf(it.mode, defaultMode) });
  }
  return files;
}

/** metadata.labels / metadata.annotations as a downwardAPI file: key="value" lines, sorted. */
function mapFile(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`)
    .join('\n');
}

function downwardFiles(items: unknown, volume: string, defaultMode: number, pod: PodFacts, containers: Container[]): VolumeFile[] {
  return list(items).map((it): VolumeFile => {
    let value: string;
    if (isObject(it?.fieldRef)) {
      const fp = String(it.fieldRef.fieldPath ?? '');
      value =
        fp === 'metadata.labels'
          ? mapFile(pod.labels)
          : fp === 'metadata.annotations'
            ? mapFile(pod.annotations)
            : downwardFieldValue(fp, pod);
    } else if (isObject(it?.resourceFieldRef)) {
      const c = containers.find((x) => x.name === it.resourceFieldRef.containerName) ?? containers[0];
      value = resourceValue(it.resourceFieldRef, c ?? {});
    } else value = '';
    return { path: safeRelative(it?.path, volume), data: Buffer.from(value, 'utf8'), mode: modeOf(it?.mode, defaultMode) };
  });
}

/** Every volume of the pod spec by name. Throws ConfigError (FailedMount) for a missing reference. */
export function planVolumes(spec: RevisionSpec, namespace: string, lookup: ConfigLookup, pod: PodFacts): Map<string, VolumeContent> {
  const out = new Map<string, VolumeContent>();
  const containers = list(spec.containers) as Container[];
  for (const v of list(spec.volumes)) {
    const name = String(v?.name ?? '');
    if (isObject(v.emptyDir)) out.set(name, { kind: 'emptyDir' });
    else if (isObject(v.configMap) || isObject(v.secret)) {
      const kind: ConfigKind = isObject(v.configMap) ? 'ConfigMap' : 'Secret';
      const src = kind === 'ConfigMap' ? v.configMap : v.secret;
      const object = String((kind === 'ConfigMap' ? src.name : src.secretName) ?? '');
      const files = objectFiles(kind, object, src, name, modeOf(src.defaultMode, DEFAULT_MODE), namespace, lookup);
      out.set(name, { kind: 'files', files });
    } else if (isObject(v.projected)) {
      const mode = modeOf(v.projected.defaultMode, DEFAULT_MODE);
      const files: VolumeFile[] = [];
      for (const src of list(v.projected.sources)) {
        if (isObject(src?.configMap))
          files.push(...objectFiles('ConfigMap', String(src.configMap.name ?? ''), src.configMap, name, mode, namespace, lookup));
        else if (isObject(src?.secret))
          files.push(...objectFiles('Secret', String(src.secret.name ?? ''), src.secret, name, mode, namespace, lookup));
        else if (isObject(src?.downwardAPI)) files.push(...downwardFiles(src.downwardAPI.items, name, mode, pod, containers));
      }
      out.set(name, { kind: 'files', files });
    }
  }
  return out;
}

export interface MountPlan {
  mountPath: string;
  volume: string;
  /** A path inside the volume to mount instead of its root. */
  subPath?: string;
  readOnly: boolean;
}

export function planMounts(c: Container): MountPlan[] {
  return list(c.volumeMounts)
    .filter((m) => isObject(m) && typeof m.mountPath === 'string' && m.mountPath !== '')
    .map((m) => ({
      mountPath: path.posix.normalize(m.mountPath).replace(/(.)\/$/, '$1'),
      volume: String(m.name ?? ''),
      ...(typeof m.subPath === 'string' && m.subPath !== '' ? { subPath: safeRelative(m.subPath, String(m.name ?? '')) } : {}),
      readOnly: m.readOnly === true,
    }));
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Rewrites each mountPath in `s` to where the mount is for this instance: where it starts the
 * string or follows `=`, `:` or `,` (flags like --config=/etc/config/app.yaml, PATH-like lists)
 * and ends there or at a `/`. Longer mount paths first, so /etc/config/extra wins over /etc/config.
 */
export function rewritePaths(s: string, mounts: readonly { mountPath: string; localPath: string }[]): string {
  const sorted = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length);
  if (sorted.length === 0) return s;
  const re = new RegExp(`(^|[=:,])(${sorted.map((m) => escapeRe(m.mountPath)).join('|')})(?=$|[/:,])`, 'g');
  return s.replace(re, (_m, lead: string, mp: string) => lead + sorted.find((m) => m.mountPath === mp)!.localPath);
}

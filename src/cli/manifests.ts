// Reading manifests for `sluice apply -f`: multi-document YAML (JSON is YAML too), v1 Lists
// expanded, and each object matched to a served kind and version.

import YAML from 'yaml';
import { kindByKind, type ResourceKind } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import { CliError } from './errors.js';

export interface Manifest {
  obj: KObject;
  kind: ResourceKind;
  version: string;
}

export function parseManifests(text: string, source: string): Manifest[] {
  const docs = YAML.parseAllDocuments(text);
  const out: Manifest[] = [];
  // parseAllDocuments answers a lone EmptyStream for empty input.
  for (const [i, doc] of (Array.isArray(docs) ? docs : []).entries()) {
    if (doc.errors.length > 0) {
      throw new CliError(`${source}: document ${i + 1} is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
    }
    const value = doc.toJS();
    if (value === null || value === undefined) continue;
    for (const obj of expandLists(value, source)) out.push(resolveManifest(obj, source));
  }
  if (out.length === 0) throw new CliError(`${source}: no objects found`);
  return out;
}

function expandLists(value: unknown, source: string): KObject[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError(`${source}: expected an object with apiVersion and kind, got ${Array.isArray(value) ? 'a list' : typeof value}`);
  }
  const v = value as KObject;
  if (typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) {
    return (v.items as unknown[]).flatMap((item) => expandLists(item, source));
  }
  return [v];
}

function resolveManifest(obj: KObject, source: string): Manifest {
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') throw new CliError(`${source}: an object has no apiVersion`);
  if (typeof obj.kind !== 'string' || obj.kind === '') throw new CliError(`${source}: an object has no kind`);
  const slash = obj.apiVersion.lastIndexOf('/');
  const group = slash >= 0 ? obj.apiVersion.slice(0, slash) : '';
  const version = slash >= 0 ? obj.apiVersion.slice(slash + 1) : obj.apiVersion;
  const kind = kindByKind(obj.kind, group);
  if (!kind || !kind.servedVersions.includes(version)) {
    throw new CliError(`${source}: no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`);
  }
  if (typeof obj.metadata !== 'object' || obj.metadata === null) obj.metadata = {};
  if (!obj.metadata.name && !obj.metadata.generateName) throw new CliError(`${source}: a ${obj.kind} has no metadata.name`);
  return { obj, kind, version };
}

/**
 * The body `apply` PUTs over an existing object: the manifest's spec (and other top-level fields)
 * replace the live ones, while labels and annotations merge, so annotations the server set (such
 * as serving.knative.dev/creator) survive. Status is the server's and is never sent.
 */
export function mergeForUpdate(current: KObject, desired: KObject): KObject {
  const { status: _s, metadata: dm, ...rest } = desired;
  const cm = current.metadata ?? {};
  const merged: KObject = {
    ...rest,
    metadata: {
      ...cm,
      labels: { ...(cm.labels ?? {}), ...(dm?.labels ?? {}) },
      annotations: { ...(cm.annotations ?? {}), ...(dm?.annotations ?? {}) },
    },
  } as KObject;
  if (Object.keys(merged.metadata.labels!).length === 0) delete merged.metadata.labels;
  if (Object.keys(merged.metadata.annotations!).length === 0) delete merged.metadata.annotations;
  return merged;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});

function content(o: KObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

/** Whether an update changed anything the user wrote: spec (or data), labels or annotations. */
export function changed(before: KObject, after: KObject): boolean {
  return (
    before.metadata?.generation !== after.metadata?.generation ||
    !sameJson(before.metadata?.labels, after.metadata?.labels) ||
    !sameJson(before.metadata?.annotations, after.metadata?.annotations) ||
    !sameJson(content(before), content(after))
  );
}

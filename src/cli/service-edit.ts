// `sluice service create/update` flags -> Service object. Pure: the caller fetches and stores.

import { randomInt } from 'node:crypto';
import type { Container, Service } from '../api/types.js';
import { CliError } from './errors.js';

export const MIN_SCALE = 'autoscaling.knative.dev/min-scale';
export const MAX_SCALE = 'autoscaling.knative.dev/max-scale';
const AUTOSCALING_PREFIX = 'autoscaling.knative.dev/';

export interface EditFlags {
  image?: string;
  env?: string[];
  revisionName?: string;
  port?: string;
  concurrencyLimit?: string;
  scaleMin?: string;
  scaleMax?: string;
  annotation?: string[];
  cmd?: string[];
  arg?: string[];
}

/** NAME=VALUE sets, NAME- removes (kn's convention for --env, --annotation, --label). */
export function parseKeyValues(values: string[] | undefined, flag: string): { set: [string, string][]; remove: string[] } {
  const set: [string, string][] = [];
  const remove: string[] = [];
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq > 0) set.push([v.slice(0, eq), v.slice(eq + 1)]);
    else if (eq < 0 && v.length > 1 && v.endsWith('-')) remove.push(v.slice(0, -1));
    else throw new CliError(`invalid --${flag} "${v}": expected NAME=VALUE, or NAME- to remove it`);
  }
  return { set, remove };
}

function parseCount(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new CliError(`invalid --${flag} "${v}": expected a whole number`);
  return Number(v);
}

/** --port accepts PORT or NAME:PORT (e.g. h2c:8080), like kn. */
export function parsePort(v: string): { containerPort: number; name?: string } {
  const m = /^(?:([a-z0-9-]+):)?(\d+)$/.exec(v.trim());
  if (!m) throw new CliError(`invalid --port "${v}": expected PORT or NAME:PORT`);
  return m[1] ? { name: m[1], containerPort: Number(m[2]) } : { containerPort: Number(m[2]) };
}

/**
 * Expands kn's revision-name templates ({{.Service}}, {{.Generation}}, {{.Random N}}) and, like kn,
 * prefixes "SERVICE-" when the result doesn't already start with it: `--revision-name v1` on
 * service "stock" names the revision "stock-v1". Only these three placeholders are understood;
 * anything else in braces is an error rather than Go-template evaluation.
 */
export function revisionName(
  template: string,
  service: string,
  nextGeneration: number,
  random: (n: number) => string = randomConsonants,
): string {
  const out = template.replace(/\{\{\s*\.(\w+)(?:\s+(\d+))?\s*\}\}/g, (whole, field: string, n?: string) => {
    if (field === 'Service' && !n) return service;
    if (field === 'Generation' && !n) return String(nextGeneration);
    if (field === 'Random' && n) return random(Number(n));
    throw new CliError(
      `invalid --revision-name "${template}": unknown placeholder ${whole} (use {{.Service}}, {{.Generation}} or {{.Random N}})`,
    );
  });
  if (out.includes('{{')) throw new CliError(`invalid --revision-name "${template}": unbalanced {{ }}`);
  if (out === '') return '';
  return out.startsWith(`${service}-`) ? out : `${service}-${out}`;
}

function randomConsonants(n: number): string {
  const letters = 'bcdfghjklmnpqrstvwxyz';
  let s = '';
  for (let i = 0; i < n; i++) s += letters[randomInt(letters.length)];
  return s;
}

export function newService(name: string, namespace: string): Service {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { template: { spec: { containers: [{}] } } },
  };
}

function stripEmpty(obj: Record<string, unknown> | undefined): Record<string, string> | undefined {
  return obj && Object.keys(obj).length > 0 ? (obj as Record<string, string>) : undefined;
}

/**
 * Applies create/update flags to a copy of `svc`. The revision template is only touched by flags
 * that shape a revision, so a traffic-only update leaves it byte-for-byte as it was and no revision
 * is created. Returns whether the template changed.
 */
export function applyEdits(svc: Service, flags: EditFlags, random?: (n: number) => string): { service: Service; templateChanged: boolean } {
  const service: Service = structuredClone(svc);
  const name = service.metadata.name ?? '';
  service.spec ??= { template: { spec: { containers: [{}] } } };
  const template = (service.spec.template ??= { spec: { containers: [{}] } });
  template.spec ??= { containers: [{}] };
  if (!Array.isArray(template.spec.containers) || template.spec.containers.length === 0) template.spec.containers = [{}];
  const before = JSON.stringify({ meta: template.metadata ?? {}, spec: template.spec });
  const ctr: Container = template.spec.containers[0];

  if (flags.image !== undefined) ctr.image = flags.image;
  if (flags.cmd && flags.cmd.length > 0) ctr.command = [...flags.cmd];
  if (flags.arg && flags.arg.length > 0) ctr.args = [...flags.arg];
  if (flags.port !== undefined) ctr.ports = [parsePort(flags.port)];

  if (flags.env && flags.env.length > 0) {
    const { set, remove } = parseKeyValues(flags.env, 'env');
    let env = (ctr.env ?? []).filter((e) => !remove.includes(e.name));
    for (const [k, v] of set) {
      const existing = env.find((e) => e.name === k);
      if (existing) {
        existing.value = v;
        delete existing.valueFrom;
      } else env = [...env, { name: k, value: v }];
    }
    if (env.length > 0) ctr.env = env;
    else delete ctr.env;
  }

  const limit = parseCount(flags.concurrencyLimit, 'concurrency-limit');
  if (limit !== undefined) template.spec.containerConcurrency = limit;

  const tmplAnn: Record<string, string> = { ...(template.metadata?.annotations ?? {}) };
  const scaleMin = parseCount(flags.scaleMin, 'scale-min');
  const scaleMax = parseCount(flags.scaleMax, 'scale-max');
  if (scaleMin !== undefined) tmplAnn[MIN_SCALE] = String(scaleMin);
  if (scaleMax !== undefined) tmplAnn[MAX_SCALE] = String(scaleMax);

  if (flags.annotation && flags.annotation.length > 0) {
    const { set, remove } = parseKeyValues(flags.annotation, 'annotation');
    const svcAnn: Record<string, string> = { ...(service.metadata.annotations ?? {}) };
    for (const k of remove) {
      delete tmplAnn[k];
      delete svcAnn[k];
    }
    for (const [k, v] of set) {
      tmplAnn[k] = v;
      // Autoscaling annotations belong on revisions; Knative rejects them on a Service.
      if (!k.startsWith(AUTOSCALING_PREFIX)) svcAnn[k] = v;
    }
    service.metadata.annotations = stripEmpty(svcAnn);
    if (!service.metadata.annotations) delete service.metadata.annotations;
  }
  if (scaleMin !== undefined || scaleMax !== undefined || (flags.annotation && flags.annotation.length > 0)) {
    template.metadata = { ...(template.metadata ?? {}), annotations: tmplAnn };
    if (Object.keys(tmplAnn).length === 0) delete template.metadata.annotations;
  }

  const contentChanged = JSON.stringify({ meta: template.metadata ?? {}, spec: template.spec }) !== before;
  if (flags.revisionName !== undefined) {
    const next = revisionName(flags.revisionName, name, (service.metadata.generation ?? 0) + 1, random);
    template.metadata ??= {};
    if (next === '') delete template.metadata.name;
    else template.metadata.name = next;
  } else if (contentChanged && template.metadata?.name) {
    // A named revision can't be changed under the same name (Knative rejects it), so a new
    // revision without --revision-name gets a server-generated name instead.
    delete template.metadata.name;
  }
  const templateChanged = JSON.stringify({ meta: template.metadata ?? {}, spec: template.spec }) !== before;
  return { service, templateChanged };
}

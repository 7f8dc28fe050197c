// What Knative allows in a revision but Sluice's local process runtime cannot run yet, refused at
// admission with a message saying so (rather than accepted and silently ignored). Remove a rule
// here when the runtime learns the feature.

import { fe, type FieldError } from './field-error.js';
import type { RevisionSpec } from './types.js';

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function localRuntimeLimits(spec: RevisionSpec): FieldError[] {
  const errs: FieldError[] = [];
  const containers = list(spec.containers);
  if (containers.length > 1) errs.push(fe('Sluice runs one container per revision; sidecars are not supported yet', 'containers'));
  if (list(spec.volumes).length > 0) errs.push(fe('Sluice does not mount volumes yet', 'volumes'));
  containers.forEach((c, i) => {
    if (!isObject(c)) return;
    list(c.env).forEach((e, j) => {
      if (isObject(e) && e.valueFrom !== undefined) {
        errs.push(fe('Sluice does not resolve valueFrom (no Secrets or ConfigMaps in env yet)', `containers[${i}].env[${j}].valueFrom`));
      }
    });
    if (list(c.envFrom).length > 0)
      errs.push(fe('Sluice does not resolve envFrom (no Secrets or ConfigMaps in env yet)', `containers[${i}].envFrom`));
    for (const k of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      if (isObject(c[k]) && c[k].grpc !== undefined)
        errs.push(fe('Sluice does not run gRPC probes yet; use httpGet or tcpSocket', `containers[${i}].${k}.grpc`));
    }
  });
  return errs;
}

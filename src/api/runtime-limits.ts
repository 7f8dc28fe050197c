// What Knative allows in a revision but Sluice's local process runtime cannot run yet, refused at
// admission with a message saying so (rather than accepted and silently ignored). Remove a rule
// here when the runtime learns the feature.

import { fe, type FieldError } from './field-error.js';
import type { RevisionSpec } from './types.js';

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Volume sources behind config-features flags that the local runtime has nothing to back with. */
const UNBACKED_VOLUMES = ['persistentVolumeClaim', 'hostPath', 'csi', 'ephemeral', 'image'] as const;

export function localRuntimeLimits(spec: RevisionSpec): FieldError[] {
  const errs: FieldError[] = [];
  const containers = list(spec.containers);
  if (list(spec.initContainers).length > 0) errs.push(fe('Sluice does not run init containers yet', 'initContainers'));
  list(spec.volumes).forEach((v, i) => {
    if (!isObject(v)) return;
    for (const k of UNBACKED_VOLUMES) if (v[k] !== undefined) errs.push(fe(`Sluice cannot provide ${k} volumes`, `volumes[${i}].${k}`));
    list(isObject(v.projected) ? v.projected.sources : []).forEach((s, j) => {
      if (isObject(s) && s.serviceAccountToken !== undefined)
        errs.push(fe('Sluice issues no service account tokens', `volumes[${i}].projected.sources[${j}].serviceAccountToken`));
    });
  });
  containers.forEach((c, i) => {
    if (!isObject(c)) return;
    for (const k of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      if (isObject(c[k]) && c[k].grpc !== undefined)
        errs.push(fe('Sluice does not run gRPC probes yet; use httpGet or tcpSocket', `containers[${i}].${k}.grpc`));
    }
  });
  return errs;
}

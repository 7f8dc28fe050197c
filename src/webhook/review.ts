// AdmissionReview (admission.k8s.io/v1) in and out, around Sluice's own admission (src/api): the
// mutating answer is a JSON patch from the object to applyDefaults() of it (Knative's defaults and
// creator/lastModifier from the requesting user); the validating answer runs the same rules as
// embedded mode and denies with Knative's text, which kube-apiserver prefixes with
// `admission webhook "validation.webhook.serving.knative.dev" denied the request:`.

import jsonPatch from 'fast-json-patch';
import { admitWithStore, applyDefaults, type RevisionLookup } from '../api/admission.js';
import { DEFAULT_FEATURES } from '../api/features.js';
import { SERVING_GROUP } from '../api/types.js';
import { admissionWarnings } from '../api/warnings.js';
import { ApiError } from '../api/errors.js';
import { kindByKind } from '../api/registry.js';
import type { KObject } from '../api/types.js';

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  userInfo?: { username?: string };
  object?: KObject;
  oldObject?: KObject;
  name?: string;
  namespace?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code?: number; message: string; reason?: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

const reviewOf = (response: AdmissionResponse): AdmissionReview => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response,
});

function requestOf(body: unknown): AdmissionRequest {
  const r = (body as AdmissionReview | undefined)?.request;
  if (!r || typeof r.uid !== 'string' || !r.kind)
    throw new ApiError(400, 'BadRequest', 'expected an admission.k8s.io/v1 AdmissionReview with a request');
  return r;
}

/** Mutating admission: Knative's defaults as a JSON patch. */
export function mutate(body: unknown): AdmissionReview {
  const req = requestOf(body);
  const kind = kindByKind(req.kind.kind, req.kind.group);
  if (!kind || !req.object || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return reviewOf({ uid: req.uid, allowed: true });
  const defaulted = applyDefaults(kind.kind, req.object, req.userInfo?.username ?? 'system:unknown', req.oldObject);
  const ops = jsonPatch.compare(req.object, defaulted);
  if (!ops.length) return reviewOf({ uid: req.uid, allowed: true });
  return reviewOf({ uid: req.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') });
}

/** Validating admission: Knative's rules (the ones embedded mode runs), messages unchanged. */
export async function validate(body: unknown, lookup: RevisionLookup): Promise<AdmissionReview> {
  const req = requestOf(body);
  const kind = kindByKind(req.kind.kind, req.kind.group);
  if (!kind || !req.object || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return reviewOf({ uid: req.uid, allowed: true });
  // Knative answers its warnings with the verdict, allowed or not; kube-apiserver relays them as Warning headers.
  const warnings = kind.group === SERVING_GROUP ? admissionWarnings(kind.kind, req.object, DEFAULT_FEATURES) : [];
  const withWarnings = (r: AdmissionResponse): AdmissionResponse => (warnings.length ? { ...r, warnings } : r);
  try {
    await admitWithStore(lookup)(kind, req.object, req.operation === 'UPDATE' ? req.oldObject : undefined);
    return reviewOf(withWarnings({ uid: req.uid, allowed: true }));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const message = e.reason === 'Invalid' ? `validation failed: ${e.message}` : e.message;
    // No code: kube-apiserver then reports the denial as 400 BadRequest, as it does for Knative.
    return reviewOf(
      withWarnings({ uid: req.uid, allowed: false, status: { message, reason: e.reason === 'Invalid' ? 'BadRequest' : e.reason } }),
    );
  }
}

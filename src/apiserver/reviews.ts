// The self-reviews kubectl asks about the caller: SelfSubjectAccessReview (`kubectl auth can-i`),
// SelfSubjectRulesReview (`kubectl auth can-i --list`) and SelfSubjectReview (`kubectl auth
// whoami`). Sluice has one credential, the bearer token of its kubeconfig, and that user may do
// everything the API serves — so the truthful answer is "yes" for a verb a served resource
// supports and "no" (with the reason) for resources or verbs Sluice does not serve.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from '../api/errors.js';
import { KINDS } from '../api/registry.js';
import { decodeBody, isPlainObject, readBody } from './body.js';
import { methodNotAllowed, sendJson } from './status.js';

/** The user behind the token (also the creator Knative's admission records). */
export const USER = { username: 'sluice-admin', groups: ['system:masters', 'system:authenticated'] };

const RESOURCE_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const NON_RESOURCE_PREFIXES = ['/api', '/apis', '/version', '/openapi', '/healthz', '/livez', '/readyz'];

export const REVIEW_PATHS: Record<string, string> = {
  '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews': 'SelfSubjectAccessReview',
  '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews': 'SelfSubjectRulesReview',
  '/apis/authentication.k8s.io/v1/selfsubjectreviews': 'SelfSubjectReview',
};

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

/** Whether the token's user may do this, and why not. */
export function accessDecision(
  a: ResourceAttributes | undefined,
  nonResource?: { path?: string; verb?: string },
): { allowed: boolean; reason?: string } {
  if (a) {
    const verb = a.verb ?? '';
    const resource = a.resource ?? '';
    const group = a.group ?? '';
    if (resource === '*' || group === '*') return { allowed: true, reason: 'the Sluice token may use every resource Sluice serves' };
    const kind = KINDS.find((k) => k.plural === resource && k.group === group);
    if (!kind) return { allowed: false, reason: `Sluice does not serve ${resource}${group ? `.${group}` : ''}` };
    const sub = a.subresource ?? '';
    const verbs =
      sub === ''
        ? RESOURCE_VERBS
        : sub === 'status' && kind.hasStatus
          ? ['get', 'update', 'patch']
          : sub === 'log' && kind.kind === 'Revision'
            ? ['get']
            : [];
    if (verbs.length === 0) return { allowed: false, reason: `Sluice does not serve ${resource}/${sub}` };
    if (verb !== '*' && !verbs.includes(verb))
      return { allowed: false, reason: `${resource}${sub ? `/${sub}` : ''} does not support the verb "${verb}"` };
    return { allowed: true, reason: 'the Sluice token may use every resource Sluice serves' };
  }
  const path = nonResource?.path ?? '';
  const verb = (nonResource?.verb ?? '').toLowerCase();
  const served =
    path === '*' || NON_RESOURCE_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`) || path === `${p}*` || path === `${p}/*`);
  if (served && (verb === 'get' || verb === '*' || verb === 'head')) return { allowed: true };
  return { allowed: false, reason: served ? `${path} is read-only` : `Sluice does not serve ${path}` };
}

export async function serveReview(req: IncomingMessage, res: ServerResponse, kind: string, maxBodyBytes: number): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed(req.method ?? 'GET');
  const body = decodeBody(await readBody(req, maxBodyBytes), req.headers['content-type'], kind);
  if (!isPlainObject(body)) throw badRequest(`${kind} must be an object`);
  const group = kind === 'SelfSubjectReview' ? 'authentication.k8s.io' : 'authorization.k8s.io';
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const base = { apiVersion: `${group}/v1`, kind, metadata: { creationTimestamp: now } };
  const spec = isPlainObject(body.spec) ? body.spec : {};
  switch (kind) {
    case 'SelfSubjectAccessReview': {
      const ra = isPlainObject(spec.resourceAttributes) ? (spec.resourceAttributes as ResourceAttributes) : undefined;
      const nra = isPlainObject(spec.nonResourceAttributes) ? (spec.nonResourceAttributes as { path?: string; verb?: string }) : undefined;
      if (!ra && !nra) {
        throw badRequest(
          'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
        );
      }
      sendJson(res, 201, { ...base, spec, status: accessDecision(ra, ra ? undefined : nra) });
      return;
    }
    case 'SelfSubjectRulesReview': {
      const resourceRules = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }];
      const nonResourceRules = [{ verbs: ['get'], nonResourceURLs: NON_RESOURCE_PREFIXES.flatMap((p) => [p, `${p}/*`]) }];
      sendJson(res, 201, { ...base, spec, status: { resourceRules, nonResourceRules, incomplete: false } });
      return;
    }
    default:
      sendJson(res, 201, { ...base, status: { userInfo: USER } });
  }
}

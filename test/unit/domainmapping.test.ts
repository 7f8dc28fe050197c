// DomainMapping's admission and status as pure functions (src/api/domainmapping.ts), in table
// form after Knative's domainmapping_validation_test.go and domainmapping_lifecycle_test.go.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit } from '../../src/api/admission.js';
import { claimFacts, domainMappingStatus, fqdnError, resolveTarget, type DomainMapping } from '../../src/api/domainmapping.js';
import { findKind } from '../../src/api/registry.js';
import type { KObject } from '../../src/api/types.js';
import { messageOf } from '../support/refusal.js';

const dmKind = findKind('dm')!;
const DM = (name: string, spec: unknown, extra: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'serving.knative.dev/v1beta1',
  kind: 'DomainMapping',
  metadata: { name, namespace: 'ns', ...extra },
  spec,
});
const ref = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello' };

test("DomainMapping validation: names, the ref, Knative's messages", () => {
  const cases: [string, KObject, string][] = [
    ['valid', DM('hello.example.com', { ref }), '(accepted)'],
    ['trailing dot allowed', DM('hello.example.com.', { ref }), '(accepted)'],
    [
      'one label',
      DM('hello', { ref }),
      'invalid name "hello": name: Invalid value: "hello": should be a domain with at least two segments separated by dots: metadata.name',
    ],
    [
      'a label too long',
      DM(`${'a'.repeat(64)}.example.com`, { ref }),
      `invalid name "${'a'.repeat(64)}.example.com": name: Invalid value: "${'a'.repeat(64)}": must be no more than 63 characters: metadata.name`,
    ],
    [
      'cluster-local domain',
      DM('hello.ns.svc.cluster.local', { ref }),
      'invalid name "hello.ns.svc.cluster.local": must not be a subdomain of cluster local domain "cluster.local": metadata.name',
    ],
    ['generateName', DM('hello.example.com', { ref }, { generateName: 'x-' }), 'must not set the field(s): metadata.generateName'],
    ['no spec', DM('hello.example.com', undefined), 'missing field(s): spec.ref.apiVersion, spec.ref.kind, spec.ref.name'],
    ['ref without kind', DM('hello.example.com', { ref: { ...ref, kind: '' } }), 'missing field(s): spec.ref.kind'],
    [
      'ref with group',
      DM('hello.example.com', { ref: { ...ref, group: 'serving.knative.dev' } }),
      'must not set the field(s): spec.ref.group',
    ],
    [
      'ref in another namespace',
      DM('hello.example.com', { ref: { ...ref, namespace: 'other' } }),
      'mismatched namespaces: spec.ref.namespace\nparent namespace: "ns" does not match ref: "other"',
    ],
    [
      'tls',
      DM('hello.example.com', { ref, tls: { secretName: 's' } }),
      'TLS termination with an existing secret is not supported by the Sluice gateway (it serves plain HTTP); remove spec.tls: spec.tls',
    ],
  ];
  for (const [name, obj, want] of cases)
    assert.equal(
      messageOf(() => admit(dmKind, obj, undefined)),
      want,
      name,
    );
  const admitted = admit(dmKind, DM('hello.example.com', { ref }), undefined);
  assert.equal(admitted.spec.ref.namespace, 'ns', "the ref defaults to the mapping's namespace");
  assert.equal(admitted.metadata.annotations?.['serving.knative.dev/creator'], 'sluice-admin');
  const forged = {
    ...admitted,
    metadata: {
      ...admitted.metadata,
      annotations: { 'serving.knative.dev/creator': 'x', 'serving.knative.dev/lastModifier': 'sluice-admin' },
    },
  };
  assert.equal(
    messageOf(() => admit(dmKind, forged, admitted)),
    'annotation value is immutable: metadata.annotations.serving.knative.dev/creator',
  );
  assert.equal(fqdnError('name', ''), 'name: Required value');
});

test("DomainMapping claims: present and ours, another namespace's, missing with and without autocreate", () => {
  const cdc = (namespace: string): KObject => ({
    apiVersion: 'networking.internal.knative.dev/v1alpha1',
    kind: 'ClusterDomainClaim',
    metadata: { name: 'd' },
    spec: { namespace },
  });
  const notOwned = { ok: false, message: 'The domain name is already in use by another DomainMapping' };
  assert.deepEqual(claimFacts(cdc('ns'), 'ns', false), { ok: true });
  assert.deepEqual(claimFacts(cdc('other'), 'ns', true), notOwned);
  assert.deepEqual(claimFacts(undefined, 'ns', false), notOwned);
  assert.deepEqual(claimFacts(undefined, 'ns', true), { ok: true, create: true });
});

test('DomainMapping refs resolve to a cluster-local address in the same namespace, or say why not', () => {
  const ksvc = (url?: string): KObject => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello', namespace: 'ns' },
    status: url ? { address: { url } } : {},
  });
  const r = { ...ref, namespace: 'ns' };
  assert.deepEqual(resolveTarget(r, ksvc('http://hello.ns.svc.cluster.local'), 'ns'), { host: 'hello.ns.svc.cluster.local' });
  assert.deepEqual(resolveTarget(r, undefined, 'ns'), {
    error: 'failed to get object ns/hello: services.serving.knative.dev "hello" not found',
  });
  assert.deepEqual(resolveTarget(r, ksvc(), 'ns'), { error: 'address not set for Service ns/hello' });
  assert.deepEqual(resolveTarget(r, ksvc('http://hello.other.svc.cluster.local'), 'ns'), {
    error: 'resolved URI "http://hello.other.svc.cluster.local" must be in same namespace as DomainMapping',
  });
  assert.match(
    (resolveTarget({ apiVersion: 'v1', kind: 'Service', name: 'x', namespace: 'ns' }, undefined, 'ns') as { error: string }).error,
    /^failed to get lister for \/v1, Resource=services: /,
  );
});

test('DomainMapping status: conditions as Knative reports them, URL and address at the domain', () => {
  const dm = DM('hello.example.com', { ref }, { generation: 2 }) as DomainMapping;
  const at = () => '2026-01-01T00:00:00Z';
  const summary = (s: ReturnType<typeof domainMappingStatus>) =>
    Object.fromEntries(s.conditions!.map((c) => [c.type, `${c.status}${c.reason ? `/${c.reason}` : ''}`]));
  const ok = domainMappingStatus(dm, { claim: { ok: true }, target: { host: 'hello.ns.svc.cluster.local' }, ingressReady: true }, at);
  assert.deepEqual(summary(ok), {
    CertificateProvisioned: 'True/TLSNotEnabled',
    DomainClaimed: 'True',
    IngressReady: 'True',
    ReferenceResolved: 'True',
    Ready: 'True',
  });
  assert.deepEqual([ok.url, ok.address, ok.observedGeneration], ['http://hello.example.com', { url: 'http://hello.example.com' }, 2]);
  const unclaimed = domainMappingStatus(dm, { claim: { ok: false, message: 'taken' }, target: { host: 'x' }, ingressReady: true }, at);
  assert.equal(summary(unclaimed).Ready, 'False/DomainAlreadyClaimed');
  assert.equal(summary(unclaimed).ReferenceResolved, 'Unknown', 'nothing after a failed claim is looked at');
  const unresolved = domainMappingStatus(dm, { claim: { ok: true }, target: { error: 'nope' }, ingressReady: false }, at);
  assert.deepEqual(
    [summary(unresolved).ReferenceResolved, summary(unresolved).IngressReady, summary(unresolved).Ready],
    ['False/ResolveFailed', 'Unknown/IngressNotConfigured', 'False/ResolveFailed'],
  );
});

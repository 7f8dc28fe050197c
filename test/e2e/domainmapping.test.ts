// DomainMapping end to end with the stock kubectl: Knative's validation messages, the claim a
// mapping needs (ClusterDomainClaim; autocreate-cluster-domain-claims off by default, as in
// Knative), its conditions and URLs, `kubectl get dm` columns, and the custom host served through
// the gateway with the Service's current split.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { waitFor } from '../support/poll.js';
import { applyDoc, exampleService, gatewayGet, kubectl, startTestSluice } from '../support/sluice.js';

const DENIED = 'admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: ';

const mapping = (name: string, ref: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'serving.knative.dev/v1beta1',
    kind: 'DomainMapping',
    metadata: { name, namespace: 'default' },
    spec: { ref },
  });
const toHello = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello' };
const claim = (name: string, namespace: string) =>
  JSON.stringify({
    apiVersion: 'networking.internal.knative.dev/v1alpha1',
    kind: 'ClusterDomainClaim',
    metadata: { name },
    spec: { namespace },
  });

const conds = (o: any): Record<string, string> =>
  Object.fromEntries((o?.status?.conditions ?? []).map((c: any) => [c.type, c.reason ? `${c.status}/${c.reason}` : c.status]));

test('DomainMapping: refused as Knative refuses it; claimed, resolved and served at the custom host', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const getDm = async (name: string) => parse((await kubectl(kc, ['get', 'dm', name, '-o', 'yaml'])).stdout);

  // Discovery and OpenAPI know the kinds.
  const resources = await kubectl(kc, ['api-resources', '--no-headers']);
  assert.match(resources.stdout, /^domainmappings\s+dm\s+serving\.knative\.dev\/v1beta1\s+true\s+DomainMapping$/m);
  assert.match(
    resources.stdout,
    /^clusterdomainclaims\s+cdc\s+networking\.internal\.knative\.dev\/v1alpha1\s+false\s+ClusterDomainClaim$/m,
  );
  const explained = await kubectl(kc, ['explain', 'dm.spec.ref']);
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /Ref specifies the target of the Domain Mapping/);

  const refused = async (doc: string) => {
    const r = await kubectl(kc, ['apply', '-f', '-'], doc);
    assert.notEqual(r.code, 0, r.stdout);
    return r.stderr.trim();
  };
  assert.equal(
    await refused(mapping('nodots', toHello)),
    `Error from server (BadRequest): error when creating "STDIN": ${DENIED}invalid name "nodots": name: Invalid value: "nodots": should be a domain with at least two segments separated by dots: metadata.name`,
  );
  assert.match(
    await refused(mapping('hello.svc.cluster.local', toHello)),
    /invalid name "hello\.svc\.cluster\.local": must not be a subdomain of cluster local domain "cluster\.local": metadata\.name/,
  );
  assert.match(await refused(mapping('a.example.org', { name: 'hello' })), /missing field\(s\): spec\.ref\.apiVersion, spec\.ref\.kind$/);
  assert.match(
    await refused(mapping('a.example.org', { ...toHello, namespace: 'other' })),
    /mismatched namespaces: spec\.ref\.namespace\nparent namespace: "default" does not match ref: "other"/,
  );

  await applyDoc(s, exampleService('hello', { revision: 'v1' }));
  await waitFor('hello serves', async () => (await gatewayGet(s.gatewayPort, 'hello.default.example.com')).status === 200);

  // Without a claim (and autocreate off, Knative's default) the domain is not served.
  await applyDoc(s, mapping('hello.example.org', toHello));
  const unclaimed = await waitFor('DomainClaimed False', async () => {
    const o = await getDm('hello.example.org');
    return conds(o).DomainClaimed === 'False/DomainAlreadyClaimed' ? o : undefined;
  });
  assert.equal(conds(unclaimed).Ready, 'False/DomainAlreadyClaimed');
  assert.equal(
    unclaimed.status.conditions.find((c: any) => c.type === 'Ready').message,
    'The domain name is already in use by another DomainMapping',
  );
  assert.equal(unclaimed.spec.ref.namespace, 'default', 'ref.namespace defaulted');
  assert.equal((await gatewayGet(s.gatewayPort, 'hello.example.org')).status, 404);

  // The administrator delegates the domain to the namespace.
  await applyDoc(s, claim('hello.example.org', 'default'));
  const ready = await waitFor('mapping Ready', async () => {
    const o = await getDm('hello.example.org');
    return conds(o).Ready === 'True' ? o : undefined;
  });
  assert.deepEqual(conds(ready), {
    CertificateProvisioned: 'True/TLSNotEnabled',
    DomainClaimed: 'True',
    IngressReady: 'True',
    ReferenceResolved: 'True',
    Ready: 'True',
  });
  assert.equal(ready.status.url, 'http://hello.example.org');
  assert.equal(ready.status.address.url, 'http://hello.example.org');
  assert.equal(ready.status.observedGeneration, 1);
  const table = await kubectl(kc, ['get', 'dm']);
  // Knative's printer columns for the kind (its CRD lists no Age).
  assert.match(table.stdout, /^NAME\s+URL\s+READY\s+REASON\nhello\.example\.org\s+http:\/\/hello\.example\.org\s+True\s*\n/);
  assert.equal((await gatewayGet(s.gatewayPort, 'hello.example.org')).body, 'Welcome to the v1 app! \n');
  assert.equal((await gatewayGet(s.gatewayPort, 'hello.example.org:8080')).body, 'Welcome to the v1 app! \n', 'any port');

  // The custom host follows the Service's traffic.
  await applyDoc(s, exampleService('hello', { revision: 'v2' }));
  await waitFor(
    'mapping follows v2',
    async () => (await gatewayGet(s.gatewayPort, 'hello.example.org')).body === 'Welcome to the v2 app! \n',
  );

  const described = await kubectl(kc, ['describe', 'dm', 'hello.example.org']);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /Kind:\s+DomainMapping/);
  assert.match(described.stdout, /Type:\s+DomainClaimed/);

  // A ref that does not resolve.
  await applyDoc(s, claim('ghost.example.org', 'default'));
  await applyDoc(s, mapping('ghost.example.org', { ...toHello, name: 'ghost' }));
  const ghost = await waitFor('ghost not resolved', async () => {
    const o = await getDm('ghost.example.org');
    return conds(o).ReferenceResolved === 'False/ResolveFailed' ? o : undefined;
  });
  assert.equal(
    ghost.status.conditions.find((c: any) => c.type === 'ReferenceResolved').message,
    'failed to get object default/ghost: services.serving.knative.dev "ghost" not found',
  );

  // With autocreate-cluster-domain-claims the mapping claims its domain, and gives it back when deleted.
  const cm = await kubectl(kc, [
    'create',
    'configmap',
    'config-network',
    '-n',
    'knative-serving',
    '--from-literal=autocreate-cluster-domain-claims=true',
  ]);
  assert.equal(cm.code, 0, cm.stderr);
  await applyDoc(s, mapping('auto.example.org', toHello));
  await waitFor(
    'auto mapping served',
    async () => (await gatewayGet(s.gatewayPort, 'auto.example.org')).body === 'Welcome to the v2 app! \n',
  );
  const cdc = parse((await kubectl(kc, ['get', 'cdc', 'auto.example.org', '-o', 'yaml'])).stdout);
  assert.equal(cdc.spec.namespace, 'default');
  assert.equal((await kubectl(kc, ['delete', 'dm', 'auto.example.org'])).code, 0);
  await waitFor('claim released', async () => (await kubectl(kc, ['get', 'cdc', 'auto.example.org'])).code !== 0);
  await waitFor('host gone', async () => (await gatewayGet(s.gatewayPort, 'auto.example.org')).status === 404);
});

// Route placeholder Services: one per route and per tag, ExternalName to the gateway, with the
// labels and annotations Knative's conformance checks.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { placeholderServices } from '../../src/kube/placeholders.js';

test('a route with tags gets its own Service and one per tag, owned by it', () => {
  const route = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Route',
    metadata: {
      name: 'stock',
      namespace: 'default',
      uid: 'r-1',
      labels: { 'serving.knative.dev/service': 'stock' },
      annotations: { 'serving.knative.dev/creator': 'alice', 'serving.knative.dev/lastModifier': 'bob', other: 'x' },
    },
    status: { traffic: [{ tag: 'v1', percent: 50 }, { percent: 50 }, { tag: 'latest', percent: 0 }] },
  };
  const svcs = placeholderServices(route, 'sluice-gateway.sluice-system.svc.cluster.local');
  assert.deepEqual(
    svcs.map((s) => s.metadata.name),
    ['stock', 'v1-stock', 'latest-stock'],
  );
  assert.deepEqual(svcs[0], {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'stock',
      namespace: 'default',
      labels: { 'serving.knative.dev/route': 'stock', 'serving.knative.dev/service': 'stock' },
      annotations: { 'serving.knative.dev/creator': 'alice', 'serving.knative.dev/lastModifier': 'bob' },
      ownerReferences: [
        { apiVersion: 'serving.knative.dev/v1', kind: 'Route', name: 'stock', uid: 'r-1', controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: { type: 'ExternalName', externalName: 'sluice-gateway.sluice-system.svc.cluster.local', sessionAffinity: 'None' },
  });
});

// The autoscaler answers the gateway's demand for any stored revision, including one no reconcile
// has asked about yet: after a restart with thousands of Services the revision reconcile of the
// one a request is for may be far back in the work queue, and the request must not wait for it.

import http from 'node:http';
import { test } from 'node:test';
import { R } from '../../src/api/resources.js';
import { AutoscalerController } from '../../src/controllers/autoscaler.js';
import { createListers, stopListers, syncListers } from '../../src/controllers/listers.js';
import { Gateway } from '../../src/dataplane/gateway.js';
import { openMemoryStore } from '../../src/store/index.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { waitFor } from '../support/poll.js';

test('a request held for a stored revision no reconcile has asked about yet scales it from zero', async (t) => {
  const store = openMemoryStore();
  await store.create(R.revisions, {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: {
      name: 'cold-00001',
      namespace: 'default',
      labels: { 'serving.knative.dev/configuration': 'cold', 'serving.knative.dev/service': 'cold' },
      annotations: { 'autoscaling.knative.dev/initial-scale': '0', 'autoscaling.knative.dev/min-scale': '0' },
    },
    spec: { containers: [{ name: 'user-container', image: 'example/app:1' }], containerConcurrency: 0, timeoutSeconds: 30 },
  });
  const listers = createListers(store);
  await syncListers(listers);
  const runtime = new FakeRuntime();
  const gateway = new Gateway();
  gateway.setRevision({ key: 'default/cold-00001', endpoints: [], containerConcurrency: 0, timeoutSeconds: 30 });
  gateway.setRoutes([{ host: 'cold.default.example.com', targets: [{ revisionKey: 'default/cold-00001', percent: 100 }] }]);
  const port = await gateway.listen(0);
  const autoscaler = new AutoscalerController({ store, listers, runtime, gateway, enqueue: () => undefined, log: () => undefined });
  await autoscaler.start();
  const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'cold.default.example.com' } });
  req.on('error', () => undefined);
  t.after(async () => {
    req.destroy();
    autoscaler.stop();
    await gateway.close();
    stopListers(listers);
    await store.close();
  });
  await waitFor('scaled from zero', () => runtime.applied.some((a) => a.key === 'default/cold-00001' && a.replicas >= 1), 10_000);
});

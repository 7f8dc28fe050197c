// The Store contract suite against KubeStore on a real kube-apiserver (with Sluice's CRDs), the
// third implementation beside SQLite and memory. Every test gets namespaces of its own.

import { after, test } from 'node:test';
import { HttpKubeClient } from '../../src/kube/client.js';
import { T } from '../../src/kube/resources.js';
import { KubeStore } from '../../src/store/kube-store.js';
import { storeContract } from '../contract/store.js';
import { kubernetesAvailability } from './harness/assets.js';
import { startKubernetes, type KubernetesHarness } from './harness/index.js';
import { installSluice } from './sluice-cluster.js';

const availability = kubernetesAvailability();

if (availability.mode === 'skip') {
  test('store contract on Kubernetes', { skip: availability.reason }, () => {});
} else {
  let harness: Promise<KubernetesHarness> | undefined;
  const cluster = () =>
    (harness ??= (async () => {
      const k = await startKubernetes({ node: false });
      await installSluice(k);
      return k;
    })());
  after(async () => {
    if (harness) await (await harness).stop();
  });
  let n = 0;
  storeContract('kubernetes', async () => {
    const k = await cluster();
    const client = HttpKubeClient.fromOptions({ kubeconfig: k.kubeconfig });
    const namespace = `contract-${process.pid}-${n++}`;
    for (const ns of [namespace, `${namespace}-other`]) {
      await client.create(T.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
    const store = new KubeStore(client);
    return {
      store,
      namespace,
      cleanup: async () => {
        await store.close();
        for (const ns of [namespace, `${namespace}-other`]) await client.delete(T.namespaces, undefined, ns);
      },
    };
  });
}

// The Store contract against KubeStore — Sluice's store over a Kubernetes API — talking HTTPS to
// Sluice's own API server (memory behind it, admission off so the objects are stored as sent), which
// speaks the Kubernetes REST conventions KubeStore relies on. test/kubernetes/store-contract.test.ts
// runs the same suite against a real kube-apiserver; 410 after a restart is covered by
// test/integration/kube-reflector.test.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCert } from '../../src/apiserver/certs.js';
import { writeKubeconfig } from '../../src/apiserver/kubeconfig.js';
import { createApiServer } from '../../src/apiserver/server.js';
import { HttpKubeClient } from '../../src/kube/client.js';
import { KubeStore } from '../../src/store/kube-store.js';
import { openMemoryStore } from '../../src/store/index.js';
import { storeContract } from './store.js';

storeContract('kube (over the Sluice API server)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-kube-store-'));
  const backing = openMemoryStore({ watchHistory: 5 });
  const tls = await generateSelfSignedCert();
  const token = 'kube-store-contract';
  const serve = async (port: number) => {
    const api = createApiServer({ store: backing, token, tls, admit: (_k, o) => o, log: () => {} });
    return { api, port: await api.listen(port, '127.0.0.1') };
  };
  const server = await serve(0);
  writeKubeconfig(join(dir, 'kubeconfig'), { server: `https://127.0.0.1:${server.port}`, token, certificateAuthority: tls.cert });
  const store = new KubeStore(HttpKubeClient.fromOptions({ kubeconfig: join(dir, 'kubeconfig') }));
  return {
    store,
    namespace: 'contract',
    cleanup: async () => {
      await store.close();
      await server.api.close();
      await backing.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

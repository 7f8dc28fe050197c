// The Store contract against the in-memory store.

import { R } from '../../src/api/resources.js';
import { openMemoryStore } from '../../src/store/index.js';
import { storeContract } from './store.js';

storeContract('memory', async () => {
  const store = openMemoryStore({ watchHistory: 5 });
  return {
    store,
    namespace: 'contract',
    cleanup: () => store.close(),
    expireHistory: async () => {
      for (let i = 0; i < 12; i++)
        await store.create(R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `fill-${i}`, namespace: 'contract' } });
    },
  };
});

// Route placeholder Services, as Knative makes them: for every Route a core/v1 Service of the
// route's name (and one per tag, `{tag}-{route}`), type ExternalName pointing at Sluice's gateway
// Service, labelled serving.knative.dev/route (and /service) and owned by the Route, so
// `{route}.{namespace}.svc` resolves inside the cluster and the garbage collector removes them
// with the Route. Services of tags that are gone are deleted.

import type { KObject } from '../api/types.js';
import { Annotations, Labels } from '../api/types.js';
import { ownerRef } from '../controllers/context.js';
import type { KubeClient } from './client.js';
import { Informer } from './reflector.js';
import { T, typeForKey } from './resources.js';

/** The placeholder Services a Route should have (pure). */
export function placeholderServices(route: KObject, gatewayHost: string): KObject[] {
  const name = route.metadata.name!;
  const tags = [...new Set(((route.status?.traffic ?? []) as { tag?: string }[]).map((t) => t.tag).filter((t): t is string => !!t))];
  const labels: Record<string, string> = { [Labels.route]: name };
  const service = route.metadata.labels?.[Labels.service];
  if (service) labels[Labels.service] = service;
  const annotations: Record<string, string> = {};
  for (const a of [Annotations.creator, Annotations.lastModifier]) {
    const v = route.metadata.annotations?.[a];
    if (v) annotations[a] = v;
  }
  return [name, ...tags.map((t) => `${t}-${name}`)].map((svc) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: svc, namespace: route.metadata.namespace, labels, annotations, ownerReferences: [ownerRef(route)] },
    spec: { type: 'ExternalName', externalName: gatewayHost, sessionAffinity: 'None' },
  }));
}

export class RoutePlaceholders {
  private readonly routes: Informer;
  private readonly services: Informer;
  private readonly done = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly gatewayHost: string,
    private readonly log: (msg: string) => void,
  ) {
    this.routes = new Informer(client, typeForKey('serving.knative.dev/routes')!, { log });
    this.services = new Informer(client, T.services, { labelSelector: Labels.route, log });
    const sync = (r: KObject) =>
      void this.sync(r).catch((e) => this.log(`route services ${r.metadata.namespace}/${r.metadata.name}: ${(e as Error).message}`));
    this.routes.on({ add: sync, update: (_o, r) => sync(r) }, false);
  }

  async start(): Promise<void> {
    this.services.start();
    await this.services.synced();
    this.routes.start();
    await this.routes.synced();
  }

  async stop(): Promise<void> {
    await Promise.all([this.routes.stop(), this.services.stop()]);
  }

  private async sync(route: KObject): Promise<void> {
    const ns = route.metadata.namespace!;
    const wanted = placeholderServices(route, this.gatewayHost);
    const key = `${ns}/${route.metadata.name}`;
    const text = JSON.stringify(wanted);
    if (this.done.get(key) === text) return;
    for (const s of wanted) await this.client.apply(T.services, s, { force: true });
    const keep = new Set(wanted.map((s) => s.metadata.name));
    for (const s of this.services.byIndex('namespace', ns)) {
      if (s.metadata.labels?.[Labels.route] === route.metadata.name && !keep.has(s.metadata.name!)) {
        await this.client.delete(T.services, ns, s.metadata.name!);
      }
    }
    this.done.set(key, text);
  }
}

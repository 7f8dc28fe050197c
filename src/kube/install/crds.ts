// CustomResourceDefinitions for the Knative kinds, generated from Sluice's own registry (names,
// short names, categories, printer columns, versions) and structural schemas — the same source the
// embedded API server serves from, so the two cannot drift. config/300-crds.yaml is this output
// (npm run gen:config writes it; a unit test checks it is in sync).

import { isBuiltIn, KINDS, type PrinterColumn, type ResourceKind } from '../../api/registry.js';
import { toOpenApi } from '../../apiserver/openapi.js';
import { schemaFor } from '../../apiserver/schema.js';

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; [k: string]: unknown } };

/** The kinds that need a CRD on a cluster (the built-in ones, Namespace, ConfigMap, Secret, Event, exist there). */
export const crdKinds = (): ResourceKind[] => KINDS.filter((k) => !isBuiltIn(k));

const DUCK: Record<string, Record<string, string>> = {
  Service: { 'duck.knative.dev/addressable': 'true', 'duck.knative.dev/podspecable': 'true' },
  Configuration: { 'duck.knative.dev/podspecable': 'true' },
  Route: { 'duck.knative.dev/addressable': 'true' },
};

export function crdFor(k: ResourceKind): Manifest {
  // kube-apiserver allows only `type: object` for the top-level metadata of a custom resource.
  const schema = toOpenApi(schemaFor(k), { type: 'object' });
  // Age is the column kubectl always shows for built-ins; CRDs have to ask for it.
  const columns: PrinterColumn[] = [...k.columns, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];
  // The storage version first, then the others as listed.
  const versions = [k.storageVersion, ...k.servedVersions.filter((v) => v !== k.storageVersion)];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${k.plural}.${k.group}`,
      labels: { 'app.kubernetes.io/part-of': 'sluice', 'knative.dev/crd-install': 'true', ...(DUCK[k.kind] ?? {}) },
    },
    spec: {
      group: k.group,
      names: {
        kind: k.kind,
        listKind: k.listKind,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
        categories: k.categories,
      },
      scope: k.namespaced ? 'Namespaced' : 'Cluster',
      // Every served version has the v1 shape (Sluice takes v1alpha1 only in its v1-compatible
      // form), so the API server converts by rewriting apiVersion alone.
      conversion: { strategy: 'None' },
      versions: versions.map((name) => ({
        name,
        served: true,
        storage: name === k.storageVersion,
        ...(k.hasStatus ? { subresources: { status: {} } } : {}),
        schema: { openAPIV3Schema: schema },
        additionalPrinterColumns: columns.map((c) => ({
          name: c.name,
          type: c.type,
          jsonPath: c.jsonPath,
          ...(c.priority ? { priority: c.priority } : {}),
        })),
      })),
    },
  };
}

export const crds = (): Manifest[] => crdKinds().map(crdFor);

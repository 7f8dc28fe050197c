// Store keys of the resources the controllers work with, and the object type each one holds, so
// a read through the Store seam comes back typed. Keys are registry resourceKey() values
// ("group/plural", or just the plural for the core group).

import type { ClusterDomainClaim, DomainMapping } from './domainmapping.js';
import type { Configuration, KObject, Revision, Route, Service } from './types.js';

export const R = {
  services: 'serving.knative.dev/services',
  configurations: 'serving.knative.dev/configurations',
  revisions: 'serving.knative.dev/revisions',
  routes: 'serving.knative.dev/routes',
  podautoscalers: 'autoscaling.internal.knative.dev/podautoscalers',
  domainmappings: 'serving.knative.dev/domainmappings',
  clusterdomainclaims: 'networking.internal.knative.dev/clusterdomainclaims',
  configmaps: 'configmaps',
  secrets: 'secrets',
  namespaces: 'namespaces',
} as const;

export type KnownResource = (typeof R)[keyof typeof R];

export interface ResourceTypes {
  [R.services]: Service;
  [R.configurations]: Configuration;
  [R.revisions]: Revision;
  [R.routes]: Route;
  [R.domainmappings]: DomainMapping;
  [R.clusterdomainclaims]: ClusterDomainClaim;
}

/** The object type stored under a key; KObject for kinds without a type of their own. */
export type ObjectOf<K extends string> = K extends keyof ResourceTypes ? ResourceTypes[K] : KObject;

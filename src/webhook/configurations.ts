// The Mutating/ValidatingWebhookConfigurations for Sluice's webhook, named as Knative's are (the
// name is what kubectl prints in a denial). They match the serving.knative.dev kinds at v1 (the
// API server converts other served versions first) and DomainMapping at v1beta1, CREATE and
// UPDATE, fail closed.

import type { Manifest } from '../kube/install/crds.js';

/** Where kube-apiserver reaches the webhook: a Service in the cluster, or a URL (Sluice outside it). */
export type WebhookTarget = { service: { namespace: string; name: string; port?: number } } | { url: string };

export const MUTATING_NAME = 'webhook.serving.knative.dev';
export const VALIDATING_NAME = 'validation.webhook.serving.knative.dev';

const rules = [
  {
    apiGroups: ['serving.knative.dev'],
    apiVersions: ['v1'],
    operations: ['CREATE', 'UPDATE'],
    resources: ['services', 'configurations', 'revisions', 'routes'],
    scope: 'Namespaced',
  },
  // DomainMapping has no v1.
  {
    apiGroups: ['serving.knative.dev'],
    apiVersions: ['v1beta1'],
    operations: ['CREATE', 'UPDATE'],
    resources: ['domainmappings'],
    scope: 'Namespaced',
  },
];

function clientConfig(target: WebhookTarget, path: string, caBundle: string) {
  const ca = caBundle ? { caBundle: Buffer.from(caBundle).toString('base64') } : {};
  if ('url' in target) return { url: `${target.url.replace(/\/$/, '')}${path}`, ...ca };
  return { service: { namespace: target.service.namespace, name: target.service.name, port: target.service.port ?? 443, path }, ...ca };
}

function webhook(name: string, target: WebhookTarget, path: string, caBundle: string) {
  return {
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: clientConfig(target, path, caBundle),
    rules,
    failurePolicy: 'Fail',
    sideEffects: 'None',
    matchPolicy: 'Equivalent',
    timeoutSeconds: 10,
  };
}

export function webhookConfigurations(target: WebhookTarget, caBundle: string): { mutating: Manifest; validating: Manifest } {
  const labels = { 'app.kubernetes.io/part-of': 'sluice', 'app.kubernetes.io/component': 'webhook' };
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: MUTATING_NAME, labels },
      webhooks: [{ ...webhook(MUTATING_NAME, target, '/defaulting', caBundle), reinvocationPolicy: 'IfNeeded' }],
    },
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: VALIDATING_NAME, labels },
      webhooks: [webhook(VALIDATING_NAME, target, '/validation', caBundle)],
    },
  };
}

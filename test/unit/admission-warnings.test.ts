// Knative's admission warnings (src/api/warnings.ts): table cases after k8s_validation.go's
// warnDefaultContainerSecurityContext and the deprecated queue-proxy percentage annotation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FEATURES, parseFeatures } from '../../src/api/features.js';
import type { KObject } from '../../src/api/types.js';
import { admissionWarnings } from '../../src/api/warnings.js';

const INSECURE = 'Kubernetes default value is insecure, Knative may default this to secure in a future release: ';
const c0 = 'spec.template.spec.containers[0].securityContext.';

function service(spec: Record<string, unknown>, annotations?: Record<string, string>): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'default' },
    spec: { template: { metadata: annotations ? { annotations } : {}, spec } },
  };
}

const secure = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  seccompProfile: { type: 'RuntimeDefault' },
  capabilities: { drop: ['ALL'] },
};

test('admission warnings: the insecure securityContext defaults, merged into one line as Knative prints them', () => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    [
      'nothing set',
      { containers: [{ image: 'img' }] },
      [`${INSECURE}${c0}allowPrivilegeEscalation, ${c0}capabilities, ${c0}runAsNonRoot, ${c0}seccompProfile`],
    ],
    ['everything secure', { containers: [{ image: 'img', securityContext: secure }] }, []],
    [
      'pod-level runAsNonRoot and seccompProfile count',
      {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ image: 'img', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
      },
      [],
    ],
    [
      'a seccompProfile without a type, capabilities without drop',
      { containers: [{ image: 'img', securityContext: { ...secure, seccompProfile: {}, capabilities: {} } }] },
      [`${INSECURE}${c0}capabilities.drop, ${c0}seccompProfile.type`],
    ],
    [
      '"all" in lower case',
      { containers: [{ image: 'img', securityContext: { ...secure, capabilities: { drop: ['all'] } } }] },
      [`invalid value: all: ${c0}capabilities.drop\nMust be spelled as 'ALL'`],
    ],
    [
      'a sidecar and an init container too',
      {
        containers: [
          { image: 'img', securityContext: secure },
          { image: 'side', securityContext: { ...secure, runAsNonRoot: undefined } },
        ],
        initContainers: [{ image: 'init', securityContext: { ...secure, allowPrivilegeEscalation: undefined } }],
      },
      [
        `${INSECURE}spec.template.spec.containers[1].securityContext.runAsNonRoot, spec.template.spec.initContainers[0].securityContext.allowPrivilegeEscalation`,
      ],
    ],
  ];
  for (const [name, spec, want] of cases) assert.deepEqual(admissionWarnings('Service', service(spec), DEFAULT_FEATURES), want, name);
});

test('admission warnings: none with secure-pod-defaults on; the queue percentage annotation is deprecated; only serving kinds', () => {
  const bare = service({ containers: [{ image: 'img' }] });
  for (const flag of ['enabled', 'allowRootBounded']) {
    assert.deepEqual(admissionWarnings('Service', bare, parseFeatures({ 'secure-pod-defaults': flag })), [], flag);
  }
  const withPercentage = service(
    { containers: [{ image: 'img', securityContext: secure }] },
    { 'queue.sidecar.serving.knative.dev/resource-percentage': '20' },
  );
  assert.deepEqual(admissionWarnings('Service', withPercentage, DEFAULT_FEATURES), [
    'Queue proxy resource percentage annotation is deprecated. Please use the available annotations to explicitly set resource values per service: spec.template.metadata.annotations[queue.sidecar.serving.knative.dev/resource-percentage]',
  ]);
  const revision: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: { name: 'r' },
    spec: { containers: [{ image: 'i' }] },
  };
  assert.match(
    admissionWarnings('Revision', revision, DEFAULT_FEATURES)[0],
    /: spec\.containers\[0\]\.securityContext\.allowPrivilegeEscalation, /,
  );
  assert.deepEqual(admissionWarnings('Route', { ...bare, kind: 'Route', spec: { traffic: [] } }, DEFAULT_FEATURES), []);
});

// Knative's pod-spec rules (k8s_validation.go and fieldmask.go) as table tests: each case is a
// revision spec and the message Knative's webhook prints for it (null: accepted), checked through
// the same formatting admission uses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FEATURES, parseFeatures, type Features } from '../../src/api/features.js';
import { formatFieldErrors } from '../../src/api/field-error.js';
import { imageReferenceError } from '../../src/api/image-reference.js';
import { validatePodSpec } from '../../src/api/podspec-validation.js';

const ctr = (extra: Record<string, unknown> = {}) => ({ name: 'user-container', image: 'busybox', ...extra });
const spec = (...containers: Record<string, unknown>[]) => ({ containers });
const cm = (name: string) => ({ name, configMap: { name: 'cm' } });

type Case = [name: string, podSpec: Record<string, any>, want: string | null, features?: Record<string, string>];

function check(cases: Case[]) {
  for (const [name, ps, want, flags] of cases) {
    const f: Features = flags ? parseFeatures(flags) : DEFAULT_FEATURES;
    const errs = validatePodSpec(ps, f);
    assert.equal(errs.length ? formatFieldErrors(errs) : null, want, name);
  }
}

test('field allowlist: disallowed pod and container fields, feature-gated ones', () => {
  check([
    ['valid', spec(ctr()), null],
    ['stdin', spec(ctr({ stdin: true })), 'must not set the field(s): containers[0].stdin'],
    ['false is unset', spec(ctr({ stdin: false, tty: false })), null],
    [
      'several container fields',
      spec(ctr({ stdin: true, stdinOnce: true, tty: true, lifecycle: { preStop: {} }, volumeDevices: [{ name: 'd', devicePath: '/' }] })),
      'must not set the field(s): containers[0].lifecycle, containers[0].stdin, containers[0].stdinOnce, containers[0].tty, containers[0].volumeDevices',
    ],
    ['pod fields', { ...spec(ctr()), nodeName: 'n1', restartPolicy: 'Always' }, 'must not set the field(s): nodeName, restartPolicy'],
    ['affinity off', { ...spec(ctr()), affinity: { nodeAffinity: {} } }, 'must not set the field(s): affinity'],
    ['affinity enabled', { ...spec(ctr()), affinity: { nodeAffinity: {} } }, null, { 'kubernetes.podspec-affinity': 'enabled' }],
    ['affinity allowed', { ...spec(ctr()), affinity: { nodeAffinity: {} } }, null, { 'kubernetes.podspec-affinity': 'allowed' }],
    ['nodeSelector', { ...spec(ctr()), nodeSelector: { disk: 'ssd' } }, 'must not set the field(s): nodeSelector'],
    ['hostNetwork', { ...spec(ctr()), hostNetwork: true }, 'must not set the field(s): hostNetwork'],
    ['hostNetwork enabled', { ...spec(ctr()), hostNetwork: true }, null, { 'kubernetes.podspec-hostnetwork': 'enabled' }],
    ['automount true', { ...spec(ctr()), automountServiceAccountToken: true }, 'must not set the field(s): automountServiceAccountToken'],
    ['automount false', { ...spec(ctr()), automountServiceAccountToken: false }, null],
    [
      'pod securityContext off',
      { ...spec(ctr()), securityContext: { runAsUser: 1000 } },
      'must not set the field(s): securityContext, securityContext.runAsUser',
    ],
    [
      'pod securityContext on',
      { ...spec(ctr()), securityContext: { runAsUser: 1000 } },
      null,
      { 'kubernetes.podspec-securitycontext': 'enabled' },
    ],
    [
      'pod securityContext out of range',
      { ...spec(ctr()), securityContext: { runAsUser: -1, supplementalGroups: [2147483648] } },
      'expected 0 <= -1 <= 2147483647: securityContext.runAsUser\nexpected 0 <= 2147483648 <= 2147483647: securityContext.supplementalGroups[0]',
      { 'kubernetes.podspec-securitycontext': 'enabled' },
    ],
    [
      'fieldRef off',
      spec(ctr({ env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] })),
      'must not set the field(s): containers[0].env[0].valueFrom.fieldRef',
    ],
    [
      'fieldRef on',
      spec(ctr({ env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] })),
      null,
      { 'kubernetes.podspec-fieldref': 'enabled' },
    ],
    [
      'port hostPort',
      spec(ctr({ ports: [{ containerPort: 8080, hostPort: 80 }] })),
      'must not set the field(s): containers[0].ports.hostPort',
    ],
    [
      'init containers off',
      { ...spec(ctr()), initContainers: [{ name: 'init', image: 'busybox' }] },
      'must not set the field(s): initContainers\npod spec support for init-containers is off, but found 1 init containers: ',
    ],
  ]);
});

test('container security context: privileged only false, capabilities.add behind a flag, id ranges', () => {
  check([
    ['privileged false', spec(ctr({ securityContext: { privileged: false } })), null],
    [
      'privileged true',
      spec(ctr({ securityContext: { privileged: true } })),
      'must not set the field(s): containers[0].securityContext.privileged',
    ],
    [
      'procMount',
      spec(ctr({ securityContext: { procMount: 'Unmasked' } })),
      'must not set the field(s): containers[0].securityContext.procMount',
    ],
    [
      'add caps',
      spec(ctr({ securityContext: { capabilities: { add: ['NET_ADMIN'] } } })),
      'must not set the field(s): containers[0].securityContext.capabilities.add',
    ],
    [
      'add caps enabled',
      spec(ctr({ securityContext: { capabilities: { add: ['NET_ADMIN'] } } })),
      null,
      { 'kubernetes.containerspec-addcapabilities': 'enabled' },
    ],
    ['drop caps', spec(ctr({ securityContext: { capabilities: { drop: ['ALL'] } } })), null],
    [
      'uid too large',
      spec(ctr({ securityContext: { runAsUser: 2147483648 } })),
      'expected 0 <= 2147483648 <= 2147483647: containers[0].securityContext.runAsUser',
    ],
    [
      'negative gid',
      spec(ctr({ securityContext: { runAsGroup: -10 } })),
      'expected 0 <= -10 <= 2147483647: containers[0].securityContext.runAsGroup',
    ],
  ]);
});

test('reserved ports, env names, container names and mount paths', () => {
  check([
    ...[8012, 8013, 8022, 9090, 9091, 8008].map((p): Case => [
      `port ${p}`,
      spec(ctr({ ports: [{ containerPort: p }] })),
      `invalid value: ${p} is a reserved port: containers[0].ports.containerPort\n${p} is a reserved port, please use a different value`,
    ]),
    ['port too large', spec(ctr({ ports: [{ containerPort: 65536 }] })), 'expected 0 <= 65536 <= 65535: containers[0].ports.containerPort'],
    ...['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'].map((n): Case => [
      `env ${n}`,
      spec(ctr({ env: [{ name: n, value: 'x' }] })),
      `"${n}" is a reserved environment variable: containers[0].env[0].name`,
    ]),
    ['env without name', spec(ctr({ env: [{ value: 'x' }] })), 'missing field(s): containers[0].env[0].name'],
    ['queue-proxy name', spec(ctr({ name: 'queue-proxy' })), '"queue-proxy" is a reserved container name: containers[0].name'],
    [
      'reserved mount path',
      { ...spec(ctr({ volumeMounts: [{ name: 'v', mountPath: '//dev//', readOnly: true }] })), volumes: [cm('v')] },
      'mountPath "/dev" is a reserved path: containers[0].volumeMounts[0].mountPath',
    ],
    [
      'relative mount path',
      { ...spec(ctr({ volumeMounts: [{ name: 'v', mountPath: 'not/absolute', readOnly: true }] })), volumes: [cm('v')] },
      'invalid value: not/absolute: containers[0].volumeMounts[0].mountPath',
    ],
  ]);
});

test('ports: names h2c/http1/empty, TCP only, one serving port across containers', () => {
  check([
    ['h2c', spec(ctr({ ports: [{ name: 'h2c', containerPort: 8080 }] })), null],
    ['http1', spec(ctr({ ports: [{ name: 'http1', containerPort: 8080 }] })), null],
    ['name only', spec(ctr({ ports: [{ name: 'h2c' }] })), null],
    [
      'bad name',
      spec(ctr({ ports: [{ name: 'foobar', containerPort: 8080 }] })),
      "Port name foobar is not allowed: containers[0].ports\nName must be empty, or one of: 'h2c', 'http1'",
    ],
    ['udp', spec(ctr({ ports: [{ containerPort: 8080, protocol: 'UDP' }] })), 'invalid value: UDP: containers[0].ports.protocol'],
    [
      'two ports',
      spec(ctr({ ports: [{ containerPort: 8080 }, { containerPort: 9000 }] })),
      'more than one container port is set: containers[*].ports\nOnly a single port is allowed across all containers',
    ],
    ['sidecars without any port', spec(ctr({ name: 'a' }), ctr({ name: 'b' })), 'missing field(s): containers[*].ports'],
    ['serving container and sidecar', spec(ctr({ name: 'a', ports: [{ containerPort: 8080 }] }), ctr({ name: 'b' })), null],
    [
      'two serving containers',
      spec(ctr({ name: 'a', ports: [{ containerPort: 8080 }] }), ctr({ name: 'b', ports: [{ containerPort: 9000 }] })),
      'more than one container port is set: containers[*].ports\nOnly a single port is allowed across all containers',
    ],
    [
      'duplicate names',
      spec(ctr({ name: 'a', ports: [{ containerPort: 8080 }] }), ctr({ name: 'a' })),
      'duplicate container name "a": containers[1].name',
    ],
    [
      'multi-container off',
      spec(ctr({ name: 'a', ports: [{ containerPort: 8080 }] }), ctr({ name: 'b' })),
      'multi-container is off, but found 2 containers: ',
      { 'multi-container': 'disabled' },
    ],
    [
      'PORT is fine on a sidecar, K_SERVICE is not',
      spec(
        ctr({ name: 'a', ports: [{ containerPort: 8080 }] }),
        ctr({
          name: 'b',
          env: [
            { name: 'PORT', value: '1' },
            { name: 'K_SERVICE', value: 'x' },
          ],
        }),
      ),
      '"K_SERVICE" is a reserved environment variable: containers[1].env[1].name',
    ],
  ]);
});

test('probes: one handler, periodSeconds 0 rules, bounds, ports, sidecar probes behind multi-container-probing', () => {
  const rp = (probe: Record<string, unknown>) => spec(ctr({ readinessProbe: { successThreshold: 1, ...probe } }));
  check([
    ['tcp', rp({ tcpSocket: {} }), null],
    ['exec', rp({ exec: { command: ['true'] } }), null],
    [
      'no handler',
      rp({}),
      'expected exactly one, got neither: containers[0].readinessProbe.exec, containers[0].readinessProbe.grpc, containers[0].readinessProbe.httpGet, containers[0].readinessProbe.tcpSocket',
    ],
    [
      'two handlers',
      rp({ httpGet: {}, tcpSocket: {} }),
      'expected exactly one, got both: containers[0].readinessProbe.httpGet, containers[0].readinessProbe.tcpSocket',
    ],
    [
      'failureThreshold with period 0',
      rp({ httpGet: {}, failureThreshold: 2 }),
      'failureThreshold is disallowed when periodSeconds is zero: containers[0].readinessProbe.failureThreshold',
    ],
    [
      'timeoutSeconds with period 0',
      rp({ httpGet: {}, timeoutSeconds: 2 }),
      'timeoutSeconds is disallowed when periodSeconds is zero: containers[0].readinessProbe.timeoutSeconds',
    ],
    ['period set', rp({ httpGet: {}, periodSeconds: 5, timeoutSeconds: 1, failureThreshold: 3 }), null],
    [
      'out of bounds',
      spec(
        ctr({
          readinessProbe: {
            httpGet: {},
            periodSeconds: -1,
            timeoutSeconds: 0,
            successThreshold: 0,
            failureThreshold: 0,
            initialDelaySeconds: -1,
          },
        }),
      ),
      [
        'expected 0 <= -1 <= 2147483647: containers[0].readinessProbe.initialDelaySeconds, containers[0].readinessProbe.periodSeconds',
        'expected 1 <= 0 <= 2147483647: containers[0].readinessProbe.failureThreshold, containers[0].readinessProbe.successThreshold, containers[0].readinessProbe.timeoutSeconds',
      ].join('\n'),
    ],
    [
      'named port not the serving port',
      spec(ctr({ livenessProbe: { tcpSocket: { port: 'imap' } } })),
      'invalid value: imap: containers[0].livenessProbe.tcpSocket.port\nProbe port must match container port',
    ],
    [
      'named port is the serving port',
      spec(ctr({ ports: [{ name: 'h2c', containerPort: 8080 }], livenessProbe: { tcpSocket: { port: 'h2c' } } })),
      null,
    ],
    ['probe handler field', rp({ httpGet: { path: '/', foo: 1 } }), 'must not set the field(s): containers[0].readinessProbe.httpGet.foo'],
    [
      'sidecar probe without the flag',
      spec(ctr({ name: 'a', ports: [{ containerPort: 8080 }] }), ctr({ name: 'b', readinessProbe: { tcpSocket: { port: 9000 } } })),
      'must not set the field(s): containers[1].readinessProbe.tcpSocket',
    ],
    [
      'sidecar probe with the flag',
      spec(
        ctr({ name: 'a', ports: [{ containerPort: 8080 }] }),
        ctr({ name: 'b', readinessProbe: { tcpSocket: { port: 9000 }, successThreshold: 1 } }),
      ),
      null,
      { 'multi-container-probing': 'enabled' },
    ],
    [
      'sidecar probe needs a port',
      spec(ctr({ name: 'a', ports: [{ containerPort: 8080 }] }), ctr({ name: 'b', livenessProbe: { tcpSocket: {} } })),
      'invalid value: 0: containers[1].livenessProbe.tcpSocket.port\nProbe port must be specified',
      { 'multi-container-probing': 'enabled' },
    ],
  ]);
});

test('volumes and mounts: one source, mounted, unique, read-only, feature-gated types', () => {
  const mounted = (v: Record<string, unknown>, m: Record<string, unknown> = {}) => ({
    ...spec(ctr({ volumeMounts: [{ name: 'v', mountPath: '/etc/config', readOnly: true, ...m }] })),
    volumes: [{ name: 'v', ...v }],
  });
  check([
    ['configMap', mounted({ configMap: { name: 'cm' } }), null],
    ['secret items', mounted({ secret: { secretName: 's', items: [{ key: 'k' }] } }), 'missing field(s): volumes[0].secret.items[0].path'],
    ['emptyDir writable', mounted({ emptyDir: {} }, { readOnly: false }), null],
    ['emptyDir medium', mounted({ emptyDir: { medium: 'Disk' } }, { readOnly: false }), 'invalid value: Disk: volumes[0].emptyDir.medium'],
    [
      'emptyDir disabled',
      mounted({ emptyDir: {} }, { readOnly: false }),
      'EmptyDir volume support is disabled, but found EmptyDir volume v: \nmust not set the field(s): volumes[0].emptyDir',
      { 'kubernetes.podspec-volumes-emptydir': 'disabled' },
    ],
    [
      'hostPath',
      mounted({ hostPath: { path: '/tmp' } }),
      'HostPath volume support is disabled, but found HostPath volume v: \nmust not set the field(s): volumes[0].hostPath',
    ],
    [
      'no source',
      mounted({}),
      'expected exactly one, got neither: volumes[0].configMap, volumes[0].emptyDir, volumes[0].projected, volumes[0].secret',
    ],
    [
      'two sources',
      mounted({ configMap: { name: 'a' }, secret: { secretName: 'b' } }),
      'expected exactly one, got both: volumes[0].configMap, volumes[0].secret',
    ],
    [
      'bad volume name',
      { ...spec(ctr({ volumeMounts: [{ name: 'Bad_Name', mountPath: '/x', readOnly: true }] })), volumes: [cm('Bad_Name')] },
      'invalid value: Bad_Name: volumes[0].name',
    ],
    ['not mounted', { ...spec(ctr()), volumes: [cm('v')] }, 'volume with name "v" not mounted: volumes[0].name'],
    [
      'no matching volume',
      spec(ctr({ volumeMounts: [{ name: 'w', mountPath: '/x', readOnly: true }] })),
      'volumeMount has no matching volume: containers[0].volumeMounts[0].name',
    ],
    [
      'duplicate mount path',
      {
        ...spec(
          ctr({
            volumeMounts: [
              { name: 'a', mountPath: '/etc/a', readOnly: true },
              { name: 'b', mountPath: '/etc/a/', readOnly: true },
            ],
          }),
        ),
        volumes: [cm('a'), cm('b')],
      },
      'invalid value: "/etc/a/" must be unique: containers[0].volumeMounts[1].mountPath',
    ],
    [
      'configMap mount not read-only',
      mounted({ configMap: { name: 'cm' } }, { readOnly: false }),
      'volume mount should be readOnly for this type of volume: containers[0].volumeMounts[0].readOnly',
    ],
    [
      'mountPropagation off',
      mounted({ configMap: { name: 'cm' } }, { mountPropagation: 'HostToContainer' }),
      'Volume Mount Propagation support is disabled, but found volume mount v with mount propagation: \nmust not set the field(s): containers[0].volumeMounts[0].mountPropagation',
    ],
    [
      'projected',
      mounted({ projected: { sources: [{ configMap: { name: 'a' } }, { secret: {} }] } }),
      'missing field(s): volumes[0].projected[1].secret.name',
    ],
    [
      'pvc off',
      mounted({ persistentVolumeClaim: { claimName: 'c', readOnly: true } }),
      'Persistent volume claim support is disabled, but found persistent volume claim c: \nmust not set the field(s): volumes[0].persistentVolumeClaim',
    ],
  ]);
});

test('envFrom, resources, image references, serviceAccountName, terminationMessagePolicy', () => {
  check([
    [
      'envFrom neither',
      spec(ctr({ envFrom: [{}] })),
      'expected exactly one, got neither: containers[0].envFrom.configMapRef, containers[0].envFrom.secretRef',
    ],
    [
      'envFrom both',
      spec(ctr({ envFrom: [{ configMapRef: { name: 'a' }, secretRef: { name: 'b' } }] })),
      'expected exactly one, got both: containers[0].envFrom.configMapRef, containers[0].envFrom.secretRef',
    ],
    ['envFrom ok', spec(ctr({ envFrom: [{ prefix: 'X_', configMapRef: { name: 'a', optional: true } }] })), null],
    ['resources ok', spec(ctr({ resources: { limits: { memory: '250M' }, requests: { cpu: '25m' } } })), null],
    [
      'resource claims',
      spec(ctr({ resources: { claims: [{ name: 'gpu' }] } })),
      'must not set the field(s): containers[0].resources.claims',
    ],
    [
      'bad quantity',
      spec(ctr({ resources: { limits: { memory: 'lots' } } })),
      "invalid value: lots: containers[0].resources.limits.memory\nquantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ],
    [
      'request above limit',
      spec(ctr({ resources: { limits: { cpu: '1' }, requests: { cpu: '2' } } })),
      'invalid value: 2: containers[0].resources.requests.cpu\nmust be less than or equal to cpu limit of 1',
    ],
    [
      'image',
      spec(ctr({ image: 'foo:bar:baz' })),
      'Failed to parse image reference: containers[0].image\nimage: "foo:bar:baz", error: could not parse reference: foo:bar:baz',
    ],
    ['no image', spec({ name: 'c' }), 'missing field(s): containers[0].image'],
    ['empty container', spec({}), 'missing field(s): containers[0]'],
    [
      'service account',
      { ...spec(ctr()), serviceAccountName: 'Bad_Name' },
      "invalid value: Bad_Name: serviceAccountName\na lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ],
    ['service account ok', { ...spec(ctr()), serviceAccountName: 'robot.example' }, null],
    [
      'termination policy',
      spec(ctr({ terminationMessagePolicy: 'Sometimes' })),
      'invalid value: Sometimes: containers[0].terminationMessagePolicy',
    ],
    ['no containers', { containers: [] }, 'missing field(s): containers'],
  ]);
});

test('image references parse as go-containerregistry parses them', () => {
  const ok = [
    'busybox',
    'ubuntu:22.04',
    'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1',
    'localhost:5000/app',
    'localhost/app:tag',
    '127.0.0.1:5000/a/b:c',
    `gcr.io/x/y@sha256:${'a'.repeat(64)}`,
    `gcr.io/x/y:v1@sha256:${'0'.repeat(64)}`,
  ];
  for (const img of ok) assert.equal(imageReferenceError(img), undefined, img);
  const bad = [
    'foo:bar:baz',
    'Upper/Case',
    'app:',
    'with space',
    'ctl\u0007char',
    'tab\there',
    `x@sha256:${'a'.repeat(63)}`,
    'x@md5:abc',
    '',
    'a@b@c',
  ];
  for (const img of bad) assert.equal(imageReferenceError(img), `could not parse reference: ${img}`, JSON.stringify(img));
});

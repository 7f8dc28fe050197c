import { test } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import type { Revision, Route, Service } from '../../src/api/types.js';
import { describeRevision, describeRoute, describeService } from '../../src/cli/describe.js';
import { revisionRows, serviceRows } from '../../src/cli/listing.js';
import { formatObjects, formatTable, humanDuration, parseOutputFormat, serverTableRows } from '../../src/cli/output.js';
import { CliError } from '../../src/cli/errors.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

test('formatTable aligns columns three spaces apart without trailing blanks', () => {
  const out = formatTable(
    ['NAME', 'URL', 'READY'],
    [
      ['stock-service-example', 'http://stock.default.example.com', 'True'],
      ['x', '', ''],
    ],
  );
  assert.equal(
    out,
    'NAME                    URL                                READY\n' +
      'stock-service-example   http://stock.default.example.com   True\n' +
      'x\n',
  );
});

test('a server Table prints like kubectl: upper-cased headers, priority>0 columns hidden, nulls blank', () => {
  const { headers, rows } = serverTableRows({
    kind: 'Table',
    columnDefinitions: [
      { name: 'Name', type: 'string' },
      { name: 'Config Name', type: 'string' },
      { name: 'Hidden', type: 'string', priority: 1 },
      { name: 'Actual Replicas', type: 'integer' },
    ],
    rows: [{ cells: ['stock-v1', 'stock', 'h', 1] }, { cells: ['stock-v2', null, 'h', null] }],
  });
  assert.deepEqual(headers, ['NAME', 'CONFIG NAME', 'ACTUAL REPLICAS']);
  assert.deepEqual(rows, [
    ['stock-v1', 'stock', '1'],
    ['stock-v2', '', ''],
  ]);
});

test('humanDuration follows kubectl', () => {
  assert.deepEqual(
    [45, 200, 600, 3 * 3600 + 60, 30 * 3600, 3 * 86400 + 3600, 40 * 86400].map((s) => humanDuration(s * 1000)),
    ['45s', '3m20s', '10m', '3h1m', '30h', '3d1h', '40d'],
  );
});

test('output formats: yaml/json/name; lists print as a v1 List; unknown -o is rejected', () => {
  const o = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 's' } };
  assert.deepEqual(YAML.parse(formatObjects('yaml', o)), o);
  assert.deepEqual(JSON.parse(formatObjects('json', [o])).items, [o]);
  assert.equal(formatObjects('name', [o, o]), 'service.serving.knative.dev/s\nservice.serving.knative.dev/s\n');
  assert.equal(parseOutputFormat('YAML'), 'yaml');
  assert.equal(parseOutputFormat('wide'), 'table');
  assert.throws(
    () => parseOutputFormat('wide2'),
    (e: unknown) => e instanceof CliError && /allowed formats are: table,yaml,json,name,wide/.test(e.message),
  );
});

const cond = (type: string, status: 'True' | 'False' | 'Unknown', reason?: string, message?: string) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: ago(60),
});

const service: Service = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'stock', namespace: 'default', generation: 4, creationTimestamp: ago(600) },
  spec: { template: { spec: { containers: [{ image: 'rest-api-go:v1' }] } } },
  status: {
    url: 'http://stock.default.example.com',
    latestReadyRevisionName: 'stock-v3',
    latestCreatedRevisionName: 'stock-v4',
    conditions: [
      cond('Ready', 'False', 'RevisionFailed', 'Revision "stock-v4" failed\nwith message: boom'),
      cond('ConfigurationsReady', 'False', 'RevisionFailed'),
      cond('RoutesReady', 'True'),
    ],
    traffic: [
      { tag: 'v1', revisionName: 'stock-v1', percent: 40, latestRevision: false, url: 'http://v1-stock.default.example.com' },
      { tag: 'v2', revisionName: 'stock-v2', percent: 30, latestRevision: false, url: 'http://v2-stock.default.example.com' },
      { tag: 'latest', revisionName: 'stock-v3', percent: 30, latestRevision: true, url: 'http://latest-stock.default.example.com' },
    ],
  },
};

const rev = (n: number, ready: 'True' | 'False' = 'True'): Revision => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Revision',
  metadata: {
    name: `stock-v${n}`,
    namespace: 'default',
    creationTimestamp: ago(600 - n * 100),
    labels: {
      'serving.knative.dev/service': 'stock',
      'serving.knative.dev/configuration': 'stock',
      'serving.knative.dev/configurationGeneration': String(n),
    },
    annotations: { 'autoscaling.knative.dev/min-scale': '1' },
  },
  spec: {
    containerConcurrency: 10,
    timeoutSeconds: 300,
    containers: [
      {
        image: 'rest-api-go:v1',
        env: [
          { name: 'RESOURCE', value: `v${n}` },
          { name: 'B', value: 'x y' },
        ],
        ports: [{ containerPort: 8080 }],
      },
    ],
  },
  status: {
    actualReplicas: 1,
    desiredReplicas: 1,
    conditions: [cond('Ready', ready), cond('Active', 'True'), cond('ContainerHealthy', ready)],
  },
});

test('service list rows: kn columns', () => {
  const { headers, rows } = serviceRows([service], NOW);
  assert.deepEqual(headers, ['NAME', 'URL', 'LATEST', 'AGE', 'CONDITIONS', 'READY', 'REASON']);
  assert.deepEqual(rows, [['stock', 'http://stock.default.example.com', 'stock-v3', '10m', '1 OK / 3', 'False', 'RevisionFailed']]);
});

test('revision list rows: traffic and tags from the service, newest generation first', () => {
  const { headers, rows } = revisionRows([rev(1), rev(3), rev(2), rev(4, 'False')], [service], NOW);
  assert.deepEqual(headers, ['NAME', 'SERVICE', 'TRAFFIC', 'TAGS', 'GENERATION', 'AGE', 'CONDITIONS', 'READY', 'REASON']);
  assert.deepEqual(
    rows.map((r) => r.slice(0, 5).concat(r.slice(6))),
    [
      ['stock-v4', 'stock', '', '', '4', '1 OK / 3', 'False', ''],
      ['stock-v3', 'stock', '30%', 'latest', '3', '3 OK / 3', 'True', ''],
      ['stock-v2', 'stock', '30%', 'v2', '2', '3 OK / 3', 'True', ''],
      ['stock-v1', 'stock', '40%', 'v1', '1', '3 OK / 3', 'True', ''],
    ],
  );
  assert.equal(rows[3][5], '8m20s');
});

test('describe service shows URL, revisions with traffic/tags, the unrouted latest and condition messages', () => {
  const out = describeService(service, [rev(1), rev(2), rev(3), rev(4, 'False')], NOW);
  assert.match(out, /^Name:\s+stock$/m);
  assert.match(out, /^URL:\s+http:\/\/stock\.default\.example\.com$/m);
  assert.match(out, /^ {3}40% {2}stock-v1 #v1 \[1\] \(8m20s\)$/m);
  assert.match(out, /^ {3}30% {2}@latest \(stock-v3\) #latest \[3\]/m);
  assert.match(out, /URL:\s+http:\/\/v2-stock\.default\.example\.com/);
  assert.match(out, /stock-v4 \(latest created, failed\) \[4\]/);
  assert.match(out, /!!\s+Ready\s+60s\s+RevisionFailed\s+Revision "stock-v4" failed with message: boom/);
  assert.match(out, /\+\+\s+RoutesReady/);
  // Ready comes first among the conditions.
  assert.ok(out.indexOf('Ready ') < out.indexOf('ConfigurationsReady'));
});

test('describe revision shows image, env, concurrency, scale, replicas, traffic and conditions', () => {
  const out = describeRevision(rev(1), service, NOW);
  assert.match(out, /^Image:\s+rest-api-go:v1$/m);
  assert.match(out, /^Env:\s+RESOURCE=v1\n\s+B=x y$/m);
  assert.match(out, /^Port:\s+8080$/m);
  assert.match(out, /^Concurrency:\s+limit 10$/m);
  assert.match(out, /^Scale:\s+min 1, max unlimited$/m);
  assert.match(out, /^Replicas:\s+1 actual \/ 1 desired$/m);
  assert.match(out, /^Traffic:\s+40% \(tags: v1\)$/m);
  assert.match(out, /^Service:\s+stock$/m);
  const cmd = describeRevision(
    { ...rev(2), spec: { containers: [{ command: ['/usr/bin/node', 'a b.js'], args: ['--x'] }] } },
    undefined,
    NOW,
  );
  assert.match(cmd, /^Command:\s+\/usr\/bin\/node "a b.js"$/m);
  assert.match(cmd, /^Args:\s+--x$/m);
});

test('describe route lists its traffic targets', () => {
  const route: Route = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Route',
    metadata: { name: 'stock', namespace: 'default' },
    status: { url: 'http://stock.default.example.com', traffic: service.status!.traffic },
  };
  const out = describeRoute(route, NOW);
  assert.match(out, /^ {2}40%\s+stock-v1\s+v1\s+http:\/\/v1-stock\.default\.example\.com$/m);
  assert.match(out, /^ {2}30%\s+@latest \(stock-v3\)\s+latest/m);
});

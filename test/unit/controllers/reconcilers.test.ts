// Reconciler table tests (after Knative's table_test.go): each row is objects in a memory store,
// one key reconciled against synced caches, a fake runtime and a recording gateway, and what the
// reconcile did. Milliseconds per row; no processes, no sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conflict } from '../../../src/api/errors.js';
import { R } from '../../../src/api/resources.js';
import type { KObject } from '../../../src/api/types.js';
import { reconcileConfiguration } from '../../../src/controllers/configuration.js';
import { reconcileRevision, workloadSpecFor } from '../../../src/controllers/revision.js';
import { RouteTable, reconcileRoute } from '../../../src/controllers/route.js';
import { reconcileService } from '../../../src/controllers/service.js';
import { conditions, runRow, type Outcome, type Reconcile, type Row } from '../../support/reconciler-table.js';

const container = { name: 'user-container', image: 'example/app:1' };

const revision = (name: string, status?: object): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Revision',
  metadata: { name, namespace: 'default', labels: { 'serving.knative.dev/configuration': 'hello' } },
  spec: { containers: [container], containerConcurrency: 0, timeoutSeconds: 300 },
  ...(status ? { status } : {}),
});

const configuration = (name: string, status?: object): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Configuration',
  metadata: { name, namespace: 'default' },
  spec: { template: { spec: { containers: [container] } } },
  ...(status ? { status } : {}),
});

const route = (name: string, traffic: object[]): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Route',
  metadata: { name, namespace: 'default' },
  spec: { traffic },
});

const service = (name: string): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { template: { spec: { containers: [container] } } },
});

const ready = { conditions: [{ type: 'Ready', status: 'True' }] };

interface Case extends Row {
  check: (o: Outcome) => void;
}

function table(kind: string, reconcile: Reconcile, cases: Case[]): void {
  for (const c of cases) {
    void test(`${kind}: ${c.name}`, async () => c.check(await runRow(kind, reconcile, c)));
  }
}

table('Revision', reconcileRevision, [
  {
    name: 'first reconcile reports the desired scale and Deploying; the autoscaler, not the reconciler, applies it',
    objects: [revision('r1')],
    key: 'default/r1',
    scale: { 'default/r1': 2 },
    check: (o) => {
      assert.equal(o.err, undefined);
      assert.deepEqual(o.runtime.applied, []);
      assert.deepEqual(conditions(o.after), {
        Active: 'Unknown(Activating)',
        ContainerHealthy: 'Unknown(Deploying)',
        Ready: 'Unknown(Deploying)',
        ResourcesAvailable: 'Unknown(Deploying)',
      });
      assert.equal(o.after?.status.desiredReplicas, 2);
      assert.equal(o.after?.status.actualReplicas, 0);
    },
  },
  {
    name: 'ready instances make it Ready and reach the gateway',
    objects: [revision('r1')],
    key: 'default/r1',
    runtime: async (rt, [rev]) => {
      await rt.apply(workloadSpecFor(rev, 1));
      rt.setReady('default/r1', 1);
    },
    check: (o) => {
      assert.equal(conditions(o.after).Ready, 'True');
      assert.equal(o.after?.status.actualReplicas, 1);
      assert.equal(o.revisions.get('default/r1')?.endpoints.length, 1);
    },
  },
  {
    name: 'a crash loop is ContainerHealthy=False with the runtime reason, and not Ready',
    objects: [revision('r1')],
    key: 'default/r1',
    runtime: async (rt, [rev]) => {
      await rt.apply(workloadSpecFor(rev, 1));
      rt.fail('default/r1', { reason: 'CrashLoopBackOff', message: 'exit code 3' });
    },
    check: (o) => {
      const c = conditions(o.after);
      assert.equal(c.ContainerHealthy, 'False(CrashLoopBackOff)');
      assert.equal(c.Ready, 'False(CrashLoopBackOff)');
    },
  },
  {
    name: 'asked to run nothing (initial-scale 0) it is Ready and inactive',
    objects: [revision('r1')],
    key: 'default/r1',
    scale: { 'default/r1': 0 },
    check: (o) => {
      const c = conditions(o.after);
      assert.equal(c.Ready, 'True');
      assert.equal(c.Active, 'False(NoTraffic)');
    },
  },
  {
    name: 'deleted: its instances are removed and the gateway forgets it',
    key: 'default/gone',
    check: (o) => {
      assert.deepEqual(o.runtime.removed, ['default/gone']);
      assert.deepEqual(o.removedRevisions, ['default/gone']);
    },
  },
  {
    name: 'a conflicting status write fails the reconcile (the manager requeues it)',
    objects: [revision('r1')],
    key: 'default/r1',
    reactors: [{ verb: 'update', resource: R.revisions, error: conflict('revisions', 'r1', 'serving.knative.dev') }],
    check: (o) => {
      assert.match(String(o.err?.message), /has been modified/);
      assert.equal(o.after?.status, undefined);
    },
  },
]);

table('Configuration', reconcileConfiguration, [
  {
    name: 'stamps generation 1 into {name}-00001, owned and labelled',
    objects: [configuration('hello')],
    key: 'default/hello',
    check: (o) => {
      assert.deepEqual(o.creates, ['revisions default/hello-00001']);
      const rev = o.created[0];
      assert.equal(rev.metadata.labels?.['serving.knative.dev/configuration'], 'hello');
      assert.equal(rev.metadata.ownerReferences?.[0].kind, 'Configuration');
      assert.equal(o.after?.status.latestCreatedRevisionName, 'hello-00001');
      assert.equal(o.after?.status.latestReadyRevisionName, undefined);
    },
  },
  {
    name: 'a revision of that name it does not own: RevisionFailed, and not adopted',
    objects: [configuration('hello'), revision('hello-00001', ready)],
    key: 'default/hello',
    check: (o) => {
      assert.deepEqual(o.creates, []);
      assert.match(String(conditions(o.after).Ready), /False\(RevisionFailed\)/);
      assert.equal(o.after?.status.latestReadyRevisionName, undefined);
    },
  },
]);

table('Route', reconcileRouteWithTable(), [
  {
    name: 'latestRevision follows the configuration: the gateway gets the host, the status 100% to it',
    objects: [
      configuration('hello', { latestReadyRevisionName: 'hello-00001', latestCreatedRevisionName: 'hello-00001' }),
      revision('hello-00001', ready),
      route('hello', [{ configurationName: 'hello', latestRevision: true, percent: 100 }]),
    ],
    key: 'default/hello',
    check: (o) => {
      const to = [{ revisionKey: 'default/hello-00001', percent: 100 }];
      assert.deepEqual(o.routes.get('default/hello'), [
        { host: 'hello.default.example.com', targets: to },
        // Every route is also reachable inside at its cluster-local names (internal listener only).
        { host: 'hello.default.svc.cluster.local', targets: to, visibility: 'cluster-local' },
        { host: 'hello.default.svc', targets: to, visibility: 'cluster-local' },
        { host: 'hello.default', targets: to, visibility: 'cluster-local' },
      ]);
      assert.deepEqual(o.after?.status.traffic, [
        { revisionName: 'hello-00001', configurationName: 'hello', latestRevision: true, percent: 100 },
      ]);
      assert.equal(o.after?.status.url, 'http://hello.default.example.com');
      assert.equal(o.after?.status.address.url, 'http://hello.default.svc.cluster.local');
      assert.equal(conditions(o.after).Ready, 'True');
      // Ready only once the gateway serves the hosts (gateway workers get the table a moment later).
      assert.deepEqual(o.syncedAfterStatusWrites, [0]);
    },
  },
  {
    name: 'cluster-local: only cluster-local hosts, tags included, and cluster-local URLs',
    objects: [
      configuration('hello', { latestReadyRevisionName: 'hello-00001', latestCreatedRevisionName: 'hello-00001' }),
      revision('hello-00001', ready),
      {
        ...route('hello', [{ configurationName: 'hello', latestRevision: true, percent: 100, tag: 'now' }]),
        metadata: { name: 'hello', namespace: 'default', labels: { 'networking.knative.dev/visibility': 'cluster-local' } },
      },
    ],
    key: 'default/hello',
    check: (o) => {
      const hosts = o.routes.get('default/hello') ?? [];
      assert.deepEqual(
        hosts.map((h) => [h.host, h.visibility]),
        [
          ['hello.default.svc.cluster.local', 'cluster-local'],
          ['hello.default.svc', 'cluster-local'],
          ['hello.default', 'cluster-local'],
          ['now-hello.default.svc.cluster.local', 'cluster-local'],
          ['now-hello.default.svc', 'cluster-local'],
          ['now-hello.default', 'cluster-local'],
        ],
      );
      assert.equal(o.after?.status.url, 'http://hello.default.svc.cluster.local');
      assert.equal(o.after?.status.address.url, 'http://hello.default.svc.cluster.local');
      assert.equal(o.after?.status.traffic[0].url, 'http://now-hello.default.svc.cluster.local');
    },
  },
  {
    name: 'nothing ready yet: no host in the gateway, not Ready',
    objects: [configuration('hello'), route('hello', [{ configurationName: 'hello', latestRevision: true, percent: 100 }])],
    key: 'default/hello',
    check: (o) => {
      assert.equal(o.routes.size, 0);
      assert.notEqual(conditions(o.after).Ready, 'True');
      assert.deepEqual(o.syncedAfterStatusWrites, [], 'nothing to wait for');
    },
  },
]);

table('Service', reconcileService, [
  {
    name: 'creates its Configuration and Route, owned by it',
    objects: [service('hello')],
    key: 'default/hello',
    check: (o) => {
      assert.deepEqual(o.creates.sort(), ['configurations default/hello', 'routes default/hello']);
      for (const c of o.created) assert.equal(c.metadata.ownerReferences?.[0].name, 'hello');
      assert.equal(o.created[0].metadata.labels?.['serving.knative.dev/service'], 'hello');
    },
  },
  {
    name: 'a Route of its name that it does not own: NotOwned, and left alone',
    objects: [service('hello'), route('hello', [])],
    key: 'default/hello',
    check: (o) => {
      assert.deepEqual(o.creates, ['configurations default/hello']);
      assert.equal(conditions(o.after).RoutesReady, 'False(NotOwned)');
    },
  },
]);

function reconcileRouteWithTable(): Reconcile {
  return (ctx, ns, name) => reconcileRoute(ctx, new RouteTable(ctx.dataplane), ns, name);
}

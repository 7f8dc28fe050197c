// Configuration reconciler: every generation of spec.template is stamped into an immutable
// Revision — named by the template (BYO) or {configuration}-{generation, 5 digits} — and status
// tracks the latest created and the latest ready revision.

import { isDeepStrictEqual } from 'node:util';
import { conditionOf, rollUp, type ConditionInput } from '../api/conditions.js';
import type { ConfigurationStatus, KObject } from '../api/types.js';
import { Annotations, Labels } from '../api/types.js';
import { rfc3339 } from './labeler.js';
import { type ControllerContext, RES, ownerRef } from './context.js';
import { writeStatus } from './status.js';

export function revisionNameFor(cfg: KObject): string {
  const byo = cfg.spec?.template?.metadata?.name;
  return byo ? byo : `${cfg.metadata.name}-${String(cfg.metadata.generation ?? 1).padStart(5, '0')}`;
}

/** The Revision a configuration's current template stamps out; it starts "pending" until a route names it. */
export function revisionFor(cfg: KObject, now: number = Date.now()): KObject {
  const tmeta = cfg.spec.template.metadata ?? {};
  const labels: Record<string, string> = {
    ...(tmeta.labels ?? {}),
    [Labels.configuration]: cfg.metadata.name!,
    [Labels.configurationUID]: cfg.metadata.uid!,
    [Labels.configurationGeneration]: String(cfg.metadata.generation ?? 1),
    [Labels.routingState]: 'pending',
  };
  const svc = cfg.metadata.labels?.[Labels.service];
  if (svc) {
    labels[Labels.service] = svc;
    const svcUid = cfg.metadata.labels?.[Labels.serviceUID];
    if (svcUid) labels[Labels.serviceUID] = svcUid;
  }
  const annotations: Record<string, string> = { ...(tmeta.annotations ?? {}), [Annotations.routingStateModified]: rfc3339(now) };
  for (const k of ['serving.knative.dev/creator']) {
    const v = cfg.metadata.annotations?.[k];
    if (v) annotations[k] = v;
  }
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: {
      name: revisionNameFor(cfg),
      namespace: cfg.metadata.namespace,
      labels,
      annotations,
      ownerReferences: [ownerRef(cfg)],
    },
    spec: cfg.spec.template.spec,
  };
}

export async function reconcileConfiguration(ctx: ControllerContext, ns: string, name: string): Promise<void> {
  const cfg = ctx.listers.configurations.get(ns, name);
  if (!cfg || cfg.metadata.deletionTimestamp) return;
  const want = revisionFor(cfg, ctx.now());
  const revName = want.metadata.name!;
  let rev = ctx.listers.revisions.get(ns, revName);
  let createProblem: ConditionInput | undefined;
  if (!rev) {
    rev = await ctx.store.create(RES.revisions, want);
  } else if (!rev.metadata.ownerReferences?.some((r) => r.uid === cfg.metadata.uid)) {
    createProblem = {
      status: 'False',
      reason: 'RevisionFailed',
      message: `revisions.serving.knative.dev "${revName}" already exists and is not owned by Configuration "${name}"`,
    };
  } else if (!isDeepStrictEqual(rev.spec, want.spec)) {
    createProblem = {
      status: 'False',
      reason: 'RevisionFailed',
      message: `Revision "${revName}" already exists with a different template; revisions are immutable, so give spec.template.metadata.name a new name`,
    };
  }

  const prev = (cfg.status ?? {}) as ConfigurationStatus;
  const status: ConfigurationStatus = { observedGeneration: cfg.metadata.generation };
  let cond: ConditionInput;
  if (createProblem) {
    cond = createProblem;
    if (prev.latestCreatedRevisionName) status.latestCreatedRevisionName = prev.latestCreatedRevisionName;
    if (prev.latestReadyRevisionName) status.latestReadyRevisionName = prev.latestReadyRevisionName;
  } else {
    status.latestCreatedRevisionName = revName;
    const ready = conditionOf(rev.status?.conditions, 'Ready');
    if (ready?.status === 'True') {
      status.latestReadyRevisionName = revName;
      cond = { status: 'True' };
    } else {
      if (prev.latestReadyRevisionName) status.latestReadyRevisionName = prev.latestReadyRevisionName;
      cond =
        ready?.status === 'False'
          ? {
              status: 'False',
              reason: 'RevisionFailed',
              message: `Revision "${revName}" failed with message: ${ready.message ?? ready.reason ?? 'unknown'}.`,
            }
          : { status: 'Unknown' };
    }
  }
  // A Configuration has only Ready: roll up one dependent and keep just Ready.
  status.conditions = rollUp(cfg.status?.conditions, { _: cond }).filter((c) => c.type === 'Ready');
  await writeStatus(ctx.store, RES.configurations, cfg, status as Record<string, unknown>);
}

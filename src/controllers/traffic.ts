// Resolves a Route's traffic targets to concrete revisions (pure): configurationName and
// latestRevision targets follow the configuration's latest *ready* revision; a missing or failed
// revision is reported the way Knative's route reconciler does, instead of silently dropped.

import type { TrafficTarget } from '../api/types.js';

export interface RevisionFacts {
  exists: boolean;
  ready: 'True' | 'False' | 'Unknown';
}

export interface TrafficLookups {
  revision(name: string): RevisionFacts;
  /**
   * The configuration's latestReadyRevisionName (undefined when it has none), and whether its Ready
   * condition is False (its latest revision failed).
   */
  latestReady(configurationName: string): { exists: boolean; latestReady?: string; failed?: boolean };
}

export interface ResolvedTarget {
  tag?: string;
  revisionName: string;
  configurationName?: string;
  latestRevision: boolean;
  percent: number;
}

export interface TrafficProblem {
  status: 'False' | 'Unknown';
  reason: string;
  message: string;
}

export function resolveTraffic(traffic: TrafficTarget[], lookups: TrafficLookups): { targets: ResolvedTarget[]; problem?: TrafficProblem } {
  const targets: ResolvedTarget[] = [];
  let problem: TrafficProblem | undefined;
  const note = (p: TrafficProblem) => {
    // A hard failure outranks "not yet".
    if (!problem || (problem.status === 'Unknown' && p.status === 'False')) problem = p;
  };
  for (const t of traffic) {
    let revisionName = t.revisionName;
    if (!revisionName && t.configurationName) {
      const cfg = lookups.latestReady(t.configurationName);
      if (!cfg.exists) {
        note({
          status: 'False',
          reason: 'ConfigurationMissing',
          message: `Configuration "${t.configurationName}" referenced in traffic not found.`,
        });
        continue;
      }
      if (!cfg.latestReady) {
        // Knative: a failed configuration fails the route; one still deploying keeps it Unknown.
        note(
          cfg.failed
            ? {
                status: 'False',
                reason: 'RevisionMissing',
                message: `Configuration "${t.configurationName}" does not have any ready Revision.`,
              }
            : {
                status: 'Unknown',
                reason: 'RevisionMissing',
                message: `Configuration "${t.configurationName}" is waiting for a Revision to become ready.`,
              },
        );
        continue;
      }
      revisionName = cfg.latestReady;
    }
    if (!revisionName) continue;
    const rev = lookups.revision(revisionName);
    if (!rev.exists) {
      note({ status: 'False', reason: 'RevisionMissing', message: `Revision "${revisionName}" referenced in traffic not found.` });
      continue;
    }
    if (rev.ready === 'False') {
      note({ status: 'False', reason: 'RevisionMissing', message: `Revision "${revisionName}" failed to become ready.` });
    } else if (rev.ready === 'Unknown') {
      note({ status: 'Unknown', reason: 'RevisionMissing', message: `Revision "${revisionName}" is not yet ready.` });
    }
    const r: ResolvedTarget = { revisionName, latestRevision: t.latestRevision ?? !t.revisionName, percent: t.percent ?? 0 };
    if (t.tag) r.tag = t.tag;
    if (t.configurationName) r.configurationName = t.configurationName;
    targets.push(r);
  }
  return { targets, problem };
}

/** Hosts served for a route: the route's own host, and one per tag. */
export function routeHosts(name: string, namespace: string, domain: string) {
  return {
    main: `${name}.${namespace}.${domain}`,
    tag: (tag: string) => `${tag}-${name}.${namespace}.${domain}`,
  };
}

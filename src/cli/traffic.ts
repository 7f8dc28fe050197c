// `sluice service update --traffic/--tag/--untag`: turns the flags into the Service's new
// spec.traffic, with kn's semantics:
//   --untag TAG           removes TAG from the target carrying it
//   --tag REV=TAG         tags REV's target (or adds a 0% target for REV); @latest means the
//                         latest-ready target
//   --traffic REF=PCT     REF is a tag, else a revision name, else @latest; when any --traffic is
//                         given the listed percents replace all existing ones (unlisted targets
//                         drop to 0)
// Flags apply in that order regardless of their order on the command line, and targets left
// with neither a tag nor traffic disappear. Whether percents sum to 100 is left to the server,
// whose admission answers with Knative's own message.

import type { Service, TrafficTarget } from '../api/types.js';
import { CliError } from './errors.js';

export const LATEST_REF = '@latest';

export interface TrafficFlags {
  traffic?: string[];
  tags?: string[];
  untags?: string[];
}

/** Accepts repeated flags and comma-separated lists alike: ["a=1,b=2", "c=3"] -> [a=1, b=2, c=3]. */
export function splitFlagList(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export interface TrafficSpec {
  ref: string;
  percent: number;
}

export function parseTrafficFlag(value: string): TrafficSpec {
  // A bare number means @latest, as in kn ("--traffic 100").
  const eq = value.indexOf('=');
  const [ref, pct] = eq < 0 ? [LATEST_REF, value] : [value.slice(0, eq).trim(), value.slice(eq + 1).trim()];
  if (ref === '' || pct === '' || pct.includes('=')) {
    throw new CliError(`invalid --traffic "${value}": expected REVISION=PERCENT, TAG=PERCENT or @latest=PERCENT`);
  }
  const m = /^(\d+)%?$/.exec(pct);
  if (!m) throw new CliError(`invalid --traffic "${value}": percent "${pct}" is not a whole number`);
  return { ref, percent: Number(m[1]) };
}

export interface TagSpec {
  revision: string;
  tag: string;
}

export function parseTagFlag(value: string): TagSpec {
  const eq = value.indexOf('=');
  const [revision, tag] = eq < 0 ? [LATEST_REF, value] : [value.slice(0, eq).trim(), value.slice(eq + 1).trim()];
  if (revision === '' || tag === '' || tag.includes('=')) {
    throw new CliError(`invalid --tag "${value}": expected REVISION=TAG or @latest=TAG`);
  }
  return { revision, tag };
}

/** A target follows the latest ready revision when it says so, or names no revision (Knative's default). */
export function isLatestTarget(t: TrafficTarget): boolean {
  return t.latestRevision ?? !t.revisionName;
}

/** The traffic block flags start from: spec.traffic, or Knative's default of 100% to the latest revision. */
function baseTraffic(svc: Service): TrafficTarget[] {
  const spec = svc.spec?.traffic;
  if (Array.isArray(spec) && spec.length > 0) return spec.map((t) => ({ ...t }));
  return [{ latestRevision: true, percent: 100 }];
}

export function hasTrafficFlags(f: TrafficFlags): boolean {
  return splitFlagList(f.traffic).length + splitFlagList(f.tags).length + splitFlagList(f.untags).length > 0;
}

/** The Service's new spec.traffic after applying the flags; throws CliError for malformed or conflicting flags. */
export function computeTraffic(svc: Service, flags: TrafficFlags): TrafficTarget[] {
  const name = svc.metadata?.name ?? '';
  const traffic = parseAll(flags);
  let targets = baseTraffic(svc);

  // 1. untag
  const missing: string[] = [];
  for (const tag of traffic.untags) {
    const t = targets.find((x) => x.tag === tag);
    if (t) delete t.tag;
    else missing.push(tag);
  }
  if (missing.length > 0) {
    throw new CliError(
      `tag${missing.length > 1 ? 's' : ''} ${missing.map((t) => `"${t}"`).join(', ')} not found in the traffic of service "${name}"`,
    );
  }

  // 2. tag
  for (const { revision, tag } of traffic.tags) {
    const holder = targets.find((x) => x.tag === tag);
    if (revision === LATEST_REF) {
      const latest = targets.find(isLatestTarget);
      if (latest && latest.tag === tag) continue;
      if (holder) throw tagInUse(tag, name);
      if (latest?.tag) {
        throw new CliError(
          `the latest-revision target of service "${name}" already has tag "${latest.tag}"; add --untag ${latest.tag} to replace it`,
        );
      }
      if (latest) latest.tag = tag;
      else targets.push({ tag, latestRevision: true, percent: 0 });
      continue;
    }
    if (holder && holder.revisionName === revision && !isLatestTarget(holder)) continue;
    if (holder) throw tagInUse(tag, name);
    // A revision can carry several tags: an already-tagged revision gets a second target.
    const untagged = targets.find((x) => !isLatestTarget(x) && x.revisionName === revision && !x.tag);
    if (untagged) untagged.tag = tag;
    else targets.push({ tag, revisionName: revision, latestRevision: false, percent: 0 });
  }

  // 3. traffic: what's on the command line is the whole desired split.
  if (traffic.percents.length > 0) {
    for (const t of targets) t.percent = 0;
    for (const { ref, percent } of traffic.percents) {
      if (ref === LATEST_REF) {
        const latest = targets.find(isLatestTarget);
        if (latest) latest.percent = percent;
        else targets.push({ latestRevision: true, percent });
        continue;
      }
      // Tags are unique, revision names may repeat: a tag wins when a name is both.
      const t = targets.find((x) => x.tag === ref) ?? targets.find((x) => !isLatestTarget(x) && x.revisionName === ref);
      if (t) t.percent = percent;
      else targets.push({ revisionName: ref, latestRevision: false, percent });
    }
  }

  targets = targets.filter((t) => t.tag || (t.percent ?? 0) > 0);
  return targets;
}

function tagInUse(tag: string, service: string): CliError {
  return new CliError(`tag "${tag}" is already used in the traffic of service "${service}"; add --untag ${tag} to move it`);
}

/** Checks the flags' syntax without a service, so typos fail before any request is made. */
export function validateTrafficFlags(flags: TrafficFlags): void {
  parseAll(flags);
}

function parseAll(flags: TrafficFlags) {
  const percents = splitFlagList(flags.traffic).map(parseTrafficFlag);
  const seen = new Set<string>();
  for (const p of percents) {
    if (seen.has(p.ref)) throw new CliError(`--traffic names "${p.ref}" more than once`);
    seen.add(p.ref);
  }
  const tags = splitFlagList(flags.tags).map(parseTagFlag);
  if (tags.filter((t) => t.revision === LATEST_REF).length > 1) throw new CliError('--tag may name @latest only once');
  const tagNames = new Set<string>();
  for (const t of tags) {
    if (tagNames.has(t.tag)) throw new CliError(`--tag gives tag "${t.tag}" more than once`);
    tagNames.add(t.tag);
  }
  return { percents, tags, untags: splitFlagList(flags.untags) };
}

export interface RevisionTraffic {
  percent: number;
  tags: string[];
  /** The revision is the one behind a latestRevision target. */
  latest: boolean;
}

/** Per revision: its share of traffic and its tags, from a Service's (or Route's) status.traffic. */
export function trafficByRevision(statusTraffic: TrafficTarget[] | undefined): Map<string, RevisionTraffic> {
  const out = new Map<string, RevisionTraffic>();
  for (const t of statusTraffic ?? []) {
    if (!t.revisionName) continue;
    const e = out.get(t.revisionName) ?? { percent: 0, tags: [], latest: false };
    e.percent += t.percent ?? 0;
    if (t.tag) e.tags.push(t.tag);
    if (t.latestRevision) e.latest = true;
    out.set(t.revisionName, e);
  }
  return out;
}

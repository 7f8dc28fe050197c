// Accept-header parsing. Kubernetes clients ask for alternative representations with media-type
// parameters: `application/json;as=Table;v=v1;g=meta.k8s.io` for server-side printing and
// `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList` for aggregated discovery.

import { notAcceptable } from './status.js';

export interface MediaRange {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [{ type: '*/*', params: {} }];
  return header
    .split(',')
    .map((part) => {
      const [type, ...ps] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of ps) {
        const i = p.indexOf('=');
        if (i > 0)
          params[p.slice(0, i).trim().toLowerCase()] = p
            .slice(i + 1)
            .trim()
            .replace(/^"|"$/g, '');
      }
      return { type: type.toLowerCase(), params };
    })
    .filter((r) => r.type !== '');
}

const jsonish = (t: string) => t === 'application/json' || t === 'application/*' || t === '*/*';

export type Representation = 'object' | 'table' | 'discovery-v2';

/**
 * Picks the first acceptable representation in the client's order. `alternatives` lists which
 * special forms the endpoint can produce. Throws 406 when nothing JSON-compatible is accepted.
 */
export function negotiate(header: string | undefined, alternatives: { table?: boolean; discovery?: boolean }): Representation {
  for (const r of parseAccept(header)) {
    const p = r.params;
    if (r.type !== 'application/json') {
      // YAML and protobuf aren't produced; a client listing JSON later still gets JSON.
      if (jsonish(r.type) && !p.as) return 'object';
      continue;
    }
    if (!p.as) return 'object';
    if (alternatives.table && p.as === 'Table' && p.g === 'meta.k8s.io' && (p.v === 'v1' || p.v === 'v1beta1')) return 'table';
    if (alternatives.discovery && p.as === 'APIGroupDiscoveryList' && p.g === 'apidiscovery.k8s.io' && p.v === 'v2') {
      return 'discovery-v2';
    }
  }
  throw notAcceptable(header ?? '');
}

// Knative's probe requests, answered by the gateway and never passed to an app, as Knative's own
// proxies answer them (knative.dev/networking pkg/http/header and probe, knative/serving
// pkg/activator/handler, knative.dev/pkg network/handlers/drain.go):
//
//   User-Agent kube-probe/… or K-Kubelet-Probe   a kubelet health check: 200 (503 "shutting down" while closing)
//   K-Network-Probe: probe                       the ingress's probe: 200 echoing K-Network-Hash, 400 without it
//   K-Network-Probe: activator                   the activator's probe: 200 "activator"
//   K-Network-Probe: anything else               400 unexpected probe header value
//
// Any other request has its K-Network-Hash removed before it goes on (upstreamHeaders).

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

export interface ProbeAnswer {
  status: number;
  /** Exactly as Knative writes it (no newline added). */
  body: string;
  headers?: OutgoingHttpHeaders;
}

const SHUTTING_DOWN: ProbeAnswer = { status: 503, body: 'shutting down\n' };
const KUBELET_OK: ProbeAnswer = { status: 200, body: '' };
const ACTIVATOR_OK: ProbeAnswer = { status: 200, body: 'activator' };

/** Whether a request is a kubelet probe by Knative's test (network.IsKubeletProbe). */
export function isKubeletProbe(h: IncomingHttpHeaders): boolean {
  const ua = h['user-agent'];
  if (ua !== undefined && ua.startsWith('kube-probe/')) return true;
  const k = h['k-kubelet-probe'];
  return k !== undefined && k !== '';
}

/** The gateway's own answer to a probe, or null for a request that goes to an app. */
export function probeAnswer(h: IncomingHttpHeaders, closing: boolean): ProbeAnswer | null {
  const np = h['k-network-probe'];
  const kubelet = isKubeletProbe(h);
  if ((np === undefined || np === '') && !kubelet) return null;
  if (closing) return SHUTTING_DOWN;
  // Knative's health handlers sit outside its probe handlers: a kubelet probe is answered first.
  if (kubelet || np === undefined || np === '') return KUBELET_OK;
  if (np === 'probe') {
    const hash = h['k-network-hash'];
    if (hash === undefined || hash === '')
      return { status: 400, body: 'a probe request must contain a non-empty "K-Network-Hash" header\n' };
    return { status: 200, body: '', headers: { 'k-network-hash': hash } };
  }
  if (np === 'activator') return ACTIVATOR_OK;
  return { status: 400, body: `unexpected probe header value: ${JSON.stringify(np)}\n` };
}

// Waiting for a Service to settle after create/update, like kn does by default: poll until the
// controllers have observed the new generation and Ready is no longer Unknown.

import { setTimeout as delay } from 'node:timers/promises';
import { findKind } from '../api/registry.js';
import type { Condition, Service } from '../api/types.js';
import type { SluiceClient } from './client.js';
import { CliError } from './errors.js';

const serviceKind = findKind('service')!;

export type Settled =
  { state: 'ready'; service: Service } | { state: 'failed'; service: Service; reason: string; message: string } | { state: 'pending' };

/** Pure: has this Service settled for `generation`, and how? */
export function settled(svc: Service, generation: number): Settled {
  if ((svc.status?.observedGeneration ?? 0) < generation) return { state: 'pending' };
  const ready = (svc.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
  if (!ready || ready.status === 'Unknown') return { state: 'pending' };
  if (ready.status === 'True') return { state: 'ready', service: svc };
  return { state: 'failed', service: svc, reason: ready.reason ?? '', message: ready.message ?? '' };
}

export async function waitForService(
  client: SluiceClient,
  namespace: string,
  name: string,
  generation: number,
  timeoutSeconds: number,
  pollMs = 250,
): Promise<Service> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const svc = await client.get<Service>(serviceKind, namespace, name);
    const s = settled(svc, generation);
    if (s.state === 'ready') return s.service;
    if (s.state === 'failed') {
      throw new CliError(`service '${name}' is not ready: ${s.reason}${s.message ? `: ${s.message}` : ''}`);
    }
    if (Date.now() >= deadline) {
      throw new CliError(`service '${name}' not ready after ${timeoutSeconds} seconds (use "sluice service describe ${name}" to see why)`);
    }
    await delay(pollMs);
  }
}

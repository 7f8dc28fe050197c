// The console's changes: shift a service's traffic, roll back to one revision, promote the latest.
// Each becomes a merge patch of the Service's spec.traffic sent to the API server with the API's
// token, so it is validated and admitted exactly like `kubectl` or `sluice service update`.

import { findKind } from '../api/registry.js';
import type { Service, TrafficTarget } from '../api/types.js';
import { SluiceClient } from '../cli/client.js';
import { CliError } from '../cli/errors.js';
import { computeTraffic, LATEST_REF } from '../cli/traffic.js';

export class ActionError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface ActionResult {
  message: string;
  traffic: TrafficTarget[];
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function name(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || !NAME_RE.test(v))
    throw new ActionError(`"${field}" must be a lower-case DNS label, got ${JSON.stringify(v)}`);
  return v;
}

/** The `--traffic` flags an action means (the same resolution as `sluice service update`). */
export function trafficFlags(action: string, body: Record<string, unknown>): string[] {
  switch (action) {
    case 'traffic': {
      const t = body.traffic;
      if (typeof t !== 'object' || t === null || Array.isArray(t))
        throw new ActionError('"traffic" must be an object of revision name or tag (or "@latest") to percent');
      const flags = Object.entries(t as Record<string, unknown>).map(([ref, pct]) => {
        if (!Number.isInteger(pct) || (pct as number) < 0 || (pct as number) > 100)
          throw new ActionError(`percent for "${ref}" must be a whole number 0-100, got ${JSON.stringify(pct)}`);
        return `${ref}=${String(pct)}`;
      });
      if (flags.length === 0) throw new ActionError('"traffic" names no revision');
      return flags;
    }
    case 'rollback':
      return [`${name(body, 'revision')}=100`];
    case 'promote':
      return [`${LATEST_REF}=100`];
    default:
      throw new ActionError(`unknown action "${action}": expected traffic, rollback or promote`, 404);
  }
}

export class TrafficActions {
  private readonly client: SluiceClient;

  constructor(api: { url: string; token: string; ca: string }) {
    this.client = new SluiceClient(api.url, api.token, { ca: api.ca }, () => {});
  }

  async run(action: string, body: Record<string, unknown>): Promise<ActionResult> {
    const flags = trafficFlags(action, body);
    const namespace = name(body, 'namespace');
    const service = name(body, 'service');
    const kind = findKind('ksvc')!;
    try {
      const svc = await this.client.get<Service>(kind, namespace, service);
      const traffic = computeTraffic(svc, { traffic: flags });
      await this.client.patch(kind, namespace, service, { spec: { traffic } });
      return { message: `${action} ${service}: ${flags.join(', ')}`, traffic };
    } catch (err) {
      // The API server's own wording (validation, not found) is what the user needs.
      if (err instanceof CliError) throw new ActionError(err.message, err.code ?? 400);
      throw err;
    }
  }
}

// Example scaling plugin loaded from a user path: scale a revision on a number read over HTTP, e.g.
// the backlog of a message queue, or a count an operator sets by hand.
//
//   npm run build && sluice server --plugin dist/examples/plugins/http-value.js
//
//   spec.template.metadata.annotations:
//     autoscaling.knative.dev/class: plugin.autoscaling.sluice.dev
//     sluice.dev/scaling-plugin: http-value
//     sluice.dev/http-value-url: http://127.0.0.1:9000/backlog   # answers a number, e.g. "25"
//     sluice.dev/http-value-per-instance: "10"                     # optional, default 1
//
//   desired = ceil(value / per-instance)
//
// The body is a plain decimal number, or JSON {"value": n}. Anything else, a non-2xx answer or an
// unreachable endpoint makes collect() throw with the reason; Sluice then keeps the revision's
// current scale and puts the message on its PodAutoscaler (status.error). A negative value is
// passed on as it is: refusing it is Sluice's job, and its message says so.

import type { Indicators, PluginContext, ScalingPlugin } from '../../src/autoscaler/plugin.js';

export const URL_ANNOTATION = 'sluice.dev/http-value-url';
export const PER_INSTANCE_ANNOTATION = 'sluice.dev/http-value-per-instance';
/** Sluice stops waiting after plugin-timeout (1 s by default); this only bounds the connection. */
const FETCH_TIMEOUT_MS = 5000;

function perInstance(ctx: PluginContext): number {
  const raw = ctx.annotations[PER_INSTANCE_ANNOTATION];
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (!(Number.isFinite(n) && n > 0)) throw new Error(`${PER_INSTANCE_ANNOTATION} must be a number > 0, got ${JSON.stringify(raw)}`);
  return n;
}

/** The number in a body: "25", "2.5", "-1", or {"value": 25}. */
export function parseValue(body: string): number {
  const text = body.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new Error(`the body is not valid JSON: ${JSON.stringify(text.slice(0, 60))}`);
    }
    const v = (doc as { value?: unknown }).value;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    throw new Error(`expected {"value": <number>}, got ${JSON.stringify(text.slice(0, 60))}`);
  }
  throw new Error(`expected a number, got ${JSON.stringify(text.slice(0, 60))}`);
}

const httpValue: ScalingPlugin = {
  name: 'http-value',
  async collect(ctx: PluginContext): Promise<Indicators> {
    const url = ctx.annotations[URL_ANNOTATION];
    if (!url) throw new Error(`annotation ${URL_ANNOTATION} is not set`);
    const per = perInstance(ctx);
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      throw new Error(`GET ${url} failed: ${cause ?? (e as Error).message}`);
    }
    const body = await res.text();
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${body.trim().slice(0, 80)}`);
    return { value: parseValue(body), perInstance: per };
  },
  decide(ind: Indicators): number {
    // ceil of a negative stays negative: Sluice refuses it and keeps the scale.
    return Math.ceil(ind.value / ind.perInstance);
  },
};

export default httpValue;

// Conversion between the served versions of serving.knative.dev. v1 is stored; v1beta1 has the
// same shape; v1alpha1 objects written in the v1-compatible form (spec.template + traffic, as the
// article's YAML is) convert as they are, and the old single `container` field becomes
// `containers`. The older v1alpha1 modes (runLatest, release, pinned, manual) are refused with a
// clear message rather than guessed at.

import { ApiError } from './errors.js';
import type { KObject } from './types.js';

const GROUP = 'serving.knative.dev';

export function convert(obj: KObject, toApiVersion: string): KObject {
  const [group] = toApiVersion.split('/');
  if (group !== GROUP || !obj.apiVersion?.startsWith(`${GROUP}/`)) return { ...obj, apiVersion: toApiVersion };
  const out: KObject = { ...obj, apiVersion: toApiVersion };
  const spec = out.spec as Record<string, any> | undefined;
  if (spec && typeof spec === 'object') {
    for (const mode of ['runLatest', 'release', 'pinned', 'manual']) {
      if (spec[mode] !== undefined) {
        throw new ApiError(
          400,
          'BadRequest',
          `spec.${mode}: the v1alpha1 "${mode}" mode is not supported; use spec.template and spec.traffic (the v1 form)`,
        );
      }
    }
    const fixContainer = (s: Record<string, any> | undefined) => {
      if (s && typeof s === 'object' && s.container !== undefined && s.containers === undefined) {
        const { container, ...rest } = s;
        return { ...rest, containers: [container] };
      }
      return s;
    };
    if (out.kind === 'Revision') out.spec = fixContainer(spec);
    else if (spec.template && typeof spec.template === 'object') {
      out.spec = { ...spec, template: { ...spec.template, spec: fixContainer(spec.template.spec) } };
    }
  }
  return out;
}

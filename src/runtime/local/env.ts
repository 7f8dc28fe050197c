// The environment an instance starts with. Instances get a clean environment, not Sluice's own:
// only a few variables programs need to run at all (PATH, HOME, ...) are passed through, then the
// image mapping's env, the container's env (references already resolved: config-env.ts), and last
// the variables the platform owns (PORT for the serving container only, HOST, K_SERVICE,
// K_CONFIGURATION, K_REVISION), which nothing can override.

import type { EnvEntry } from './config-env.js';

export const PASSTHROUGH_ENV = ['PATH', 'HOME', 'USER', 'TMPDIR', 'LANG', 'TZ', 'SYSTEMROOT', 'WINDIR'];

/**
 * Kubernetes-style $(VAR) expansion: $(NAME) becomes the variable's value when it is defined and is
 * left alone otherwise; $$ is an escaped $.
 */
export function expandVars(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : m;
  });
}

export interface EnvInput {
  base: Record<string, string | undefined>;
  mappingEnv?: Record<string, string>;
  containerEnv?: EnvEntry[];
  platform: Record<string, string>;
}

export function buildEnv(input: EnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASSTHROUGH_ENV) {
    const v = input.base[k];
    if (v !== undefined) env[k] = v;
  }
  Object.assign(env, input.mappingEnv ?? {});
  // Platform values are visible to $(VAR) references in the container's env, as in Knative.
  const visible = (): Record<string, string> => ({ ...env, ...input.platform });
  for (const e of input.containerEnv ?? []) env[e.name] = e.expand ? expandVars(e.value, visible()) : e.value;
  Object.assign(env, input.platform);
  return env;
}

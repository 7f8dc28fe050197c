// sluice logs SERVICE|REVISION [-f] [--tail N]: streams a revision's instance logs. A service
// name means its latest ready revision (or its latest created one while none is ready).

import type { Command } from 'commander';
import { findKind } from '../../api/registry.js';
import type { Service } from '../../api/types.js';
import { contextFor, type Context } from '../context.js';
import { CliError } from '../errors.js';

const serviceKind = findKind('service')!;
const revisionKind = findKind('revision')!;

export async function resolveRevision(ctx: Context, target: string): Promise<string> {
  const svc = await ctx.client.tryGet<Service>(serviceKind, ctx.namespace, target);
  if (svc) {
    const rev = svc.status?.latestReadyRevisionName ?? svc.status?.latestCreatedRevisionName;
    if (!rev) throw new CliError(`service '${target}' has no revision yet`);
    return rev;
  }
  const rev = await ctx.client.tryGet(revisionKind, ctx.namespace, target);
  if (!rev) throw new CliError(`no service or revision named "${target}" in namespace "${ctx.namespace}"`);
  return target;
}

export function register(program: Command): void {
  program
    .command('logs')
    .description("Print the logs of a revision's instances (a service name means its latest ready revision)")
    .argument('<target>', 'service or revision name')
    .option('-f, --follow', 'keep streaming new lines until interrupted')
    .option('--tail <lines>', 'only the last N lines (per instance)')
    .option('-c, --container <name>', 'one container of a multi-container revision (default: the serving container)')
    .action(async (target: string, _o, cmd: Command) => {
      const { follow, tail, container } = cmd.opts<{ follow?: boolean; tail?: string; container?: string }>();
      if (tail !== undefined && !/^\d+$/.test(tail)) throw new CliError(`invalid --tail "${tail}": expected a whole number of lines`);
      const ctx = contextFor(cmd);
      const revision = await resolveRevision(ctx, target);
      const path = ctx.client.path(revisionKind, { namespace: ctx.namespace, name: revision, sub: 'log' });
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // A closed pipe (`sluice logs x | head`) ends the stream quietly.
      process.stdout.once('error', stop);
      try {
        await ctx.client.stream(
          path,
          { follow: follow ? 'true' : undefined, tailLines: tail, container },
          (c) => process.stdout.write(c),
          abort.signal,
        );
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.stdout.off('error', stop);
      }
    });
}

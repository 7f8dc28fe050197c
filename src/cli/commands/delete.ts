// sluice delete KIND NAME...

import type { Command } from 'commander';
import { contextFor, kindArg } from '../context.js';

export function register(program: Command): void {
  program
    .command('delete')
    .description('Delete resources by kind and name')
    .argument('<kind>', 'resource kind (ksvc, revision, route, configuration, ...)')
    .argument('<names...>', 'names of the resources to delete')
    .action(async (kindName: string, names: string[], _opts, cmd: Command) => {
      const kind = kindArg(kindName);
      const ctx = contextFor(cmd);
      const ref = kind.group ? `${kind.singular}.${kind.group}` : kind.singular;
      for (const name of names) {
        await ctx.client.delete(kind, ctx.namespace, name);
        ctx.out(`${ref} "${name}" deleted\n`);
      }
    });
}

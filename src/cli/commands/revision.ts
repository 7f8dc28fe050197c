// sluice revision list|describe|delete

import type { Command } from 'commander';
import { findKind } from '../../api/registry.js';
import { Labels, type Revision, type Service } from '../../api/types.js';
import { contextFor, outputFormat } from '../context.js';
import { revisionRows } from '../listing.js';
import { formatObjects, formatTable } from '../output.js';
import { describeResource } from './describe.js';
import { noResources, withTypeMeta } from './get.js';

const revisionKind = findKind('revision')!;
const serviceKind = findKind('service')!;

export function register(program: Command): void {
  const revision = program.command('revision').alias('rev').description('Manage revisions');

  revision
    .command('list')
    .alias('ls')
    .description('List revisions, with the traffic and tags their service gives them')
    .option('-s, --service <name>', 'only the revisions of this service')
    .option('-o, --output <format>', 'output format: table, yaml, json or name', 'table')
    .action(async (_o, cmd: Command) => {
      const { service } = cmd.opts<{ service?: string }>();
      const format = outputFormat(cmd);
      const ctx = contextFor(cmd);
      if (service) await ctx.client.get(serviceKind, ctx.namespace, service); // a clear NotFound for a typo
      const selector = service ? `${Labels.service}=${service}` : undefined;
      const revs = (await ctx.client.list<Revision>(revisionKind, ctx.namespace, { labelSelector: selector })).items ?? [];
      if (format !== 'table') return ctx.out(formatObjects(format, withTypeMeta(revisionKind, revs)));
      if (revs.length === 0) return noResources(ctx, ctx.namespace);
      const services = (await ctx.client.list<Service>(serviceKind, ctx.namespace)).items ?? [];
      const { headers, rows } = revisionRows(revs, services, ctx.now());
      ctx.out(formatTable(headers, rows));
    });

  revision
    .command('describe')
    .description('Show details of a revision: image, command, env, concurrency, replicas, conditions')
    .argument('<name>', 'revision name')
    .option('-o, --output <format>', 'output format: table (readable summary), yaml, json or name', 'table')
    .action(async (name: string, _o, cmd: Command) => {
      await describeResource(contextFor(cmd), revisionKind, name, outputFormat(cmd));
    });

  revision
    .command('delete')
    .description('Delete revisions')
    .argument('<names...>', 'revision names')
    .action(async (names: string[], _o, cmd: Command) => {
      const ctx = contextFor(cmd);
      for (const name of names) {
        await ctx.client.delete(revisionKind, ctx.namespace, name);
        ctx.out(`Revision '${name}' deleted in namespace '${ctx.namespace}'.\n`);
      }
    });
}

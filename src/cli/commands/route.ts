// sluice route list|describe

import type { Command } from 'commander';
import { findKind } from '../../api/registry.js';
import type { Route } from '../../api/types.js';
import { contextFor, outputFormat } from '../context.js';
import { routeRows } from '../listing.js';
import { formatObjects, formatTable } from '../output.js';
import { describeResource } from './describe.js';
import { noResources, withTypeMeta } from './get.js';

const routeKind = findKind('route')!;

export function register(program: Command): void {
  const route = program.command('route').alias('rt').description('Inspect routes');

  route
    .command('list')
    .alias('ls')
    .description('List routes')
    .argument('[name]', 'only this route')
    .option('-o, --output <format>', 'output format: table, yaml, json or name', 'table')
    .action(async (name: string | undefined, _o, cmd: Command) => {
      const format = outputFormat(cmd);
      const ctx = contextFor(cmd);
      const items = name
        ? [await ctx.client.get<Route>(routeKind, ctx.namespace, name)]
        : ((await ctx.client.list<Route>(routeKind, ctx.namespace)).items ?? []);
      if (format !== 'table') return ctx.out(formatObjects(format, withTypeMeta(routeKind, items)));
      if (items.length === 0) return noResources(ctx, ctx.namespace);
      const { headers, rows } = routeRows(items);
      ctx.out(formatTable(headers, rows));
    });

  route
    .command('describe')
    .description('Show details of a route: URL, traffic targets, conditions')
    .argument('<name>', 'route name')
    .option('-o, --output <format>', 'output format: table (readable summary), yaml, json or name', 'table')
    .action(async (name: string, _o, cmd: Command) => {
      await describeResource(contextFor(cmd), routeKind, name, outputFormat(cmd));
    });
}

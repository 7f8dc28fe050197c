// sluice get KIND [NAME] [-o table|yaml|json|name] [-l selector] [-A]

import type { Command } from 'commander';
import { apiVersionOf, type ResourceKind } from '../../api/registry.js';
import type { KObject } from '../../api/types.js';
import { contextFor, kindArg, outputFormat, type Context } from '../context.js';
import { formatObjects, formatTable, serverTableRows } from '../output.js';

/** List items may come without apiVersion/kind (as in Kubernetes typed lists); put them back for output. */
export function withTypeMeta(kind: ResourceKind, objs: KObject[]): KObject[] {
  return objs.map(
    ({ apiVersion, kind: k, ...rest }) => ({ apiVersion: apiVersion ?? apiVersionOf(kind), kind: k ?? kind.kind, ...rest }) as KObject,
  );
}

export function noResources(ctx: Context, namespace: string | undefined): void {
  ctx.err(namespace ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
}

export function register(program: Command): void {
  program
    .command('get')
    .description('Display one or many resources (ksvc, revision, route, configuration, kpa)')
    .argument('<kind>', 'resource kind: plural, singular or short name (ksvc, rev, rt, cfg, kpa)')
    .argument('[name]', 'the resource name; all of them when left out')
    .option('-o, --output <format>', 'output format: table, yaml, json or name', 'table')
    .option('-l, --selector <selector>', 'label selector, e.g. serving.knative.dev/service=hello')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .action(async (kindName: string, name: string | undefined, _opts, cmd: Command) => {
      const opts = cmd.opts<{ selector?: string; allNamespaces?: boolean }>();
      const kind = kindArg(kindName);
      const format = outputFormat(cmd);
      const ctx = contextFor(cmd);
      const ns = kind.namespaced && !(opts.allNamespaces && !name) ? ctx.namespace : undefined;
      if (format !== 'table') {
        if (name) {
          const obj = await ctx.client.get(kind, ctx.namespace, name);
          ctx.out(formatObjects(format, withTypeMeta(kind, [obj])[0]));
        } else {
          const list = await ctx.client.list(kind, ns, { labelSelector: opts.selector });
          ctx.out(formatObjects(format, withTypeMeta(kind, list.items ?? [])));
        }
        return;
      }
      const table = await ctx.client.table(kind, ns, { name, labelSelector: opts.selector });
      if (!name && (table.rows ?? []).length === 0) return noResources(ctx, ns);
      const { headers, rows } = serverTableRows(table);
      if (kind.namespaced && !ns) {
        // Across namespaces kubectl leads with a NAMESPACE column, taken from each row's metadata.
        headers.unshift('NAMESPACE');
        (table.rows ?? []).forEach((r, i) => rows[i].unshift(String(r.object?.metadata?.namespace ?? '')));
      }
      ctx.out(formatTable(headers, rows));
    });
}

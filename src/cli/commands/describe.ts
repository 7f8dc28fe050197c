// sluice describe KIND NAME: readable summaries for services, revisions and routes; Secrets show
// their keys and sizes only (as kubectl describe does: values never reach the terminal); other
// kinds print as YAML.

import type { Command } from 'commander';
import { findKind, type ResourceKind } from '../../api/registry.js';
import { Labels, type KObject, type Revision, type Route, type Service } from '../../api/types.js';
import { contextFor, kindArg, outputFormat, type Context } from '../context.js';
import { describeRevision, describeRoute, describeService } from '../describe.js';
import { formatObjects, type OutputFormat } from '../output.js';
import { withTypeMeta } from './get.js';

const kinds = {
  service: findKind('service')!,
  revision: findKind('revision')!,
  route: findKind('route')!,
};

export async function describeResource(ctx: Context, kind: ResourceKind, name: string, format: OutputFormat): Promise<void> {
  const obj = await ctx.client.get(kind, ctx.namespace, name);
  if (format !== 'table') {
    ctx.out(formatObjects(format, withTypeMeta(kind, [obj])[0]));
    return;
  }
  const now = ctx.now();
  if (kind === kinds.service) {
    const revs = await ctx.client.list<Revision>(kinds.revision, ctx.namespace, { labelSelector: `${Labels.service}=${name}` });
    ctx.out(describeService(obj as Service, revs.items ?? [], now));
  } else if (kind === kinds.revision) {
    const svcName = obj.metadata.labels?.[Labels.service];
    const svc = svcName ? await ctx.client.tryGet<Service>(kinds.service, ctx.namespace, svcName) : undefined;
    ctx.out(describeRevision(obj as Revision, svc, now));
  } else if (kind === kinds.route) {
    ctx.out(describeRoute(obj as Route, now));
  } else if (kind.group === '' && kind.kind === 'Secret') {
    ctx.out(describeSecret(obj));
  } else {
    ctx.out(formatObjects('yaml', withTypeMeta(kind, [obj])[0]));
  }
}

/** Name, type and each key's size in bytes — never the values. */
export function describeSecret(obj: KObject): string {
  const data = (obj.data as Record<string, string> | undefined) ?? {};
  const lines = [
    `Name:       ${obj.metadata.name ?? ''}`,
    `Namespace:  ${obj.metadata.namespace ?? ''}`,
    `Type:       ${String(obj.type ?? 'Opaque')}`,
    '',
    'Data',
    '====',
  ];
  for (const [k, v] of Object.entries(data)) lines.push(`${k}:  ${Buffer.from(v, 'base64').length} bytes`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('describe')
    .description('Show details of a service, revision or route')
    .argument('<kind>', 'resource kind (ksvc, revision, route, ...)')
    .argument('<name>', 'resource name')
    .option('-o, --output <format>', 'output format: table (readable summary), yaml, json or name', 'table')
    .action(async (kindName: string, name: string, _opts, cmd: Command) => {
      const kind = kindArg(kindName);
      const format = outputFormat(cmd);
      await describeResource(contextFor(cmd), kind, name, format);
    });
}

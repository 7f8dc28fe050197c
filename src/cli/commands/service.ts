// sluice service create|update|list|describe|delete, in the style of kn.

import type { Command } from 'commander';
import { findKind } from '../../api/registry.js';
import type { Service } from '../../api/types.js';
import { collect, contextFor, outputFormat, type Context } from '../context.js';
import { CliError } from '../errors.js';
import { serviceRows } from '../listing.js';
import { formatObjects, formatTable } from '../output.js';
import { applyEdits, newService, type EditFlags } from '../service-edit.js';
import { computeTraffic, hasTrafficFlags, validateTrafficFlags, type TrafficFlags } from '../traffic.js';
import { waitForService } from '../wait.js';
import { describeResource } from './describe.js';
import { noResources, withTypeMeta } from './get.js';

const serviceKind = findKind('service')!;

interface WaitFlags {
  wait: boolean;
  waitTimeout: string;
}

function addTemplateFlags(cmd: Command): Command {
  return cmd
    .option('--image <image>', 'image to run (Sluice maps known images to local commands)')
    .option('-e, --env <NAME=VALUE>', 'environment variable to set; NAME- removes it (repeatable)', collect)
    .option(
      '--revision-name <name>',
      'name for the new revision; prefixed with "SERVICE-" unless it already starts with it. {{.Service}}, {{.Generation}} and {{.Random N}} are expanded',
    )
    .option('-p, --port <port>', 'port the application listens on (PORT or NAME:PORT)')
    .option('--concurrency-limit <n>', 'hard limit of concurrent requests per instance (0: unlimited)')
    .option('--scale-min <n>', 'minimum number of instances')
    .option('--scale-max <n>', 'maximum number of instances')
    .option('-a, --annotation <NAME=VALUE>', 'annotation for the service and its revisions; NAME- removes it (repeatable)', collect)
    .option('--cmd <command>', 'command to run instead of the image entrypoint (repeat for more words)', collect)
    .option('--arg <arg>', 'argument for the command (repeatable)', collect)
    .option('--no-wait', "don't wait for the service to become ready")
    .option('--wait-timeout <seconds>', 'how long to wait for readiness', '60');
}

function waitTimeout(flags: WaitFlags): number {
  const n = Number(flags.waitTimeout);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError(`invalid --wait-timeout "${flags.waitTimeout}": expected a positive number of seconds`);
  return n;
}

async function report(ctx: Context, svc: Service, verb: 'created' | 'updated', flags: WaitFlags): Promise<void> {
  const name = svc.metadata.name ?? '';
  if (!flags.wait) {
    ctx.out(`Service '${name}' ${verb} in namespace '${ctx.namespace}'.\n`);
    return;
  }
  const ready = await waitForService(ctx.client, ctx.namespace, name, svc.metadata.generation ?? 1, waitTimeout(flags));
  ctx.out(
    `Service '${name}' ${verb} to latest revision '${ready.status?.latestReadyRevisionName ?? ''}' is available at URL:\n${ready.status?.url ?? ''}\n`,
  );
}

function registerCreate(service: Command): void {
  addTemplateFlags(service.command('create'))
    .description('Create a service')
    .argument('<name>', 'service name')
    .option('--force', 'replace the service if it already exists')
    .action(async (name: string, _o, cmd: Command) => {
      const flags = cmd.opts<EditFlags & WaitFlags & { force?: boolean }>();
      if (!flags.image && !(flags.cmd && flags.cmd.length > 0)) {
        throw new CliError('sluice service create needs --image (or --cmd to run a local command)');
      }
      const ctx = contextFor(cmd);
      const { service: desired } = applyEdits(newService(name, ctx.namespace), flags);
      const existing = await ctx.client.tryGet<Service>(serviceKind, ctx.namespace, name);
      let result: Service;
      if (existing) {
        if (!flags.force) {
          throw new CliError(
            `cannot create service '${name}' in namespace '${ctx.namespace}' because it already exists and --force was not given`,
          );
        }
        desired.metadata.resourceVersion = existing.metadata.resourceVersion;
        // Keep the server-set annotations (creator) that Knative won't let change.
        desired.metadata.annotations = { ...(existing.metadata.annotations ?? {}), ...(desired.metadata.annotations ?? {}) };
        result = await ctx.client.update<Service>(serviceKind, ctx.namespace, desired);
        await report(ctx, result, 'updated', flags);
        return;
      }
      result = await ctx.client.create<Service>(serviceKind, ctx.namespace, desired);
      await report(ctx, result, 'created', flags);
    });
}

function registerUpdate(service: Command): void {
  addTemplateFlags(service.command('update'))
    .description('Update a service: its revision template, and/or its traffic split and tags')
    .argument('<name>', 'service name')
    .option(
      '--traffic <REF=PERCENT>',
      'traffic split; REF is a tag, a revision name or @latest; comma-separated or repeated (e.g. v1=50,v2=50)',
      collect,
    )
    .option('--tag <REVISION=TAG>', 'tag a revision (or @latest); repeatable', collect)
    .option('--untag <TAG>', 'remove a tag; repeatable', collect)
    .action(async (name: string, _o, cmd: Command) => {
      const flags = cmd.opts<EditFlags & WaitFlags & { traffic?: string[]; tag?: string[]; untag?: string[] }>();
      const traffic: TrafficFlags = { traffic: flags.traffic, tags: flags.tag, untags: flags.untag };
      const editGiven = [
        'image',
        'env',
        'revisionName',
        'port',
        'concurrencyLimit',
        'scaleMin',
        'scaleMax',
        'annotation',
        'cmd',
        'arg',
      ].some((k) => (flags as unknown as Record<string, unknown>)[k] !== undefined);
      if (!editGiven && !hasTrafficFlags(traffic)) {
        throw new CliError(
          'nothing to update: give at least one of --image, --env, --traffic, --tag, --untag, ... (see sluice service update --help)',
        );
      }
      validateTrafficFlags(traffic);
      const ctx = contextFor(cmd);
      let result: Service | undefined;
      for (let attempt = 0; !result; attempt++) {
        const current = await ctx.client.get<Service>(serviceKind, ctx.namespace, name);
        const { service: next } = applyEdits(current, flags);
        if (hasTrafficFlags(traffic)) next.spec!.traffic = computeTraffic(current, traffic);
        delete next.status;
        try {
          result = await ctx.client.update<Service>(serviceKind, ctx.namespace, next);
        } catch (e) {
          // Controllers write status concurrently; one retry on a fresh copy settles a conflict.
          if (attempt > 0 || !(e instanceof CliError) || e.code !== 409) throw e;
        }
      }
      await report(ctx, result, 'updated', flags);
    });
}

export function register(program: Command): void {
  const service = program.command('service').alias('ksvc').description('Manage Knative services');
  registerCreate(service);
  registerUpdate(service);

  service
    .command('list')
    .alias('ls')
    .description('List services')
    .option('-o, --output <format>', 'output format: table, yaml, json or name', 'table')
    .action(async (_o, cmd: Command) => {
      const format = outputFormat(cmd);
      const ctx = contextFor(cmd);
      const items = (await ctx.client.list<Service>(serviceKind, ctx.namespace)).items ?? [];
      if (format !== 'table') return ctx.out(formatObjects(format, withTypeMeta(serviceKind, items)));
      if (items.length === 0) return noResources(ctx, ctx.namespace);
      const { headers, rows } = serviceRows(items, ctx.now());
      ctx.out(formatTable(headers, rows));
    });

  service
    .command('describe')
    .description('Show details of a service: URL, revisions with traffic and tags, conditions')
    .argument('<name>', 'service name')
    .option('-o, --output <format>', 'output format: table (readable summary), yaml, json or name', 'table')
    .action(async (name: string, _o, cmd: Command) => {
      await describeResource(contextFor(cmd), serviceKind, name, outputFormat(cmd));
    });

  service
    .command('delete')
    .description('Delete services')
    .argument('<names...>', 'service names')
    .action(async (names: string[], _o, cmd: Command) => {
      const ctx = contextFor(cmd);
      for (const name of names) {
        await ctx.client.delete(serviceKind, ctx.namespace, name);
        ctx.out(`Service '${name}' successfully deleted in namespace '${ctx.namespace}'.\n`);
      }
    });
}

// sluice apply -f FILE|- : create what's missing, update what exists, kubectl-style output.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { KObject } from '../../api/types.js';
import { collect, contextFor, type Context } from '../context.js';
import { CliError } from '../errors.js';
import { changed, mergeForUpdate, parseManifests, type Manifest } from '../manifests.js';
import { objectRef } from '../output.js';

async function readSource(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `the path "${file}" does not exist` : `cannot read ${file}: ${(e as Error).message}`);
  }
}

export async function applyOne(
  ctx: Context,
  m: Manifest,
  namespaceFlag: string | undefined,
): Promise<'created' | 'configured' | 'unchanged'> {
  const objNs = m.obj.metadata.namespace;
  if (objNs && namespaceFlag && objNs !== namespaceFlag) {
    throw new CliError(
      `the namespace from the provided object "${objNs}" does not match the namespace "${namespaceFlag}"; pass --namespace=${objNs} to apply it`,
    );
  }
  const ns = objNs ?? ctx.namespace;
  const name = m.obj.metadata.name;
  const current = name ? await ctx.client.tryGet(m.kind, ns, name, m.version) : undefined;
  if (!current) {
    await ctx.client.create(m.kind, ns, { ...m.obj, metadata: { ...m.obj.metadata, namespace: ns } }, m.version);
    return 'created';
  }
  let base: KObject = current;
  // A controller may write between our GET and PUT; one retry on the fresh object settles that.
  for (let attempt = 0; ; attempt++) {
    try {
      const updated = await ctx.client.update(m.kind, ns, mergeForUpdate(base, m.obj), m.version);
      return changed(base, updated) ? 'configured' : 'unchanged';
    } catch (e) {
      if (attempt > 0 || !(e instanceof CliError) || e.code !== 409) throw e;
      base = await ctx.client.get(m.kind, ns, name!, m.version);
    }
  }
}

export function register(program: Command): void {
  program
    .command('apply')
    .description('Create or update resources from YAML or JSON files (multi-document YAML and Lists work)')
    .requiredOption('-f, --filename <file>', 'file to apply, or - for stdin (repeatable)', collect)
    .action(async (_opts, cmd: Command) => {
      const files = cmd.opts<{ filename: string[] }>().filename;
      const ctx = contextFor(cmd);
      const nsFlag = cmd.optsWithGlobals<{ namespace?: string }>().namespace;
      const manifests: Manifest[] = [];
      // Parse everything first so a typo in the last document doesn't leave a half-applied set.
      for (const f of files) manifests.push(...parseManifests(await readSource(f), f === '-' ? 'stdin' : f));
      for (const m of manifests) {
        const result = await applyOne(ctx, m, nsFlag);
        ctx.out(`${objectRef(m.obj)} ${result}\n`);
      }
    });
}

// sluice rollout status|promote|abort|pause|resume SERVICE

import type { Command } from 'commander';
import { findKind } from '../../api/registry.js';
import type { KObject } from '../../api/types.js';
import { ROLLOUT_ACTION_ANNOTATION } from '../../progressive/spec.js';
import { contextFor, outputFormat } from '../context.js';
import { CliError } from '../errors.js';
import { formatObjects } from '../output.js';
import { rolloutStatusText } from '../rollout.js';
import { withTypeMeta } from './get.js';

const rolloutKind = findKind('rollout', 'sluice.dev')!;

async function rolloutOf(cmd: Command, name: string): Promise<{ ro: KObject; ctx: ReturnType<typeof contextFor> }> {
  const ctx = contextFor(cmd);
  const ro = await ctx.client.tryGet<KObject>(rolloutKind, ctx.namespace, name);
  if (!ro)
    throw new CliError(
      `no rollout "${name}" in namespace "${ctx.namespace}" (create a sluice.dev/v1alpha1 Rollout named after the Service)`,
    );
  return { ro, ctx };
}

export function register(program: Command): void {
  const rollout = program.command('rollout').alias('ro').description('Follow and steer canary rollouts (sluice.dev/v1alpha1 Rollout)');

  rollout
    .command('status')
    .description('Phase, stable and canary revisions, weight and the last analysis')
    .argument('<service>', 'the Service (and Rollout) name')
    .option('-o, --output <format>', 'output format: table (readable summary), yaml, json or name', 'table')
    .action(async (name: string, _o, cmd: Command) => {
      const { ro, ctx } = await rolloutOf(cmd, name);
      const format = outputFormat(cmd);
      if (format === 'table') return ctx.out(rolloutStatusText(ro));
      ctx.out(formatObjects(format, withTypeMeta(rolloutKind, [ro])));
    });

  const act = (verb: string, description: string, patch: (ro: KObject) => Record<string, unknown>, done: string) =>
    rollout
      .command(verb)
      .description(description)
      .argument('<service>', 'the Service (and Rollout) name')
      .action(async (name: string, _o, cmd: Command) => {
        const { ro, ctx } = await rolloutOf(cmd, name);
        await ctx.client.patch(rolloutKind, ctx.namespace, name, patch(ro));
        ctx.out(`Rollout "${name}" ${done}.\n`);
      });
  act(
    'promote',
    'Send all traffic to the canary now, skipping the remaining steps',
    () => ({ metadata: { annotations: { [ROLLOUT_ACTION_ANNOTATION]: 'promote' } } }),
    'will be promoted',
  );
  act(
    'abort',
    'Roll back to the stable revision now',
    () => ({ metadata: { annotations: { [ROLLOUT_ACTION_ANNOTATION]: 'abort' } } }),
    'will be rolled back',
  );
  act('pause', 'Hold the canary at its current weight', () => ({ spec: { paused: true } }), 'paused');
  act('resume', 'Continue a paused rollout (the current step is judged afresh)', () => ({ spec: { paused: false } }), 'resumed');
}

// The `sluice` command line: Knative's kn verbs (service, revision, route) plus kubectl-style
// apply/get/describe/delete against the Sluice API, and `sluice server` to run Sluice itself.

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliError } from './errors.js';
import { register as registerApply } from './commands/apply.js';
import { register as registerDelete } from './commands/delete.js';
import { register as registerDescribe } from './commands/describe.js';
import { register as registerGet } from './commands/get.js';
import { register as registerLogs } from './commands/logs.js';
import { register as registerRevision } from './commands/revision.js';
import { register as registerRollout } from './commands/rollout.js';
import { register as registerRoute } from './commands/route.js';
import { register as registerController } from './commands/controller.js';
import { register as registerServer } from './commands/server.js';
import { register as registerService } from './commands/service.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    return String(pkg.version ?? '0.0.0');
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(): Command {
  const program = new Command('sluice');
  program
    .description('Sluice: Knative Serving on one machine')
    .version(version(), '-v, --version')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $SLUICE_KUBECONFIG, $KUBECONFIG, ~/.sluice/kubeconfig.yaml)')
    .option('-n, --namespace <namespace>', "namespace to work in (default: the kubeconfig context's, else default)")
    // Errors surface as one "Error: ..." line; main() decides the exit code.
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error:/, 'Error:')) })
    .showSuggestionAfterError(true);
  registerApply(program);
  registerGet(program);
  registerDescribe(program);
  registerDelete(program);
  registerService(program);
  registerRevision(program);
  registerRoute(program);
  registerRollout(program);
  registerLogs(program);
  registerServer(program);
  registerController(program);
  return program;
}

/** Runs the CLI; never throws. Failures print one line to stderr and set exit code 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander already printed its message (or the help/version text).
      process.exitCode = e.exitCode;
      return;
    }
    const message = e instanceof CliError ? e.message : e instanceof Error ? e.message || e.name : String(e);
    process.stderr.write(`Error: ${message}\n`);
    if (process.env.SLUICE_DEBUG && e instanceof Error && !(e instanceof CliError)) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}

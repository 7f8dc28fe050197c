// Benchmark runner: `npm run bench` runs every section in SECTION_ORDER, `npm run bench -- NAME...`
// only those, then rewrites docs/benchmarks.md (only the blocks of the sections that ran).
//
// A section is bench/<name>.ts exporting `run(ctx): Promise<Section>` (see bench/lib/section.ts).
// To add one, write the module and put its name in SECTION_ORDER where it belongs in the doc.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { composeDoc, sectionBlock } from './lib/doc.js';
import { debianVersion, machineInfo, type MachineInfo } from './lib/machine.js';
import { ProcessGroup } from './lib/procs.js';
import type { BenchContext, SectionModule } from './lib/section.js';

/** Sections `npm run bench` runs, in document order (one not built yet is skipped with a note). */
export const SECTION_ORDER: readonly string[] = [
  'gateway',
  'gateway-workers',
  'autoscaling',
  'coldstarts',
  'progressive',
  'observability',
  'controlplane',
];

/** Modules in bench/ that are not sections (besides helper programs named *-process). */
const NOT_SECTIONS = new Set(['run']);

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/bench/run.js -> repository root.
const root = path.resolve(here, '..', '..');
const docPath = path.join(root, 'docs', 'benchmarks.md');

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function usage(): string {
  return `usage: npm run bench [-- SECTION...]\n  sections: ${SECTION_ORDER.join(', ')} (or any bench/<name>.ts exporting run)\n`;
}

async function loadSection(name: string): Promise<SectionModule> {
  // Helper programs for sections are named *-process.
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || NOT_SECTIONS.has(name) || name.endsWith('-process'))
    throw new Error(`"${name}" is not a benchmark section name.\n${usage()}`);
  const file = path.join(here, `${name}.js`);
  if (!existsSync(file))
    throw new Error(`no benchmark section "${name}" (expected bench/${name}.ts, built to ${path.relative(root, file)}).\n${usage()}`);
  const mod = (await import(pathToFileURL(file).href)) as Partial<SectionModule>;
  if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts does not export an async function run(ctx)`);
  return mod as SectionModule;
}

function machineMarkdown(m: MachineInfo, tools: Map<string, string>, date: string): string {
  for (const pkg of ['wrk', 'nginx']) {
    if (!tools.has(pkg)) tools.set(pkg, debianVersion(pkg) ?? 'not installed');
  }
  const rows = [
    ['CPU', `${m.cpuModel}, ${m.cores} cores`],
    ['Memory', `${m.memoryGiB} GiB`],
    ['OS', `${m.os} (kernel ${m.kernel})`],
    ['Node', m.node],
    ...[...tools.entries()].map(([k, v]) => [k, v]),
  ];
  return [
    `## Machine (latest run, ${date})`,
    '',
    '| | |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    'Every process in a run (load generator, apps, gateway or nginx) shares these cores, so absolute',
    'numbers say as much about the machine as about Sluice; compare rows within one run.',
  ].join('\n');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(usage());
    return 0;
  }
  const names =
    args.length > 0
      ? [...new Set(args)]
      : SECTION_ORDER.filter((n) => {
          const there = existsSync(path.join(here, `${n}.js`));
          if (!there) log(`${n}: skipped (bench/${n}.ts is not built)`);
          return there;
        });
  const command = args.length > 0 ? `npm run bench -- ${names.join(' ')}` : 'npm run bench';
  // Fail on a bad name before spending minutes on the others.
  const modules = new Map<string, SectionModule>();
  for (const n of names) modules.set(n, await loadSection(n));

  const machine = machineInfo();
  const tools = new Map<string, string>();
  const fresh = new Map<string, string>();
  let failed = 0;
  let current: ProcessGroup | null = null;
  let currentTmp: string | null = null;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    log(`${signal}: stopping the processes this run started`);
    const procs = current;
    void (procs ? procs.stopAll() : Promise.resolve()).finally(() => {
      if (currentTmp) rmSync(currentTmp, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => current?.killAllNow());

  for (const [name, mod] of modules) {
    const procs = new ProcessGroup();
    current = procs;
    const tmpDir = mkdtempSync(path.join(os.tmpdir(), `sluice-bench-${name}-`));
    currentTmp = tmpDir;
    const ctx: BenchContext = {
      root,
      tmpDir,
      procs,
      machine,
      log: (m) => log(`${name}: ${m}`),
      noteTool: (tool, version) => tools.set(tool, version),
    };
    const started = Date.now();
    log(`${name}: starting`);
    try {
      const section = await mod.run(ctx);
      const date = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
      const took = Math.round((Date.now() - started) / 1000);
      const stamp = `*Measured ${date} on ${machine.cpuModel} (${machine.cores} cores, ${machine.memoryGiB} GiB), Node ${machine.node}, with \`${command}\`; this section took ${took} s.*`;
      fresh.set(name, sectionBlock(name, `## ${section.title}\n\n${stamp}\n\n${section.body.trim()}`));
      log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      failed++;
      if (interrupted) break;
      log(`${name}: FAILED (its previous text in the doc is kept): ${String((err as Error).stack ?? err)}`);
    } finally {
      await procs.stopAll();
      current = null;
      currentTmp = null;
      rmSync(tmpDir, { recursive: true, force: true });
    }
  }

  if (fresh.size > 0) {
    const old = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
    const date = new Date().toISOString().slice(0, 10);
    writeFileSync(docPath, composeDoc(old, machineMarkdown(machine, tools, date), fresh, SECTION_ORDER));
    log(`wrote ${path.relative(root, docPath)} (${[...fresh.keys()].join(', ')})`);
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${String((err as Error).message ?? err)}\n`);
    process.exit(2);
  },
);

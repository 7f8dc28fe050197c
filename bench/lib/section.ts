// The contract between bench/run.ts and one benchmark section.
//
// A section is a module bench/<name>.ts that exports
//
//   export async function run(ctx: BenchContext): Promise<Section>
//
// `npm run bench -- <name>` runs it and replaces only its block in docs/benchmarks.md; plain
// `npm run bench` runs every section listed in SECTION_ORDER (bench/run.ts). A section starts its
// processes through ctx.procs so they are stopped even when it throws, writes scratch files under
// ctx.tmpDir, and prints progress with ctx.log (stderr; the doc gets only what it returns).

import type { MachineInfo } from './machine.js';
import type { ProcessGroup } from './procs.js';

export interface Section {
  /** Heading of the section in docs/benchmarks.md (no leading "#"). */
  title: string;
  /** Markdown under the heading: setup, tables, interpretation. Use "###" for sub-headings. */
  body: string;
}

export interface BenchContext {
  /** Repository root (where package.json is). */
  root: string;
  /** Scratch directory for this section only; removed after it finishes. */
  tmpDir: string;
  /** Child processes started here are stopped when the section ends, even on error. */
  procs: ProcessGroup;
  /** Static facts about this machine, measured once per run. */
  machine: MachineInfo;
  /** Progress line on stderr. */
  log(message: string): void;
  /** Records a tool's version for the doc's machine table, e.g. ("wrk", "4.1.0-3+b2"). */
  noteTool(name: string, version: string): void;
}

export interface SectionModule {
  run(ctx: BenchContext): Promise<Section>;
}

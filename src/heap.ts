// How far V8 lets the server's heap grow past its live data before collecting. V8 picks the
// factor itself, up to 4× when the program allocates fast, which a control plane does in bursts
// (every stored version is parsed, serialized and sent to each watcher): at 3,000 Services the
// server's heap was 602 MiB with 156 MiB live, and its RSS 702 MiB. A fixed growth keeps the heap
// near its live size at the price of more frequent full collections (docs/benchmarks.md, "Control
// plane at scale": RSS and server CPU with and without it).
//
// Only `sluice server` (and the benchmark's copy of it) sets it: startSluice also runs inside
// tests and other programs, whose heap is theirs to tune. A --heap-growing-percent given to node
// (command line or NODE_OPTIONS) wins.

import v8 from 'node:v8';

export const SERVER_HEAP_GROWING_PERCENT = 60;

export function limitHeapGrowth(percent = SERVER_HEAP_GROWING_PERCENT): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

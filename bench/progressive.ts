// Progressive delivery: how well sticky sessions keep the split (10,000 simulated clients through
// the gateway's own mapping), what request-aware resolution costs per request in-process, and
// the gateway's HTTP throughput for a plain split against the same split with rules or sticky
// sessions, interleaved in one run.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { RoutingTable } from '../src/dataplane/router.js';
import { SPACE, pointOfKey, slotOf, stickyLayout } from '../src/dataplane/sticky.js';
import type { HostRoute, RevisionBackend } from '../src/dataplane/types.js';
import { buildRollout, nextStepTime, observeReady, rolloutDone, stepRollout, type Rollout } from '../src/controllers/route-rollout.js';
import { debianVersion, ensureDebianTool } from './lib/machine.js';
import { waitForOutput } from './lib/procs.js';
import type { BenchContext, Section } from './lib/section.js';
import { runWrk } from './lib/wrk.js';
import { prng } from '../test/support/prng.js';

const CLIENTS = 10_000;

interface Clients {
  points: number[];
  /** Requests each client sends per step (exponential, mean 10, at least 1). */
  requests: number[];
}

function makeClients(kind: 'cookie' | 'header'): Clients {
  const rnd = prng(kind === 'cookie' ? 1 : 2);
  const points = Array.from({ length: CLIENTS }, (_, i) => (kind === 'cookie' ? Math.floor(rnd() * SPACE) : pointOfKey(`user-${i}`)));
  const requests = points.map(() => 1 + Math.floor(-Math.log(1 - rnd()) * 9));
  return { points, requests };
}

interface StepRow {
  label: string;
  weights: number[];
  clientShare: number[];
  requestShare: number[];
  moved: number;
  minimum: number;
  movedBack: number;
}

/** Runs clients through successive weightings of the same revisions (in layout order, newest first). */
function simulate(c: Clients, names: string[], steps: { label: string; weights: number[] }[]): StepRow[] {
  const rows: StepRow[] = [];
  let prev: number[] | undefined;
  let prevWeights: number[] | undefined;
  const everOn = names.map(() => new Set<number>());
  for (const s of steps) {
    const ends = stickyLayout(s.weights);
    const slot = c.points.map((p) => slotOf(ends, p));
    const total = s.weights.reduce((a, b) => a + b, 0);
    const clientShare = names.map((_, r) => slot.filter((x) => x === r).length / CLIENTS);
    const reqTotal = c.requests.reduce((a, b) => a + b, 0);
    const requestShare = names.map((_, r) => slot.reduce((acc, x, i) => acc + (x === r ? c.requests[i] : 0), 0) / reqTotal);
    let moved = 0;
    let movedBack = 0;
    if (prev) {
      for (let i = 0; i < CLIENTS; i++) {
        if (slot[i] === prev[i]) continue;
        moved++;
        // Back and forth: the client returns to a revision it had left.
        if (everOn[slot[i]].has(i)) movedBack++;
      }
    }
    slot.forEach((r, i) => everOn[r].add(i));
    const minimum = prevWeights
      ? s.weights.reduce((acc, w, r) => acc + Math.max(0, w / total - prevWeights![r] / prevWeights!.reduce((a, b) => a + b, 0)), 0)
      : 0;
    rows.push({
      label: s.label,
      weights: s.weights.map((w) => (100 * w) / total),
      clientShare,
      requestShare,
      moved: moved / CLIENTS,
      minimum,
      movedBack,
    });
    prev = slot;
    prevWeights = s.weights;
  }
  return rows;
}

const pct = (x: number, d = 2) => `${(100 * x).toFixed(d)}%`;

function stickyTable(title: string, names: string[], rows: StepRow[]): string {
  const head = `| step | weights (${names.join(' / ')}) | clients | requests | max share error (clients / requests) | clients moved | minimum | moved back |`;
  const lines = rows.map((r) => {
    const errC = Math.max(...r.weights.map((w, i) => Math.abs(r.clientShare[i] - w / 100)));
    const errR = Math.max(...r.weights.map((w, i) => Math.abs(r.requestShare[i] - w / 100)));
    return `| ${r.label} | ${r.weights.map((w) => w.toFixed(0)).join(' / ')} | ${r.clientShare.map((x) => pct(x, 1)).join(' / ')} | ${r.requestShare.map((x) => pct(x, 1)).join(' / ')} | ${pct(errC)} / ${pct(errR)} | ${pct(r.moved)} | ${pct(r.minimum)} | ${r.movedBack} |`;
  });
  return [`**${title}**`, '', head, '| --- | --- | --- | --- | --- | ---: | ---: | ---: |', ...lines].join('\n');
}

/** A Knative gradual rollout (10 s, Knative's step algorithm) with a third revision arriving after the third step. */
function knativeSteps(): { label: string; weights: number[] }[] {
  const S = 1e9;
  const T0 = 1_700_000_000 * S;
  const want = (rev: string) => buildRollout([{ configurationName: 'c', revisionName: rev, percent: 100 }]);
  const shape = (r: Rollout) => {
    const by = new Map((r.configurations?.[0]?.revisions ?? []).map((x) => [x.revisionName, x.percent]));
    // Newest first, as the route controller lays sticky ranges out.
    return ['r3', 'r2', 'r1'].map((n) => by.get(n) ?? 0);
  };
  const out: { label: string; weights: number[] }[] = [{ label: 'r1 only', weights: [0, 0, 100] }];
  let ro = observeReady(stepRollout(want('r2'), want('r1'), T0).rollout, T0, 10);
  out.push({ label: 'r2 starts', weights: shape(ro) });
  for (let i = 0; i < 3; i++) {
    const now = nextStepTime(ro);
    ro = observeReady(stepRollout(want('r2'), ro, now).rollout, now, 10);
    out.push({ label: `step ${i + 1}`, weights: shape(ro) });
  }
  let now = nextStepTime(ro) - S / 2;
  ro = observeReady(stepRollout(want('r3'), ro, now).rollout, now, 10);
  out.push({ label: 'r3 arrives', weights: shape(ro) });
  let n = 1;
  while (!rolloutDone(ro)) {
    now = nextStepTime(ro);
    ro = observeReady(stepRollout(want('r3'), ro, now).rollout, now, 10);
    out.push({ label: `r3 step ${n++}`, weights: shape(ro) });
  }
  return out;
}

// ---- in-process resolution cost ----

function resolveCost(): string {
  const t = new RoutingTable<string>();
  const targets = [
    { revisionKey: 'ns/v3', percent: 30 },
    { revisionKey: 'ns/v2', percent: 30 },
    { revisionKey: 'ns/v1', percent: 40 },
  ];
  t.replace(
    [
      { host: 'plain', targets },
      { host: 'rules', targets, rules: [{ headers: { 'x-group': { exact: 'beta' } }, targets: [{ revisionKey: 'ns/v3', percent: 100 }] }] },
      { host: 'sticky-h', targets, sticky: { from: 'header', name: 'x-user' } },
      { host: 'sticky-c', targets, sticky: { from: 'set-cookie', name: 'sluice-sticky' } },
    ],
    (k) => k,
  );
  const base = { 'user-agent': 'wrk', accept: '*/*' };
  const cases: [string, () => unknown][] = [
    [
      'before this change: lookup + split.pick (the old code path)',
      (
        (h) => () =>
          t.lookup(h.host)!.split.pick()
      )({ ...base, host: 'plain' }),
    ],
    [
      'resolve(), plain split',
      (
        (h) => () =>
          t.resolve(h)
      )({ ...base, host: 'plain' }),
    ],
    [
      'resolve(), one header rule (not matching)',
      (
        (h) => () =>
          t.resolve(h)
      )({ ...base, host: 'rules', 'x-group': 'alpha' }),
    ],
    [
      'resolve(), one header rule (matching)',
      (
        (h) => () =>
          t.resolve(h)
      )({ ...base, host: 'rules', 'x-group': 'beta' }),
    ],
    [
      'resolve(), sticky by header key',
      (
        (h) => () =>
          t.resolve(h)
      )({ ...base, host: 'sticky-h', 'x-user': 'user-12345' }),
    ],
    [
      'resolve(), sticky by gateway cookie (known client)',
      (
        (h) => () =>
          t.resolve(h)
      )({ ...base, host: 'sticky-c', cookie: 'theme=dark; sluice-sticky=1a2b3c4d' }),
    ],
  ];
  const N = 1_000_000;
  const samples = cases.map(() => [] as number[]);
  let sink = 0;
  for (let round = 0; round < 11; round++) {
    cases.forEach(([, fn], i) => {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < N; k++) if (fn() !== undefined) sink++;
      samples[i].push(Number(process.hrtime.bigint() - t0) / N);
    });
  }
  if (sink === 0) throw new Error('resolution returned nothing');
  // The fastest round: other programs on the machine only ever add time.
  const best = (xs: number[]) => Math.min(...xs);
  const old = best(samples[0]);
  const rows = cases.map(([label], i) => `| ${label} | ${best(samples[i]).toFixed(1)} | ${(best(samples[i]) / old).toFixed(2)} |`);
  return ['| path | ns per request (fastest of 11 rounds of 1,000,000) | × old path |', '| --- | ---: | ---: |', ...rows].join('\n');
}

// ---- HTTP through the gateway process ----

async function httpRuns(ctx: BenchContext): Promise<{ table: string; plainRatio: number[] }> {
  const { procs, log } = ctx;
  ensureDebianTool('wrk', 'wrk', log);
  ctx.noteTool('wrk', debianVersion('wrk') ?? 'unknown');
  const appScript = path.join(ctx.root, 'dist', 'examples', 'rest-api', 'server.js');
  const gwScript = path.join(ctx.root, 'dist', 'bench', 'gateway-process.js');
  for (const f of [appScript, gwScript])
    if (!existsSync(f)) throw new Error(`${path.relative(ctx.root, f)} is missing: build first (npm run build)`);
  const revs = ['v1', 'v2', 'v3'];
  const ports: number[] = [];
  for (const r of revs) {
    const p = procs.start(`app ${r}`, process.execPath, [appScript], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RESOURCE: r, LOG_REQUESTS: '' },
    });
    ports.push(Number((await waitForOutput(p, /listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]));
  }
  const revisions: RevisionBackend[] = revs.map((r, i) => ({
    key: `bench/${r}`,
    endpoints: [{ id: `${r}-1`, host: '127.0.0.1', port: ports[i] }],
    containerConcurrency: 0,
    timeoutSeconds: 30,
  }));
  const targets = [
    { revisionKey: 'bench/v3', percent: 30 },
    { revisionKey: 'bench/v2', percent: 30 },
    { revisionKey: 'bench/v1', percent: 40 },
  ];
  const routes: HostRoute[] = [
    { host: 'plain.bench', targets },
    {
      host: 'rules.bench',
      targets,
      rules: [{ headers: { 'x-group': { exact: 'beta' } }, targets: [{ revisionKey: 'bench/v3', percent: 100 }] }],
    },
    { host: 'sticky.bench', targets, sticky: { from: 'header', name: 'x-user' } },
    { host: 'cookie.bench', targets, sticky: { from: 'set-cookie', name: 'sluice-sticky' } },
  ];
  const gwProc = procs.start('gateway', process.execPath, [gwScript, JSON.stringify({ routes, revisions })]);
  const gw = JSON.parse((await waitForOutput(gwProc, /^gateway-process (\{.*\})$/m))[1]) as { port: number };
  const url = `http://127.0.0.1:${gw.port}/`;
  const variants: { label: string; host: string; headers?: Record<string, string> }[] = [
    { label: 'plain 30/30/40 split', host: 'plain.bench' },
    { label: 'same split + one header rule (not matching)', host: 'rules.bench', headers: { 'x-group': 'alpha' } },
    { label: 'same split, sticky by header key', host: 'sticky.bench', headers: { 'x-user': 'user-12345' } },
    { label: 'same split, sticky by gateway cookie (known client)', host: 'cookie.bench', headers: { cookie: 'sluice-sticky=1a2b3c4d' } },
  ];
  const seconds = Number(process.env.SLUICE_BENCH_SECONDS ?? 5);
  const rounds = 3;
  const rps = variants.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, v] of variants.entries()) {
      log(`http round ${round + 1}/${rounds}: ${v.label}`);
      await runWrk(procs, { url, host: v.host, headers: v.headers, threads: 2, connections: 32, durationS: 1, scriptDir: ctx.tmpDir });
      const r = await runWrk(procs, {
        url,
        host: v.host,
        headers: v.headers,
        threads: 2,
        connections: 32,
        durationS: seconds,
        scriptDir: ctx.tmpDir,
      });
      if (r.errors > 0) throw new Error(`${v.label}: ${r.errors} errors`);
      rps[i].push(r.rps);
    }
  }
  const ratios = variants.map((_, i) => rps[i].map((x, round) => x / rps[0][round]));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = variants.map(
    (v, i) =>
      `| ${v.label} | ${rps[i].map((x) => Math.round(x).toLocaleString('en-US')).join(' / ')} | ${i === 0 ? '1.00' : median(ratios[i]).toFixed(2)} |`,
  );
  return {
    table: [
      `| host | req/s, rounds 1 / 2 / 3 (wrk -t2 -c32 -d${seconds}s each, after 1 s warm-up) | median ratio to plain in the same round |`,
      '| --- | ---: | ---: |',
      ...rows,
    ].join('\n'),
    plainRatio: ratios.map(median),
  };
}

export async function run(ctx: BenchContext): Promise<Section> {
  ctx.log('sticky mapping: 10,000 simulated clients');
  const cookie = makeClients('cookie');
  const header = makeClients('header');
  const canarySteps = [0, 5, 10, 20, 50, 100].map((w) => ({ label: `canary ${w}%`, weights: [w, 100 - w] }));
  const a = simulate(cookie, ['canary', 'stable'], canarySteps);
  const b = simulate(header, ['canary', 'stable'], canarySteps);
  const k = simulate(cookie, ['r3', 'r2', 'r1'], knativeSteps());
  const edit = simulate(
    cookie,
    ['C', 'B', 'A'],
    [
      { label: 'before', weights: [30, 30, 40] },
      { label: 'after', weights: [40, 30, 30] },
    ],
  );
  const maxErr = (rows: StepRow[], pick: (r: StepRow) => number[]) =>
    Math.max(...rows.flatMap((r) => r.weights.map((w, i) => Math.abs(pick(r)[i] - w / 100))));
  const excess = (rows: StepRow[]) => Math.max(...rows.slice(1).map((r) => r.moved - r.minimum));

  ctx.log('resolution cost in-process');
  const cost = resolveCost();
  ctx.log('HTTP through the gateway process');
  const http = await httpRuns(ctx);
  const body = [
    '### Sticky sessions keep the split',
    '',
    `${CLIENTS.toLocaleString('en-US')} simulated clients go through the gateway's own mapping (\`src/dataplane/sticky.ts\`: key → point on [0, 2³²) → weight range, ranges laid out newest revision first). "cookie" clients hold a random key as the gateway's \`sluice-sticky\` cookie would (seeded PRNG, so the run is reproducible); "header" clients are keyed by \`user-0\` … \`user-9999\` in a header, hashed. Each client sends an exponentially distributed number of requests per step (mean 10), so request shares are noisier than client shares. "clients moved" is the fraction of all clients whose revision changed from the previous step; "minimum" is the least any mapping could move (the total weight that changed hands); "moved back" counts clients returning to a revision they had left.`,
    '',
    stickyTable('Canary steps, gateway cookie', ['canary', 'stable'], a),
    '',
    stickyTable('Canary steps, key from a header', ['canary', 'stable'], b),
    '',
    stickyTable(
      "Knative gradual rollout (10 s, Knative's steps) with a third revision arriving mid-rollout, gateway cookie",
      ['r3', 'r2', 'r1'],
      k,
    ),
    '',
    stickyTable(
      'A three-way edit that is not a rollout (the newest grows, the oldest shrinks, the middle one keeps its weight)',
      ['C (newest)', 'B', 'A (oldest)'],
      edit,
    ),
    '',
    `Largest share error over all steps: clients ${pct(maxErr([...a, ...b, ...k], (r) => r.clientShare))}, requests ${pct(maxErr([...a, ...b, ...k], (r) => r.requestShare))}. Largest movement beyond the minimum in canary and Knative steps: ${pct(Math.max(excess(a), excess(b), excess(k)))}. The three-way edit moves ${pct(edit[1].moved)} of clients where ${pct(edit[1].minimum)} would do: the middle revision's range slides over to make room, which contiguous ranges cannot avoid; steps that move weight between neighbours in age (every canary and Knative step) are exactly minimal.`,
    '',
    '### What request-aware resolution costs',
    '',
    'In-process, one `RoutingTable` with the four kinds of route, each resolution called 1,000,000 times per round, 11 rounds interleaved, the fastest kept (other programs on the machine only add time); the first row is the sequence the gateway ran before the resolution seam existed.',
    '',
    cost,
    '',
    '### HTTP through the gateway',
    '',
    "One gateway process (`bench/gateway-process.ts`) with three example apps, four hosts over the same 30/30/40 split; wrk runs them in turn, three rounds, so each ratio compares runs seconds apart. Everything shares the machine's cores with whatever else runs, so only the ratios mean much, and only when the rounds agree: the in-process numbers above bound what routing itself adds (well under a microsecond of the gateway's ~175 µs of CPU per request).",
    '',
    http.table,
  ].join('\n');
  return { title: 'Progressive delivery: sticky share error and movement, resolution cost', body };
}

// Summarizes a V8 .cpuprofile (from --cpu-prof or the inspector's Profiler) into where the CPU went:
// by area (Node's HTTP code, streams, sockets, native code, GC, the caller's own code) and by
// function (self time, and inclusive time for the caller's own functions).

export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Percent of busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  byArea: Share[];
  topSelf: Share[];
  /** Inclusive time of functions whose url matches ownCode. */
  ownInclusive: Share[];
}

/** Node's stream_wrap natives that write to a socket synchronously (one write/writev syscall). */
const SOCKET_WRITES = new Set(['writev', 'writeBuffer', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString', 'writeUcs2String']);

export function areaOf(functionName: string, url: string, ownCode: RegExp): string {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8/Node native, not attributed to JS';
  if (ownCode.test(url)) return 'Sluice gateway code';
  if (url === '' && SOCKET_WRITES.has(functionName)) return 'socket writes (native; the syscall and the kernel TCP work under it)';
  if (url === '' && functionName === 'execute') return 'HTTP parsing (llhttp, native)';
  if (url === '') return 'other native functions called from JS';
  if (/^node:(_http_|http$|internal\/http)/.test(url)) return "Node's HTTP server/client (JS)";
  if (/^node:(internal\/streams|stream$|internal\/webstreams)/.test(url)) return 'Node streams (JS)';
  if (/^node:(net$|internal\/net|internal\/stream_base_commons|internal\/dns|dns$)/.test(url)) return 'Node sockets (JS)';
  if (/^node:(events$|internal\/event_target)/.test(url)) return 'event emitters';
  if (/^node:(timers$|internal\/timers)/.test(url)) return 'timers';
  if (url.startsWith('node:')) return 'other Node internals';
  return 'other JS';
}

function shortUrl(url: string, root: string): string {
  if (url.startsWith('file://')) url = url.slice(7);
  if (root && url.startsWith(root)) url = url.slice(root.length).replace(/^\/+/, '');
  return url;
}

export function summarizeProfile(p: CpuProfile, ownCode: RegExp, root = '', top = 12): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    if (dt <= 0) continue;
    totalUs += dt;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let idleUs = 0;
  const key = (n: CpuProfile['nodes'][number]): string => {
    const f = n.callFrame;
    const where = f.url ? ` (${shortUrl(f.url, root)}:${f.lineNumber + 1})` : '';
    return `${f.functionName || '(anonymous)'}${where}`;
  };
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const area = areaOf(n.callFrame.functionName, n.callFrame.url, ownCode);
    if (area === 'idle') {
      idleUs += us;
      continue;
    }
    areas.set(area, (areas.get(area) ?? 0) + us);
    const k = key(n);
    fns.set(k, (fns.get(k) ?? 0) + us);
  }
  // Inclusive time: a node's self time plus everything below it.
  const inclusive = new Map<number, number>();
  const incl = (id: number): number => {
    const cached = inclusive.get(id);
    if (cached !== undefined) return cached;
    const n = byId.get(id);
    let t = self.get(id) ?? 0;
    for (const c of n?.children ?? []) t += incl(c);
    inclusive.set(id, t);
    return t;
  };
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const own = new Map<string, number>();
  for (const n of p.nodes) {
    if (!ownCode.test(n.callFrame.url)) continue;
    const k = key(n);
    // Count a function once per call path: a recursive call is already inside its caller's time.
    let recursive = false;
    for (let a = parent.get(n.id); a !== undefined && !recursive; a = parent.get(a)) {
      const an = byId.get(a);
      if (an && key(an) === k) recursive = true;
    }
    if (!recursive) own.set(k, (own.get(k) ?? 0) + incl(n.id));
  }
  const busyUs = totalUs - idleUs;
  const share = (m: Map<string, number>, limit: number): Share[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: busyUs > 0 ? (100 * us) / busyUs : 0 }));
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    byArea: share(areas, Infinity),
    topSelf: share(fns, top),
    ownInclusive: share(own, 8),
  };
}

// The test node's HTTPS endpoint on <InternalIP>:10250, the part of the kubelet API that clients of a
// cluster use: /containerLogs/{namespace}/{pod}/{container} (kubectl logs, through the apiserver;
// tailLines, follow, previous) and /metrics/resource (what metrics-server scrapes: CPU seconds and
// working-set bytes per container, pod and node, from /proc). Any client certificate is accepted:
// the endpoint only exists inside the run's network namespace.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { sampleProcess } from '../../../../src/runtime/local/usage.js';
import type { NodeAgent } from './agent.js';

async function nodeUsage(): Promise<{ cpuSeconds: number; workingSetBytes: number }> {
  const [stat, mem] = await Promise.all([readFile('/proc/stat', 'utf8'), readFile('/proc/meminfo', 'utf8')]);
  const cpu = stat.split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait; USER_HZ is 100.
  const busy = cpu.reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0);
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(mem)?.[1] ?? 0) * 1024;
  return { cpuSeconds: busy / 100, workingSetBytes: kb('MemTotal') - kb('MemAvailable') };
}

/** Prometheus text in the kubelet's /metrics/resource shape. */
export async function resourceMetrics(agent: NodeAgent): Promise<string> {
  const ts = Date.now();
  const out: string[] = [];
  const metric = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const containers: { ns: string; pod: string; container: string; cpu: number; mem: number; start: number }[] = [];
  for (const w of agent.pods.values()) {
    for (const r of w.runners) {
      const st = r.record.state;
      if (st.kind !== 'running' || !r.pid) continue;
      const u = await sampleProcess(r.pid);
      if (!u) continue;
      const [ns, pod] = w.key.split('/');
      containers.push({ ns, pod, container: r.spec.name, cpu: u.cpuSeconds, mem: u.rssBytes, start: Date.parse(st.startedAt) / 1000 });
    }
  }
  const node = await nodeUsage();
  const labels = (c: { ns: string; pod: string; container?: string }) =>
    `{${c.container !== undefined ? `container="${c.container}",` : ''}namespace="${c.ns}",pod="${c.pod}"}`;
  metric('container_cpu_usage_seconds_total', 'counter', '[STABLE] Cumulative cpu time consumed by the container in core-seconds');
  for (const c of containers) out.push(`container_cpu_usage_seconds_total${labels(c)} ${c.cpu} ${ts}`);
  metric('container_memory_working_set_bytes', 'gauge', '[STABLE] Current working set of the container in bytes');
  for (const c of containers) out.push(`container_memory_working_set_bytes${labels(c)} ${c.mem} ${ts}`);
  metric('container_start_time_seconds', 'gauge', '[STABLE] Start time of the container since unix epoch in seconds');
  for (const c of containers) out.push(`container_start_time_seconds${labels(c)} ${c.start} ${ts}`);
  const pods = new Map<string, { ns: string; pod: string; cpu: number; mem: number }>();
  for (const c of containers) {
    const p = pods.get(`${c.ns}/${c.pod}`) ?? { ns: c.ns, pod: c.pod, cpu: 0, mem: 0 };
    p.cpu += c.cpu;
    p.mem += c.mem;
    pods.set(`${c.ns}/${c.pod}`, p);
  }
  metric('pod_cpu_usage_seconds_total', 'counter', '[STABLE] Cumulative cpu time consumed by the pod in core-seconds');
  for (const p of pods.values()) out.push(`pod_cpu_usage_seconds_total${labels(p)} ${p.cpu} ${ts}`);
  metric('pod_memory_working_set_bytes', 'gauge', '[STABLE] Current working set of the pod in bytes');
  for (const p of pods.values()) out.push(`pod_memory_working_set_bytes${labels(p)} ${p.mem} ${ts}`);
  metric('node_cpu_usage_seconds_total', 'counter', '[STABLE] Cumulative cpu time consumed by the node in core-seconds');
  out.push(`node_cpu_usage_seconds_total ${node.cpuSeconds} ${ts}`);
  metric('node_memory_working_set_bytes', 'gauge', '[STABLE] Current working set of the node in bytes');
  out.push(`node_memory_working_set_bytes ${node.workingSetBytes} ${ts}`);
  metric('resource_scrape_error', 'gauge', '[STABLE] 1 if there was an error while getting container metrics, 0 otherwise');
  out.push('resource_scrape_error 0');
  return `${out.join('\n')}\n`;
}

export function startKubeletServer(
  agent: NodeAgent,
  o: { host: string; port: number; cert: string; key: string; ca: string },
): Promise<https.Server> {
  const server = https.createServer(
    { cert: readFileSync(o.cert), key: readFileSync(o.key), ca: readFileSync(o.ca), requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://node');
      const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      if (url.pathname === '/healthz') return send(200, 'ok');
      if (url.pathname === '/metrics/resource') {
        resourceMetrics(agent).then(
          (text) => send(200, text, 'text/plain; version=0.0.4'),
          (err: Error) => send(500, err.message),
        );
        return;
      }
      const logs = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (logs) {
        const [, ns, podName, containerName] = logs.map(decodeURIComponent);
        const pod = agent.find(ns, podName);
        const runner = pod?.container(containerName);
        if (!runner) return send(404, `container "${containerName}" in pod "${podName}" is not on this node`);
        const tail = url.searchParams.has('tailLines') ? Number(url.searchParams.get('tailLines')) : undefined;
        const previous = url.searchParams.get('previous') === 'true';
        if (previous && runner.record.restartCount === 0) {
          return send(400, `previous terminated container "${containerName}" in pod "${podName}" not found`);
        }
        const file = runner.logFile(previous ? runner.record.restartCount - 1 : undefined);
        let lines: string[] = [];
        try {
          lines = readFileSync(file, 'utf8').split('\n');
          if (lines[lines.length - 1] === '') lines.pop();
        } catch {
          // no output yet
        }
        if (tail !== undefined) lines = tail <= 0 ? [] : lines.slice(-tail);
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        for (const l of lines) res.write(`${l}\n`);
        const live = runner.currentLog();
        if (url.searchParams.get('follow') === 'true' && !previous && live) {
          const unfollow = live.follow((l) => res.write(`${l}\n`));
          req.on('close', unfollow);
          return;
        }
        res.end();
        return;
      }
      send(404, 'not found');
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      void (server.address() as AddressInfo);
      resolve(server);
    });
  });
}

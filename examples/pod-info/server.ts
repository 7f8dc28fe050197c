// A tiny app for revisions with sidecars, ConfigMaps, Secrets and volumes (no dependencies).
// As the serving container (the default) it listens on PORT and answers GET / with JSON:
//   env      the variables named in SHOW_ENV (comma-separated)
//   files    the contents of the files named in SHOW_FILES (comma-separated paths; "" if missing)
//   sidecar  the body of SIDECAR_URL (fetched per request, before the files are read), when set
// With ROLE=sidecar it listens on SIDECAR_PORT (default 9000) and answers with a line naming
// itself, whether it got a PORT, and K_REVISION; with WRITE_FILE set it writes that file at start
// (e.g. into an emptyDir the serving container reads).

import fs from 'node:fs';
import http from 'node:http';

const host = process.env.HOST || '127.0.0.1';
const names = (v: string | undefined) => (v ?? '').split(',').filter((s) => s !== '');

function listen(server: http.Server, port: number): void {
  server.listen(port, host);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.env.ROLE === 'sidecar') {
  if (process.env.WRITE_FILE) fs.writeFileSync(process.env.WRITE_FILE, `written by the sidecar of ${process.env.K_REVISION}\n`);
  const port = Number(process.env.SIDECAR_PORT || 9000);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`sidecar of ${process.env.K_REVISION} (PORT ${process.env.PORT === undefined ? 'unset' : process.env.PORT})`);
  });
  listen(server, port);
  process.stdout.write(`sidecar listening on ${host}:${port}\n`);
} else {
  const server = http.createServer((_req, res) => {
    void (async () => {
      let sidecar: string | undefined;
      if (process.env.SIDECAR_URL) {
        try {
          sidecar = await (await fetch(process.env.SIDECAR_URL)).text();
        } catch (err) {
          sidecar = `unreachable: ${(err as Error).message}`;
        }
      }
      const env: Record<string, string | null> = {};
      for (const n of names(process.env.SHOW_ENV)) env[n] = process.env[n] ?? null;
      const files: Record<string, string> = {};
      for (const f of names(process.env.SHOW_FILES)) {
        try {
          files[f] = fs.readFileSync(f, 'utf8');
        } catch {
          files[f] = '';
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ env, files, ...(sidecar !== undefined ? { sidecar } : {}) }));
    })();
  });
  listen(server, Number(process.env.PORT || 8080));
  process.stdout.write(`pod-info listening on ${host}:${process.env.PORT}\n`);
}

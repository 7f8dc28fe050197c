// Per-instance log files: dataDir/logs/{namespace}/{revision}/{instanceId}.log, raw lines as the
// app printed them (stdout and stderr interleaved line by line). When a file reaches the size cap
// it is rotated to "{file}.1" (replacing the previous one), so each instance keeps at most twice
// the cap on disk.
//
// Writes are synchronous on purpose: a reader can then take "the file so far" and subscribe to
// "lines from now on" in the same tick, with nothing lost or duplicated in between. (Node writes
// its own stdout to files synchronously for the same reason; the writes go to the page cache.)

import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export const DEFAULT_LOG_MAX_BYTES = 5 * 1024 * 1024;
/** A line longer than this is written out in pieces rather than buffered without bound. */
const MAX_PARTIAL = 64 * 1024;
const RECENT_LINES = 20;

function safeSegment(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._-]/g, '_');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}

/** The serving container's log is {instanceId}.log; a sidecar's {instanceId}.{container}.log. */
export function instanceLogPath(root: string, namespace: string, revision: string, instanceId: string, sidecar?: string): string {
  const file = sidecar ? `${safeSegment(instanceId)}.${safeSegment(sidecar)}.log` : `${safeSegment(instanceId)}.log`;
  return path.join(root, safeSegment(namespace), safeSegment(revision), file);
}

/** Reads the last `n` lines of a file without reading the whole file. */
function readLastLines(file: string, n: number): string[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const chunks: Buffer[] = [];
    let pos = size;
    let newlines = 0;
    // n lines need n+1 newlines (the file normally ends with one) to know where the first begins.
    while (pos > 0 && newlines <= n) {
      const len = Math.min(64 * 1024, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, pos);
      chunks.unshift(buf);
      for (const b of buf) if (b === 10) newlines++;
    }
    return splitLines(Buffer.concat(chunks).toString('utf8')).slice(-n);
  } finally {
    fs.closeSync(fd);
  }
}

function readAllLines(file: string): string[] {
  try {
    return splitLines(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export class InstanceLog {
  private fd: number | undefined;
  private size = 0;
  private readonly partial = { stdout: '', stderr: '' };
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private readonly recent: string[] = [];
  private readonly followers = new Set<(line: string) => void>();
  writeError?: string;

  constructor(
    readonly id: string,
    readonly file: string,
    private readonly maxBytes: number,
    /** The container whose output this is. */
    readonly container = '',
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.open();
  }

  private open(): void {
    try {
      this.fd = fs.openSync(this.file, 'a');
      this.size = fs.fstatSync(this.fd).size;
    } catch (err) {
      this.fd = undefined;
      this.writeError = `cannot write log file ${this.file}: ${(err as Error).message}`;
    }
  }

  /** Feeds raw output from the child; complete lines are stored and sent to followers. */
  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    let text = this.partial[stream] + this.decoders[stream].write(chunk);
    const lines: string[] = [];
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      lines.push(text.slice(0, nl));
      text = text.slice(nl + 1);
    }
    while (text.length > MAX_PARTIAL) {
      lines.push(text.slice(0, MAX_PARTIAL));
      text = text.slice(MAX_PARTIAL);
    }
    this.partial[stream] = text;
    if (lines.length) this.append(lines);
  }

  /** Writes out unterminated output (the child has exited). */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.partial[stream] + this.decoders[stream].end();
      this.partial[stream] = '';
      if (rest) this.append([rest]);
    }
  }

  /** Lines written by Sluice itself (e.g. why it restarted the instance) go through the same path. */
  note(line: string): void {
    this.append([line]);
  }

  private append(lines: string[]): void {
    const data = Buffer.from(lines.join('\n') + '\n', 'utf8');
    if (this.fd !== undefined) {
      try {
        if (this.size > 0 && this.size + data.length > this.maxBytes) this.rotate();
        if (this.fd !== undefined) {
          fs.writeSync(this.fd, data);
          this.size += data.length;
        }
      } catch (err) {
        this.writeError = `cannot write log file ${this.file}: ${(err as Error).message}`;
      }
    }
    for (const l of lines) {
      this.recent.push(l);
      if (this.recent.length > RECENT_LINES) this.recent.shift();
    }
    for (const f of this.followers) for (const l of lines) f(l);
  }

  private rotate(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    fs.renameSync(this.file, `${this.file}.1`);
    this.open();
  }

  /** The last few lines, from memory (cheap; used in failure messages). */
  lastLines(n: number): string[] {
    return this.recent.slice(-n);
  }

  /** Lines on disk (rotated file first), the last `tail` of them when given. */
  read(tail?: number): string[] {
    if (tail !== undefined) {
      if (tail <= 0) return [];
      const current = readLastLines(this.file, tail);
      if (current.length >= tail) return current;
      return [...readLastLines(`${this.file}.1`, tail - current.length), ...current];
    }
    return [...readAllLines(`${this.file}.1`), ...readAllLines(this.file)];
  }

  follow(fn: (line: string) => void): () => void {
    this.followers.add(fn);
    return () => this.followers.delete(fn);
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
  }

  /** Closes and deletes the files (the workload was removed). */
  remove(): void {
    this.close();
    this.followers.clear();
    for (const f of [this.file, `${this.file}.1`]) fs.rmSync(f, { force: true });
  }
}

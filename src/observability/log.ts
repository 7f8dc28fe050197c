// Structured logs: a message plus fields, written to stderr as one JSON object per line
// (--log-format json, for log shippers) or as `level component: message key=value ...` (text, the
// default, for people). Components log fields, not pre-formatted strings, so both formats carry
// the same information.

export type LogFormat = 'json' | 'text';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function parseLogFormat(v: string | undefined): LogFormat {
  if (v === undefined || v === 'text') return 'text';
  if (v === 'json') return 'json';
  throw new TypeError(`invalid log format "${v}": expected json or text`);
}

export function parseLogLevel(v: string | undefined): LogLevel {
  if (v === undefined) return 'info';
  if (v in LEVELS) return v as LogLevel;
  throw new TypeError(`invalid log level "${v}": expected debug, info, warn or error`);
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether a level is written (skip building costly fields when not). */
  enabled(level: LogLevel): boolean;
  /** A logger whose lines carry `component` (and any other fixed fields). */
  with(fields: LogFields): Logger;
}

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** Where lines go (default stderr). */
  write?: (line: string) => void;
  /** Epoch ms (tests inject it). */
  now?: () => number;
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** One line in the given format (pure, for tests). */
export function formatLine(format: LogFormat, time: number, level: LogLevel, msg: string, fields: LogFields): string {
  if (format === 'json') {
    const out: LogFields = { time: new Date(time).toISOString(), level, msg };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v instanceof Error ? v.message : v;
    return JSON.stringify(out);
  }
  const { component, ...rest } = fields;
  let line = `${level === 'info' ? '' : `${level} `}${component ? `${String(component)}: ` : ''}${msg}`;
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) line += ` ${k}=${textValue(v)}`;
  return `sluice: ${line}`;
}

export function createLogger(o: LoggerOptions = {}, base: LogFields = {}): Logger {
  const format = o.format ?? 'text';
  const min = LEVELS[o.level ?? 'info'];
  const write = o.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = o.now ?? Date.now;
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[level] < min) return;
    write(formatLine(format, now(), level, msg, fields ? { ...base, ...fields } : base));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    enabled: (level) => LEVELS[level] >= min,
    with: (fields) => createLogger(o, { ...base, ...fields }),
  };
}

/** A logger that writes nothing (quiet servers, tests). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  enabled: () => false,
  with: () => silentLogger,
};

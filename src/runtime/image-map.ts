// Image-to-command mapping: lets Knative YAML that names an `image` run unchanged as a local
// process. A mapping plays the role of the image's ENTRYPOINT (`command`) and CMD (`args`), so a
// container's own `command`/`args` combine with it exactly as Kubernetes combines them with an
// image:
//   command and args set  -> command + args (the image is not consulted)
//   only command set      -> command (the image's CMD is dropped too)
//   only args set         -> mapping.command + args (args replace the mapping's args)
//   neither               -> mapping.command + mapping.args

import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Container } from '../api/types.js';

export interface ImageMapping {
  /** An exact image reference, or a prefix ending in '*' (e.g. "example.com/app:*"). */
  image: string;
  command: string[];
  args?: string[];
  workingDir?: string;
  env?: Record<string, string>;
}

export interface ResolvedCommand {
  /** argv: the program, then its arguments. */
  command: string[];
  workingDir?: string;
  /** Env contributed by the mapping; the container's own env is layered on top by the runtime. */
  env: Record<string, string>;
}

export type ResolveErrorReason = 'ImageNotMapped' | 'NoCommand' | 'InvalidCommand';

export interface ResolveError {
  error: { reason: ResolveErrorReason; message: string };
}

export const REST_API_IMAGE = 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1';

/** The gRPC example (examples/grpc-ping); `dev.local` is a registry Knative never resolves tags for. */
export const GRPC_PING_IMAGE = 'dev.local/grpc-ping:v1';

/** The built-in mappings: the walkthrough's rest-api image and the gRPC example run the Node apps in examples/. */
export function defaultImageMappings(projectRoot: string): ImageMapping[] {
  const restApi = [process.execPath, path.join(projectRoot, 'dist', 'examples', 'rest-api', 'server.js')];
  const grpcPing = [process.execPath, path.join(projectRoot, 'dist', 'examples', 'grpc-ping', 'server.js')];
  return [
    { image: REST_API_IMAGE, command: restApi },
    { image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:*', command: restApi },
    { image: 'dev.local/grpc-ping:*', command: grpcPing },
  ];
}

/** Exact matches win over patterns; among patterns the longest prefix wins. */
export function findImageMapping(image: string, mappings: readonly ImageMapping[]): ImageMapping | undefined {
  const exact = mappings.find((m) => m.image === image);
  if (exact) return exact;
  let best: ImageMapping | undefined;
  for (const m of mappings) {
    if (!m.image.endsWith('*')) continue;
    const prefix = m.image.slice(0, -1);
    if (image.startsWith(prefix) && (!best || prefix.length > best.image.length - 1)) best = m;
  }
  return best;
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

export function resolveCommand(container: Container, mappings: readonly ImageMapping[]): ResolvedCommand | ResolveError {
  const { command, args } = container;
  if (command !== undefined && !isStringList(command)) {
    return { error: { reason: 'InvalidCommand', message: 'container command must be a list of strings' } };
  }
  if (args !== undefined && !isStringList(args)) {
    return { error: { reason: 'InvalidCommand', message: 'container args must be a list of strings' } };
  }
  if (command && command.length > 0) {
    return { command: [...command, ...(args ?? [])], workingDir: container.workingDir, env: {} };
  }
  const image = typeof container.image === 'string' ? container.image.trim() : '';
  if (!image) {
    return {
      error: {
        reason: 'NoCommand',
        message: 'the container has neither an image nor a command; set `command` to the program to run',
      },
    };
  }
  const mapping = findImageMapping(image, mappings);
  if (!mapping) {
    return {
      error: {
        reason: 'ImageNotMapped',
        message:
          `image "${image}" is not mapped to a local command. Sluice runs containers as local processes: ` +
          `either give the container a \`command\` (and \`args\`), or add the image to an image mappings file ` +
          `(images: [{image: "${image}", command: ["/path/to/program"], args: []}]) and point Sluice at it`,
      },
    };
  }
  return {
    // Kubernetes semantics: the container's args replace the image's default args.
    command: [...mapping.command, ...(args && args.length > 0 ? args : (mapping.args ?? []))],
    workingDir: container.workingDir ?? mapping.workingDir,
    env: { ...(mapping.env ?? {}) },
  };
}

export function isResolveError(r: ResolvedCommand | ResolveError): r is ResolveError {
  return 'error' in r;
}

/**
 * Parses a mappings document: `images: [{image, command, args?, workingDir?, env?}]` (a bare list
 * is accepted too). A relative workingDir is resolved against `baseDir`, which also becomes the
 * default workingDir, so `command: [node, app.js]` next to the mappings file just works.
 */
export function parseImageMappings(doc: unknown, source: string, baseDir: string): ImageMapping[] {
  const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' ? (doc as { images?: unknown }).images : undefined;
  if (!Array.isArray(list)) {
    throw new Error(
      `${source}: expected a top-level "images" list, e.g. images: [{image: "example.com/app:v1", command: ["node", "app.js"]}]`,
    );
  }
  return list.map((entry, i): ImageMapping => {
    const at = `${source}: images[${i}]`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${at} must be an object with image and command`);
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!['image', 'command', 'args', 'workingDir', 'env'].includes(k)) {
        throw new Error(`${at}: unknown field "${k}" (allowed: image, command, args, workingDir, env)`);
      }
    }
    if (typeof e.image !== 'string' || e.image.trim() === '') throw new Error(`${at}.image must be a non-empty string`);
    const image = e.image.trim();
    if (image.indexOf('*') !== -1 && image.indexOf('*') !== image.length - 1) {
      throw new Error(`${at}.image: "*" is only allowed at the end (a prefix pattern), got "${image}"`);
    }
    if (!isStringList(e.command) || e.command.length === 0 || e.command[0] === '') {
      throw new Error(`${at}.command must be a non-empty list of strings (the program, then its arguments)`);
    }
    if (e.args !== undefined && !isStringList(e.args)) throw new Error(`${at}.args must be a list of strings`);
    if (e.workingDir !== undefined && (typeof e.workingDir !== 'string' || e.workingDir === '')) {
      throw new Error(`${at}.workingDir must be a non-empty string`);
    }
    let env: Record<string, string> | undefined;
    if (e.env !== undefined) {
      if (!e.env || typeof e.env !== 'object' || Array.isArray(e.env)) throw new Error(`${at}.env must be a map of names to string values`);
      env = {};
      for (const [k, v] of Object.entries(e.env as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new Error(`${at}.env.${k} must be a string (quote numbers and booleans)`);
        env[k] = v;
      }
    }
    return {
      image,
      command: [...e.command],
      ...(e.args ? { args: [...(e.args as string[])] } : {}),
      workingDir: path.resolve(baseDir, (e.workingDir as string | undefined) ?? '.'),
      ...(env ? { env } : {}),
    };
  });
}

/** Loads a user mappings file (JSON or YAML). Throws an Error whose message names the file and the problem. */
export function loadImageMappings(file: string): ImageMapping[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read image mappings file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = file.toLowerCase().endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new Error(
      `image mappings file ${file} is not valid ${file.toLowerCase().endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  return parseImageMappings(doc, file, path.dirname(path.resolve(file)));
}

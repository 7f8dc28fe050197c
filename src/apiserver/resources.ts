// The REST verbs on resource paths: get, list (+ watch), create, update, patch, delete,
// deletecollection, and the status subresource, all backed by the Store.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, notFound } from '../api/errors.js';
import { apiVersionOf, KINDS, resourceKey, type ResourceKind } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import type { Store } from '../store/store.js';
import { checkDepth, decodeBody, isPlainObject, mediaType, readBody } from './body.js';
import { serveRevisionLog, type LogsHook } from './logs.js';
import { negotiate } from './negotiate.js';
import {
  checkObjectRules,
  decodeObject,
  invalidObject,
  parseFieldValidation,
  qualifiedKind,
  runAdmission,
  toVersion,
  unknownFieldsOf,
  type AdmitFn,
  type ConvertFn,
  type WarnFn,
} from './objects.js';
import { afterUpdate, checkUpdate, deleteWithPolicy, type GcContext, type PropagationPolicy } from './finalizers.js';
import { managerFor, parseForce, serverSideApply, trackUpdate, type ManagerOptions } from './apply/managed-fields.js';
import { applyPatch, patchKindOf, type PatchKind } from './patch.js';
import type { ResourcePath } from './paths.js';
import { type Matcher, selectorMatcher } from './selectors.js';
import { methodNotAllowed, pathNotFound, sendJson, successStatus } from './status.js';
import { strategicMergePatch } from './strategic.js';
import { toTable, wantsIncludeObject } from './table.js';
import { serveWatch } from './watch.js';

export interface ResourceContext {
  store: Store;
  admit: AdmitFn;
  warn: WarnFn;
  convert: ConvertFn;
  maxBodyBytes: number;
  /** Deleting an object also deletes the objects it owns (Kubernetes' garbage collector). */
  garbageCollect: boolean;
  trackWatch: (stop: () => void) => () => void;
  logs?: LogsHook;
}

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  path: ResourcePath;
  query: URLSearchParams;
  ctx: ResourceContext;
}

/** Namespaces Kubernetes refuses to delete. */
const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const PATCH_RETRIES = 5;

const isTrue = (v: string | null) => v !== null && v !== 'false' && v !== '0';
const isDryRun = (q: URLSearchParams) => q.getAll('dryRun').includes('All');

/** Adds Warning headers (RFC 7234 code 299, as kube-apiserver sends them); a warning already sent is not repeated. */
function setWarnings(res: ServerResponse, warnings: string[]): void {
  if (!warnings.length) return;
  const have = res.getHeader('Warning');
  const sent = have === undefined ? [] : Array.isArray(have) ? have : [String(have)];
  // Header values must be printable ASCII; field names come from the request body.
  const add = warnings.map((w) => `299 - "${w.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, (c) => `\\${c}`)}"`);
  res.setHeader('Warning', [...new Set([...sent, ...add])]);
}

/** Admission of a create or update, with its warnings on the response. */
async function admitWithWarnings(c: Call, obj: KObject, old: KObject | undefined): Promise<KObject> {
  const admitted = await runAdmission(c.ctx.admit, c.path.kind, obj, old);
  setWarnings(c.res, c.ctx.warn(c.path.kind, admitted));
  return admitted;
}

export async function handleResource(c: Call): Promise<void> {
  const { req, path } = c;
  const m = req.method ?? 'GET';
  // Refuse an unacceptable Accept header before anything is written (the log is plain text).
  if (path.subresource !== 'log') negotiate(req.headers.accept, { table: true });
  if (path.subresource) {
    if (path.subresource === 'status' && path.kind.hasStatus) {
      if (m === 'GET') return getOne(c);
      if (m === 'PUT') return update(c, true);
      if (m === 'PATCH') return patch(c, true);
      throw methodNotAllowed(m);
    }
    if (path.subresource === 'log' && path.kind.kind === 'Revision' && path.namespace !== undefined) {
      if (m !== 'GET') throw methodNotAllowed(m);
      return serveRevisionLog(req, c.res, c.query, c.ctx.store, c.ctx.logs, path.namespace, path.name!, c.ctx.trackWatch);
    }
    throw pathNotFound(req.url ?? '');
  }
  if (path.watchPrefix) {
    if (m !== 'GET') throw methodNotAllowed(m);
    return path.name ? watch(c, path.name) : watch(c);
  }
  if (path.name === undefined) {
    if (m === 'GET') return isTrue(c.query.get('watch')) ? watch(c) : list(c);
    if (m === 'POST') return create(c);
    if (m === 'DELETE') return deleteCollection(c);
    throw methodNotAllowed(m);
  }
  if (m === 'GET') return isTrue(c.query.get('watch')) ? watch(c, path.name) : getOne(c);
  if (m === 'PUT') return update(c, false);
  if (m === 'PATCH') return patch(c, false);
  if (m === 'DELETE') return deleteOne(c);
  throw methodNotAllowed(m);
}

// ---- helpers ----

const key = (c: Call) => resourceKey(c.path.kind);
const scopeNs = (c: Call) => (c.path.kind.namespaced ? c.path.namespace : undefined);
const notFoundFor = (k: ResourceKind, name: string) => notFound(k.plural, name, k.group);

function out(c: Call, obj: KObject): KObject {
  return toVersion(c.ctx.convert, c.path.kind, obj, c.path.version);
}

function toStorage(c: Call, obj: KObject): KObject {
  const view = c.path.kind.storedAs;
  if (view) return c.ctx.convert(obj, view.apiVersion);
  return toVersion(c.ctx.convert, c.path.kind, obj, c.path.kind.storageVersion);
}

/** Sends one object, or a one-row Table when kubectl asks for server-side printing. */
function respondObject(c: Call, code: number, obj: KObject): void {
  const view = out(c, obj);
  if (negotiate(c.req.headers.accept, { table: c.req.method === 'GET' }) === 'table') {
    sendJson(c.res, code, toTable(c.path.kind, [view], { includeObject: wantsIncludeObject(c.query.get('includeObject')) }));
  } else {
    sendJson(c.res, code, view);
  }
}

async function readObjectBody(c: Call): Promise<unknown> {
  return decodeBody(await readBody(c.req, c.ctx.maxBodyBytes), c.req.headers['content-type'], c.path.kind.kind);
}

async function load(c: Call, name: string): Promise<KObject> {
  const obj = await c.ctx.store.get(key(c), scopeNs(c), name);
  if (!obj) throw notFoundFor(c.path.kind, name);
  return obj;
}

/** Namespace in the body must agree with the URL; cluster-scoped objects carry none. */
function placeInScope(c: Call, obj: KObject): void {
  const meta = obj.metadata;
  if (c.path.kind.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== c.path.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = c.path.namespace;
  } else {
    delete meta.namespace;
  }
}

async function requireNamespace(c: Call): Promise<void> {
  if (!c.path.kind.namespaced || c.path.namespace === undefined) return;
  const ns = await c.ctx.store.get('namespaces', undefined, c.path.namespace);
  if (!ns) throw notFound('namespaces', c.path.namespace);
  if (ns.metadata.deletionTimestamp) {
    throw new ApiError(403, 'Forbidden', `unable to create new content in namespace ${c.path.namespace} because it is being terminated`);
  }
}

// ---- read ----

async function getOne(c: Call): Promise<void> {
  respondObject(c, 200, await load(c, c.path.name!));
}

interface ContinueToken {
  ns: string;
  name: string;
}

function decodeContinue(token: string | null): ContinueToken | undefined {
  if (!token) return undefined;
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof t?.ns === 'string' && typeof t?.name === 'string') return t;
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: it must be a token returned by a previous list');
}

function parseLimit(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid limit "${v}": must be a non-negative integer`);
  return n === 0 ? undefined : n;
}

/** Rows per store read while a selective paged list looks for enough matches. */
const PAGE_SCAN = 500;

const sortKey = (o: KObject) => `${o.metadata.namespace ?? ''}\u0000${o.metadata.name ?? ''}`;
const tokenFor = (o: KObject) =>
  Buffer.from(JSON.stringify({ ns: o.metadata.namespace ?? '', name: o.metadata.name })).toString('base64url');

interface ListedPage {
  resourceVersion: string;
  items: KObject[];
  continueToken?: string;
  /** Objects after this page (unknown with selectors on a paged store read). */
  remaining?: number;
}

/** Every match of a whole list, sorted, after the continue point (the store returned all objects). */
function pageOfAll(
  all: KObject[],
  matcher: Matcher,
  after: ContinueToken | undefined,
  limit: number | undefined,
): Omit<ListedPage, 'resourceVersion'> {
  let items = all.filter(matcher).sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  if (after) {
    const from = `${after.ns}\u0000${after.name}`;
    items = items.filter((o) => sortKey(o) > from);
  }
  if (limit === undefined || items.length <= limit) return { items };
  return { items: items.slice(0, limit), continueToken: tokenFor(items[limit - 1]), remaining: items.length - limit };
}

/**
 * A list page read from the store page by page, so a paged list costs its page, not the whole
 * resource. With selectors the remaining count is unknown and left out, as Kubernetes does.
 */
async function readListPage(
  c: Call,
  matcher: Matcher,
  selective: boolean,
  after: ContinueToken | undefined,
  limit: number | undefined,
): Promise<ListedPage> {
  const ns = scopeNs(c);
  if (limit === undefined) {
    const listed = await c.ctx.store.list(key(c), ns);
    return { resourceVersion: listed.resourceVersion, ...pageOfAll(listed.items, matcher, after, undefined) };
  }
  const items: KObject[] = [];
  let cursor = after ? { namespace: after.ns, name: after.name } : undefined;
  let resourceVersion: string | undefined;
  for (;;) {
    const listed = await c.ctx.store.list(key(c), ns, { after: cursor, limit: selective ? Math.max(PAGE_SCAN, limit + 1) : limit });
    resourceVersion ??= listed.resourceVersion;
    // A store that ignores pages returned everything: page it here.
    if (listed.remaining === undefined) return { resourceVersion, ...pageOfAll(listed.items, matcher, after, limit) };
    for (const o of listed.items) if (matcher(o)) items.push(o);
    const last = listed.items[listed.items.length - 1];
    if (items.length > limit) return { resourceVersion, items: items.slice(0, limit), continueToken: tokenFor(items[limit - 1]) };
    if (listed.remaining === 0 || !last) return { resourceVersion, items };
    if (!selective) return { resourceVersion, items, continueToken: tokenFor(last), remaining: listed.remaining };
    cursor = { namespace: last.metadata.namespace ?? '', name: last.metadata.name ?? '' };
  }
}

async function list(c: Call): Promise<void> {
  const labelSelector = c.query.get('labelSelector');
  const fieldSelector = c.query.get('fieldSelector');
  const matcher = selectorMatcher(labelSelector, fieldSelector, c.path.kind.fieldLabels);
  const limit = parseLimit(c.query.get('limit'));
  const after = decodeContinue(c.query.get('continue'));
  const listed = await readListPage(c, matcher, !!labelSelector || !!fieldSelector, after, limit);
  const { items, continueToken, remaining } = listed;
  const views = items.map((o) => out(c, o));
  if (negotiate(c.req.headers.accept, { table: true }) === 'table') {
    sendJson(
      c.res,
      200,
      toTable(c.path.kind, views, {
        includeObject: wantsIncludeObject(c.query.get('includeObject')),
        resourceVersion: listed.resourceVersion,
        continueToken,
      }),
    );
    return;
  }
  const metadata: Record<string, unknown> = { resourceVersion: listed.resourceVersion };
  if (continueToken) {
    metadata.continue = continueToken;
    metadata.remainingItemCount = remaining;
  }
  sendJson(c.res, 200, {
    apiVersion: apiVersionOf(c.path.kind, c.path.version),
    kind: c.path.kind.listKind,
    metadata,
    items: views,
  });
}

async function watch(c: Call, name?: string): Promise<void> {
  let fieldSelector = c.query.get('fieldSelector');
  if (name !== undefined) fieldSelector = fieldSelector ? `${fieldSelector},metadata.name=${name}` : `metadata.name=${name}`;
  const matcher = selectorMatcher(c.query.get('labelSelector'), fieldSelector, c.path.kind.fieldLabels);
  const table = negotiate(c.req.headers.accept, { table: true }) === 'table';
  const includeObject = wantsIncludeObject(c.query.get('includeObject'));
  const timeout = c.query.get('timeoutSeconds');
  // 0 or absent: the server's default (as in Kubernetes).
  const timeoutSeconds = timeout !== null && timeout !== '' && timeout !== '0' ? Number(timeout) : undefined;
  if (timeoutSeconds !== undefined && (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0)) {
    throw badRequest(`invalid timeoutSeconds "${timeout}"`);
  }
  await serveWatch(c.req, c.res, {
    store: c.ctx.store,
    kind: c.path.kind,
    namespace: scopeNs(c),
    matcher,
    resourceVersion: c.query.get('resourceVersion') ?? undefined,
    timeoutSeconds,
    render: (obj, first) => {
      const view = out(c, obj);
      return table ? toTable(c.path.kind, [view], { includeObject, noHeaders: !first }) : view;
    },
    track: c.ctx.trackWatch,
    bookmarks: isTrue(c.query.get('allowWatchBookmarks'))
      ? { apiVersion: apiVersionOf(c.path.kind, c.path.version), kind: c.path.kind.kind }
      : undefined,
    initialEventsEnd: isTrue(c.query.get('sendInitialEvents')),
  });
}

// ---- write ----

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
function generatedName(prefix: string): string {
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += GENERATE_ALPHABET[b % GENERATE_ALPHABET.length];
  return prefix + s;
}

async function create(c: Call): Promise<void> {
  const mode = parseFieldValidation(c.query.get('fieldValidation'));
  const raw = await readObjectBody(c);
  const { obj, warnings } = decodeObject(c.path.kind, c.path.version, raw, mode);
  placeInScope(c, obj);
  const meta = obj.metadata;
  const generate = !meta.name && typeof meta.generateName === 'string' && meta.generateName !== '';
  if (!meta.name && !generate) {
    throw invalidObject(c.path.kind, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
  }
  // Fields the server owns are never taken from a create.
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generation', 'selfLink']) delete meta[f];
  if (c.path.kind.hasStatus) delete obj.status;
  if (c.path.kind.kind === 'Namespace') obj.status = { phase: 'Active' };
  await requireNamespace(c);

  for (let attempt = 0; ; attempt++) {
    if (generate) meta.name = generatedName(meta.generateName!);
    checkObjectRules(c.path.kind, obj);
    const admitted = await admitWithWarnings(c, toStorage(c, structuredClone(obj)), undefined);
    trackUpdate(undefined, admitted, managerOptions(c, false));
    setWarnings(c.res, warnings);
    if (isDryRun(c.query)) {
      respondObject(c, 201, admitted);
      return;
    }
    try {
      respondObject(c, 201, await c.ctx.store.create(key(c), admitted));
      return;
    } catch (e) {
      // A generated name that collides is retried with a fresh suffix, as Kubernetes does.
      if (!(generate && e instanceof ApiError && e.reason === 'AlreadyExists' && attempt < 5)) throw e;
    }
  }
}

/** Who is writing, for metadata.managedFields. */
function managerOptions(c: Call, apply: boolean): ManagerOptions {
  return {
    manager: managerFor(c.query, c.req.headers['user-agent'], apply),
    apiVersion: apiVersionOf(c.path.kind, c.path.version),
    hasStatus: c.path.kind.hasStatus,
    now: Date.now(),
  };
}

/**
 * Checks and admits an updated object, then writes it (or the status part of it). `applied`: the
 * object comes from server-side apply, which already set its managedFields.
 */
async function commitUpdate(c: Call, next: KObject, old: KObject, statusOnly: boolean, applied = false): Promise<KObject> {
  const name = c.path.name!;
  if (next.metadata.name === undefined || next.metadata.name === '') next.metadata.name = name;
  if (next.metadata.name !== name) {
    throw badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`);
  }
  placeInScope(c, next);
  if (!statusOnly) checkUpdate(qualifiedKind(c.path.kind), old, next);
  let toWrite: KObject;
  if (!statusOnly) checkObjectRules(c.path.kind, next, { update: true });
  if (statusOnly) {
    toWrite = { ...old, status: next.status, metadata: { ...old.metadata, resourceVersion: next.metadata.resourceVersion } };
  } else {
    toWrite = await admitWithWarnings(c, toStorage(c, next), old);
    if (!applied) trackUpdate(old, toWrite, managerOptions(c, false));
  }
  if (isDryRun(c.query)) return { ...toWrite, status: statusOnly ? toWrite.status : old.status };
  // managedFields as tracked above: one this write removed stays removed.
  const written = await c.ctx.store.update(key(c), toWrite, statusOnly ? { subresource: 'status' } : { managedFields: 'as-given' });
  // Clearing the last finalizer of an object being deleted lets it go.
  if (!statusOnly) await afterUpdate(gcOf(c), key(c), written);
  return written;
}

async function update(c: Call, statusOnly: boolean): Promise<void> {
  const mode = parseFieldValidation(c.query.get('fieldValidation'));
  const raw = await readObjectBody(c);
  const old = await load(c, c.path.name!);
  const { obj, warnings } = decodeObject(c.path.kind, c.path.version, raw, mode, unknownFieldsOf(c.path.kind, out(c, old)));
  setWarnings(c.res, warnings);
  respondObject(c, 200, await commitUpdate(c, obj, old, statusOnly));
}

async function patch(c: Call, statusOnly: boolean): Promise<void> {
  const mode = parseFieldValidation(c.query.get('fieldValidation'));
  const type = mediaType(c.req.headers['content-type']);
  let kind: PatchKind | 'strategic';
  if (type === 'application/strategic-merge-patch+json') {
    // Only built-in kinds have the struct tags strategic merge needs; Kubernetes refuses it for CRDs.
    if (c.path.kind.group !== '') {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      );
    }
    kind = 'strategic';
  } else {
    kind = patchKindOf(type);
  }
  const patchBody = await readObjectBody(c);
  const name = c.path.name!;
  const force = parseForce(c.query.get('force'), kind === 'apply');
  // A resourceVersion inside the patch is a precondition; without one, lost races are retried.
  const pinnedRv = isPlainObject(patchBody) && isPlainObject(patchBody.metadata) ? patchBody.metadata.resourceVersion : undefined;

  for (let attempt = 0; ; attempt++) {
    const old = await c.ctx.store.get(key(c), scopeNs(c), name);
    if (!old) {
      if (kind === 'apply' && !statusOnly) return applyCreate(c, patchBody, mode, force);
      throw notFoundFor(c.path.kind, name);
    }
    const current = out(c, old);
    const applied = kind === 'apply' && !statusOnly;
    const patched = applied
      ? serverSideApply(current, applyConfig(c, patchBody, mode), { ...managerOptions(c, true), force })
      : kind === 'strategic'
        ? strategicMergePatch(current, patchBody)
        : applyPatch(kind, current as Record<string, unknown>, patchBody);
    // A patch may nest a value under a deep path: the result obeys the same limit as a body.
    checkDepth(patched);
    const { obj, warnings } = decodeObject(c.path.kind, c.path.version, patched, mode, unknownFieldsOf(c.path.kind, current));
    if (pinnedRv === undefined) obj.metadata.resourceVersion = old.metadata.resourceVersion;
    try {
      const written = await commitUpdate(c, obj, old, statusOnly, applied);
      setWarnings(c.res, warnings);
      respondObject(c, 200, written);
      return;
    } catch (e) {
      if (!(pinnedRv === undefined && e instanceof ApiError && e.reason === 'Conflict' && attempt < PATCH_RETRIES)) throw e;
    }
  }
}

/** The applied configuration, checked against the schema (unknown fields refused, warned or dropped). */
function applyConfig(c: Call, body: unknown, mode: ReturnType<typeof parseFieldValidation>): KObject {
  const { obj, warnings } = decodeObject(c.path.kind, c.path.version, body, mode);
  setWarnings(c.res, warnings);
  return obj;
}

/** Server-side apply of an object that doesn't exist yet creates it. */
async function applyCreate(c: Call, body: unknown, mode: ReturnType<typeof parseFieldValidation>, force: boolean): Promise<void> {
  const config = applyConfig(c, body, mode);
  const { obj, warnings } = decodeObject(
    c.path.kind,
    c.path.version,
    serverSideApply(undefined, config, { ...managerOptions(c, true), force }),
    'Ignore',
  );
  if (obj.metadata.name !== undefined && obj.metadata.name !== c.path.name) {
    throw badRequest(`the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${c.path.name})`);
  }
  obj.metadata.name = c.path.name;
  placeInScope(c, obj);
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'generation']) delete obj.metadata[f];
  if (c.path.kind.hasStatus) delete obj.status;
  await requireNamespace(c);
  checkObjectRules(c.path.kind, obj);
  const admitted = await admitWithWarnings(c, toStorage(c, obj), undefined);
  setWarnings(c.res, warnings);
  respondObject(c, 201, isDryRun(c.query) ? admitted : await c.ctx.store.create(key(c), admitted));
}

// ---- delete ----

interface DeleteOptions {
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

async function readDeleteOptions(c: Call): Promise<DeleteOptions> {
  const buf = await readBody(c.req, c.ctx.maxBodyBytes);
  const opts: DeleteOptions = {};
  if (buf.length > 0 && buf.toString('utf8').trim() !== '') {
    const raw = decodeBody(buf, c.req.headers['content-type'], 'DeleteOptions');
    if (!isPlainObject(raw)) throw badRequest('DeleteOptions must be an object');
    Object.assign(opts, raw);
  }
  const q = c.query.get('propagationPolicy');
  if (q) opts.propagationPolicy = q;
  if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
    throw badRequest(
      `propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  if (Array.isArray(opts.dryRun) && opts.dryRun.includes('All')) c.query.append('dryRun', 'All');
  return opts;
}

/** Deleting a namespace deletes everything in it. */
async function emptyNamespace(store: Store, ns: string): Promise<void> {
  for (const k of KINDS) {
    if (!k.namespaced) continue;
    const { items } = await store.list(resourceKey(k), ns);
    for (const o of items) {
      try {
        await store.delete(resourceKey(k), ns, o.metadata.name!);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
  }
}

async function deleteObject(c: Call, obj: KObject, opts: DeleteOptions): Promise<{ obj: KObject; removed: boolean }> {
  const k = c.path.kind;
  const name = obj.metadata.name!;
  if (k.kind === 'Namespace' && UNDELETABLE_NAMESPACES.has(name)) {
    throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, {
      name,
      kind: 'namespaces',
    });
  }
  const pre = opts.preconditions;
  if (pre?.uid && pre.uid !== obj.metadata.uid) {
    throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
    throw new ApiError(
      409,
      'Conflict',
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
    );
  }
  if (isDryRun(c.query)) return { obj, removed: true };
  if (k.kind === 'Namespace') await emptyNamespace(c.ctx.store, name);
  return deleteWithPolicy(gcOf(c), key(c), obj, opts.propagationPolicy as PropagationPolicy | undefined);
}

const gcOf = (c: Call): GcContext => ({ store: c.ctx.store, garbageCollect: c.ctx.garbageCollect });

async function deleteOne(c: Call): Promise<void> {
  const opts = await readDeleteOptions(c);
  const obj = await load(c, c.path.name!);
  const { obj: gone, removed } = await deleteObject(c, obj, opts);
  if (removed && c.path.kind.group === '' && c.path.kind.kind !== 'Namespace') {
    // Built-in kinds answer a finished delete with a Success Status.
    sendJson(c.res, 200, successStatus({ name: gone.metadata.name, kind: c.path.kind.plural }));
    return;
  }
  respondObject(c, 200, gone);
}

async function deleteCollection(c: Call): Promise<void> {
  const opts = await readDeleteOptions(c);
  const matcher = selectorMatcher(c.query.get('labelSelector'), c.query.get('fieldSelector'), c.path.kind.fieldLabels);
  const { items, resourceVersion } = await c.ctx.store.list(key(c), scopeNs(c));
  const deleted: KObject[] = [];
  for (const o of items.filter(matcher)) {
    try {
      deleted.push((await deleteObject(c, o, opts)).obj);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
  sendJson(c.res, 200, {
    apiVersion: apiVersionOf(c.path.kind, c.path.version),
    kind: c.path.kind.listKind,
    metadata: { resourceVersion },
    items: deleted.map((o) => out(c, o)),
  });
}

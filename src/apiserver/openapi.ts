// OpenAPI v3 documents, one per group version, generated from schema.ts. kubectl reads them to
// decide (1) that the server validates fields itself (the PATCH operation of each kind lists the
// fieldValidation query parameter), and (2) which patch type `kubectl apply` should send: custom
// resources list no strategic-merge patch type, so kubectl falls back to a JSON merge patch.
// /openapi/v2 (Swagger 2.0, JSON or client-go's protobuf) is derived from the same documents.

import { createHash } from 'node:crypto';
import { KINDS, type ResourceKind } from '../api/registry.js';
import { groupVersions } from './discovery.js';
import { encodeOpenApiV2, OPENAPI_V2_PROTOBUF } from './openapi-v2-proto.js';
import { objectMeta, schemaFor, type Schema } from './schema.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Kubernetes' schema names: the group reversed (dev.knative.serving), core kinds under io.k8s.api.core. */
export function schemaName(k: ResourceKind, version: string, suffix = ''): string {
  const prefix = k.group ? k.group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${prefix}.${version}.${k.kind}${suffix}`;
}

/**
 * A Sluice schema as OpenAPI v3 (also a CRD's openAPIV3Schema). `topLevelMeta` replaces the
 * top-level metadata property (a $ref here; a CRD may only say `type: object` there).
 */
export function toOpenApi(s: Schema, topLevelMeta?: Record<string, unknown>): Record<string, unknown> {
  const d = s.description ? { description: s.description } : {};
  switch (s.type) {
    case 'string':
    case 'boolean':
    case 'number':
      return { type: s.type, ...d };
    case 'integer':
      return { type: 'integer', format: 'int64', ...d };
    case 'int-or-string':
      return { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }], ...d };
    case 'array':
      return { type: 'array', items: toOpenApi(s.items), ...d };
    case 'object': {
      if (s.preserveUnknown) return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...d };
      const out: Record<string, unknown> = { type: 'object', ...d };
      if (s.properties) {
        out.properties = Object.fromEntries(
          Object.entries(s.properties).map(([k, v]) => [k, topLevelMeta && k === 'metadata' ? topLevelMeta : toOpenApi(v)]),
        );
      }
      if (s.additionalProperties) out.additionalProperties = toOpenApi(s.additionalProperties);
      return out;
    }
  }
}

const gvkExt = (k: ResourceKind, version: string) => ({ group: k.group, version, kind: k.kind });

const param = (name: string, inWhere: 'query' | 'path', type = 'string', description = '') => ({
  name,
  in: inWhere,
  ...(inWhere === 'path' ? { required: true } : {}),
  ...(description ? { description } : {}),
  schema: { type, uniqueItems: true },
});

const writeParams = [
  param('dryRun', 'query', 'string', 'When present, modifications are not persisted. Valid value: All.'),
  param('fieldManager', 'query'),
  param(
    'fieldValidation',
    'query',
    'string',
    'How the server treats unknown fields in the body: Ignore, Warn (default) or Strict (refuse the request).',
  ),
];
const listParams = ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'watch', 'timeoutSeconds'].map((n) =>
  param(n, 'query', n === 'limit' || n === 'timeoutSeconds' ? 'integer' : n === 'watch' ? 'boolean' : 'string'),
);

function operations(k: ResourceKind, version: string) {
  const gvk = gvkExt(k, version);
  const objRef = ref(schemaName(k, version));
  const listRef = ref(schemaName(k, version, 'List'));
  const json = (schema: unknown) => ({ 'application/json': { schema }, 'application/yaml': { schema } });
  const ok = (schema: unknown) => ({ '200': { description: 'OK', content: json(schema) }, '401': { description: 'Unauthorized' } });
  const op = (action: string, id: string, extra: Record<string, unknown>) => ({
    operationId: `${id}${k.kind}`,
    tags: [k.group ? `${k.group}_${version}` : `core_${version}`],
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  });
  const body = (schema: unknown) => ({
    requestBody: { required: true, content: { 'application/json': { schema }, 'application/yaml': { schema } } },
  });
  const patchBody = {
    requestBody: {
      required: true,
      content: Object.fromEntries(
        patchMediaTypes(k).map((t) => [t, { schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }]),
      ),
    },
  };
  const item = {
    get: op('get', 'read', { responses: ok(objRef) }),
    put: op('put', 'replace', { parameters: writeParams, ...body(objRef), responses: ok(objRef) }),
    patch: op('patch', 'patch', { parameters: [...writeParams, param('force', 'query', 'boolean')], ...patchBody, responses: ok(objRef) }),
    delete: op('delete', 'delete', { parameters: [param('dryRun', 'query')], responses: ok(objRef) }),
  };
  const collection = {
    get: op('list', 'list', { parameters: listParams, responses: ok(listRef) }),
    post: op('post', 'create', {
      parameters: writeParams,
      ...body(objRef),
      responses: { ...ok(objRef), '201': { description: 'Created', content: json(objRef) } },
    }),
    delete: op('deletecollection', 'deleteCollectionOf', { parameters: listParams, responses: ok(ref(`${META}.Status`)) }),
  };
  const statusOps = {
    get: op('get', 'readStatus', { responses: ok(objRef) }),
    put: op('put', 'replaceStatus', { parameters: writeParams, ...body(objRef), responses: ok(objRef) }),
    patch: op('patch', 'patchStatus', {
      parameters: [...writeParams, param('force', 'query', 'boolean')],
      ...patchBody,
      responses: ok(objRef),
    }),
  };
  return { item, collection, statusOps };
}

/** The patch media types a kind accepts; strategic merge only for the built-in core kinds. */
export function patchMediaTypes(k: ResourceKind): string[] {
  const base = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
  return k.group === '' ? [...base, 'application/strategic-merge-patch+json'] : base;
}

function groupVersionDoc(group: string, version: string) {
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {
    [`${META}.ObjectMeta`]: toOpenApi(objectMeta),
    [`${META}.ListMeta`]: {
      type: 'object',
      properties: {
        resourceVersion: { type: 'string' },
        continue: { type: 'string' },
        remainingItemCount: { type: 'integer', format: 'int64' },
      },
    },
    [`${META}.Status`]: {
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        status: { type: 'string' },
        message: { type: 'string' },
        reason: { type: 'string' },
        code: { type: 'integer', format: 'int32' },
        details: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
  };
  for (const k of KINDS.filter((x) => x.group === group && x.servedVersions.includes(version))) {
    const { item, collection, statusOps } = operations(k, version);
    const nsParam = param('namespace', 'path', 'string', 'object name and auth scope, such as for teams and projects');
    const nameParam = param('name', 'path', 'string', `name of the ${k.kind}`);
    const scope = k.namespaced ? `${base}/namespaces/{namespace}/${k.plural}` : `${base}/${k.plural}`;
    const scopeParams = k.namespaced ? [nsParam] : [];
    paths[scope] = { ...collection, parameters: scopeParams };
    paths[`${scope}/{name}`] = { ...item, parameters: [...scopeParams, nameParam] };
    if (k.hasStatus) paths[`${scope}/{name}/status`] = { ...statusOps, parameters: [...scopeParams, nameParam] };
    if (k.namespaced) paths[`${base}/${k.plural}`] = { get: { ...collection.get, operationId: `list${k.kind}ForAllNamespaces` } };

    const gvk = [gvkExt(k, version)];
    schemas[schemaName(k, version)] = {
      ...toOpenApi(schemaFor(k), { allOf: [ref(`${META}.ObjectMeta`)], description: "Standard object's metadata." }),
      'x-kubernetes-group-version-kind': gvk,
    };
    schemas[schemaName(k, version, 'List')] = {
      type: 'object',
      description: `${k.listKind} is a list of ${k.kind}`,
      required: ['items'],
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { allOf: [ref(`${META}.ListMeta`)] },
        items: { type: 'array', items: ref(schemaName(k, version)) },
      },
      'x-kubernetes-group-version-kind': [{ group: k.group, version, kind: k.listKind }],
    };
  }
  return { openapi: '3.0.0', info: { title: 'Sluice', version: group ? `${group}/${version}` : version }, paths, components: { schemas } };
}

interface Published {
  root: { paths: Record<string, { serverRelativeURL: string }> };
  docs: Map<string, { text: string; hash: string }>;
}

let published: Published | undefined;

/** Builds every document once: they only depend on the registry, which is fixed at startup. */
function publish(): Published {
  if (published) return published;
  const docs = new Map<string, { text: string; hash: string }>();
  const root: Published['root'] = { paths: {} };
  const gvs: [string, string][] = [];
  for (const k of KINDS) for (const v of k.servedVersions) if (!gvs.some(([g, x]) => g === k.group && x === v)) gvs.push([k.group, v]);
  // Keep the preferred-version order of discovery within each group.
  gvs.sort(([ga, va], [gb, vb]) => (ga === gb ? groupVersions(ga).indexOf(va) - groupVersions(gb).indexOf(vb) : ga < gb ? -1 : 1));
  for (const [g, v] of gvs) {
    const key = g ? `apis/${g}/${v}` : `api/${v}`;
    const text = JSON.stringify(groupVersionDoc(g, v));
    const hash = createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase();
    docs.set(key, { text, hash });
    root.paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  published = { root, docs };
  return published;
}

export function openApiV3Root() {
  return publish().root;
}

/** The document for "apis/{group}/{version}" or "api/v1", or undefined. */
export function openApiV3Doc(key: string): { text: string; hash: string } | undefined {
  return publish().docs.get(key);
}

/** Rewrites OpenAPI v3 component references to Swagger 2.0 definitions. */
function v2Refs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(v2Refs);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = k === '$ref' && typeof x === 'string' ? x.replace('#/components/schemas/', '#/definitions/') : v2Refs(x);
  }
  // Kubernetes' v2 documents refer to ObjectMeta directly, with the field's own description.
  if (Array.isArray(out.allOf) && out.allOf.length === 1 && typeof (out.allOf[0] as Record<string, unknown>).$ref === 'string') {
    out.$ref = (out.allOf[0] as Record<string, unknown>).$ref;
    delete out.allOf;
  }
  // Swagger 2.0 has no anyOf: Kubernetes writes int-or-string as a formatted string.
  if (out['x-kubernetes-int-or-string'] === true && Array.isArray(out.anyOf)) {
    delete out.anyOf;
    out.type = 'string';
    out.format = 'int-or-string';
  }
  return out;
}

type V3Operation = {
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: { type?: string } }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses?: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  [k: string]: unknown;
};

function v2Parameters(params: V3Operation['parameters'] = []) {
  return params.map(({ schema, ...p }) => ({ ...p, type: schema?.type ?? 'string', uniqueItems: true }));
}

function v2Operation(op: V3Operation) {
  const { parameters, requestBody, responses, ...rest } = op;
  const body = requestBody ? Object.values(requestBody.content)[0] : undefined;
  return {
    ...rest,
    consumes: requestBody ? Object.keys(requestBody.content) : undefined,
    produces: ['application/json', 'application/yaml'],
    schemes: ['https'],
    parameters: [...v2Parameters(parameters), ...(body ? [{ name: 'body', in: 'body', required: true, schema: v2Refs(body.schema) }] : [])],
    responses: Object.fromEntries(
      Object.entries(responses ?? {}).map(([code, r]) => {
        const schema = r.content ? Object.values(r.content)[0]?.schema : undefined;
        return [code, { description: r.description, ...(schema ? { schema: v2Refs(schema) } : {}) }];
      }),
    ),
  };
}

let v2: { text: string; hash: string; protobuf: Buffer } | undefined;

/** One Swagger 2.0 document for every group version (what /openapi/v2 serves), as JSON and protobuf. */
export function openApiV2(): { text: string; hash: string; protobuf: Buffer } {
  if (v2) return v2;
  const definitions: Record<string, unknown> = {};
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { text } of publish().docs.values()) {
    const doc = JSON.parse(text) as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    for (const [name, schema] of Object.entries(doc.components.schemas)) definitions[name] = v2Refs(schema);
    for (const [p, item] of Object.entries(doc.paths)) {
      const converted: Record<string, unknown> = {};
      for (const [method, op] of Object.entries(item)) {
        converted[method] = method === 'parameters' ? v2Parameters(op as V3Operation['parameters']) : v2Operation(op as V3Operation);
      }
      paths[p] = converted;
    }
  }
  const doc = { swagger: '2.0', info: { title: 'Sluice', version: 'v1.32.0-sluice' }, paths, definitions };
  const text = JSON.stringify(doc);
  const protobuf = encodeOpenApiV2(doc as Parameters<typeof encodeOpenApiV2>[0]);
  v2 = { text, hash: createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase(), protobuf };
  return v2;
}

/** The form of /openapi/v2 an Accept header asks for: protobuf (client-go), JSON, or neither. */
export function openApiV2Form(accept: string | undefined): 'protobuf' | 'json' | undefined {
  if (!accept) return 'json';
  const types = accept.split(',').map((part) => part.split(';')[0].trim().toLowerCase());
  if (types.includes(OPENAPI_V2_PROTOBUF.toLowerCase())) return 'protobuf';
  return types.some((t) => t === 'application/json' || t === '*/*' || t === 'application/*') ? 'json' : undefined;
}

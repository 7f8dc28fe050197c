// Knative's rules for the pod spec inside a revision (knative/serving
// pkg/apis/serving/k8s_validation.go), as pure functions returning FieldErrors with Knative's
// messages and paths relative to the revision spec: the field allowlist, volumes and mounts,
// env and envFrom, the one serving port, probes, images, resources and security contexts, and
// multi-container rules (exactly one container has the port; sidecars' probes behind a flag).

import { posix } from 'node:path';
import {
  capabilitiesDisallowed,
  CONTAINER,
  CONTAINER_PORT,
  disallowedKeys,
  DOWNWARD_API_FILE,
  DOWNWARD_API_PROJECTION,
  ENV_FROM_SOURCE,
  ENV_SOURCE,
  ENV_VAR,
  ENV_VAR_SOURCE,
  EXEC_ACTION,
  GRPC_ACTION,
  HTTP_GET_ACTION,
  isEmptyDeep,
  KEY_SELECTOR,
  KEY_TO_PATH,
  type Mask,
  OBJECT_PROJECTION,
  POD_SPEC,
  podSecurityContextMask,
  PROBE,
  RESOURCE_REQUIREMENTS,
  REVISION_SPEC_OWN,
  SECURITY_CONTEXT,
  SERVICE_ACCOUNT_TOKEN_PROJECTION,
  TCP_SOCKET_ACTION,
  VOLUME,
  VOLUME_MOUNT,
  VOLUME_PROJECTION,
} from './fieldmask.js';
import { isEnabled, isPermitted, type Features } from './features.js';
import {
  disallowedFields,
  fe,
  type FieldError,
  invalidValue,
  missingField,
  missingOneOf,
  multipleOneOf,
  outOfBounds,
  via,
} from './field-error.js';
import { imageReferenceError } from './image-reference.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from './k8s-names.js';
import { parseQuantity } from './quantity.js';

type Obj = Record<string, any>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const MAX_INT32 = 2147483647;

export const RESERVED_PORTS = new Set([8012, 8013, 8022, 9090, 9091, 8008]);
export const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);
const RESERVED_SIDECAR_ENV = new Set(['K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);
const RESERVED_PATHS = new Set(['/', '/dev', '/dev/log']);
const RESERVED_CONTAINER_NAMES = new Set(['queue-proxy']);
const PORT_NAMES = new Set(['h2c', 'http1', '']);
export const DEFAULT_USER_PORT = 8080;

/** Knative's "must not set the field(s)" for the keys of obj outside the mask, at path. */
function checkMask(obj: unknown, mask: Mask, f: Features, path = ''): FieldError[] {
  const keys = disallowedKeys(obj, mask, f);
  return keys.length ? [disallowedFields(...keys.map((k) => (path ? `${path}.${k}` : k)))] : [];
}

/** Go's path.Clean for the absolute and relative paths a mountPath may hold. */
function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

// ---- volumes ----

type Volumes = Map<string, Obj>;

function validateKeyToPath(item: unknown, f: Features): FieldError[] {
  const errs = checkMask(item, KEY_TO_PATH, f);
  if (!isObject(item) || !item.key) errs.push(missingField('key'));
  if (!isObject(item) || !item.path) errs.push(missingField('path'));
  return errs;
}

const validateItems = (items: unknown, f: Features): FieldError[] =>
  list(items).flatMap((item, i) => via(`items[${i}]`, validateKeyToPath(item, f)));

function validateObjectProjection(p: Obj, f: Features): FieldError[] {
  const errs = checkMask(p, OBJECT_PROJECTION, f);
  if (!p.name) errs.push(missingField('name'));
  return [...errs, ...validateItems(p.items, f)];
}

function validateDownwardFile(file: unknown, f: Features): FieldError[] {
  const errs = checkMask(file, DOWNWARD_API_FILE, f);
  const vf = isObject(file) ? file : {};
  if (!vf.fieldRef && !vf.resourceFieldRef) errs.push(missingOneOf('fieldRef', 'resourceFieldRef'));
  if (vf.fieldRef && vf.resourceFieldRef) errs.push(fe('Within a single item, cannot set both', 'resourceFieldRef', 'fieldRef'));
  if (!vf.path) errs.push(missingField('path'));
  return errs;
}

function validateProjection(proj: unknown, f: Features): FieldError[] {
  const vp = isObject(proj) ? proj : {};
  const errs = checkMask(vp, VOLUME_PROJECTION, f);
  const specified: string[] = [];
  if (isObject(vp.secret)) {
    specified.push('secret');
    errs.push(...via('secret', validateObjectProjection(vp.secret, f)));
  }
  if (isObject(vp.configMap)) {
    specified.push('configMap');
    errs.push(...via('configMap', validateObjectProjection(vp.configMap, f)));
  }
  if (isObject(vp.serviceAccountToken)) {
    specified.push('serviceAccountToken');
    const sat = checkMask(vp.serviceAccountToken, SERVICE_ACCOUNT_TOKEN_PROJECTION, f);
    if (!vp.serviceAccountToken.path) sat.push(missingField('path'));
    errs.push(...via('serviceAccountToken', sat));
  }
  if (isObject(vp.downwardAPI)) {
    specified.push('downwardAPI');
    const d = checkMask(vp.downwardAPI, DOWNWARD_API_PROJECTION, f);
    list(vp.downwardAPI.items).forEach((item, i) => d.push(...via(`items[${i}]`, validateDownwardFile(item, f))));
    errs.push(...via('downwardAPI', d));
  }
  if (specified.length === 0) errs.push(missingOneOf('secret', 'configMap', 'serviceAccountToken', 'downwardAPI'));
  else if (specified.length > 1) errs.push(multipleOneOf(...specified));
  return errs;
}

const DISABLED_VOLUME_TYPES: [string, Parameters<typeof isEnabled>[1], string][] = [
  ['image', 'kubernetes.podspec-volumes-image', 'Image'],
  ['emptyDir', 'kubernetes.podspec-volumes-emptydir', 'EmptyDir'],
  ['hostPath', 'kubernetes.podspec-volumes-hostpath', 'HostPath'],
  ['csi', 'kubernetes.podspec-volumes-csi', 'CSI'],
  ['ephemeral', 'kubernetes.podspec-volumes-ephemeral', 'Ephemeral'],
];

function validateVolume(v: unknown, f: Features): FieldError[] {
  if (!isObject(v)) return [invalidValue('must be an object', '')];
  const errs: FieldError[] = [];
  const pvc = v.persistentVolumeClaim;
  if (isObject(pvc)) {
    if (!isEnabled(f, 'kubernetes.podspec-persistent-volume-claim')) {
      errs.push(fe(`Persistent volume claim support is disabled, but found persistent volume claim ${String(pvc.claimName ?? '')}`));
    }
    if (!pvc.readOnly && !isEnabled(f, 'kubernetes.podspec-persistent-volume-write')) {
      errs.push(
        fe(
          `Persistent volume write support is disabled, but found persistent volume claim ${String(pvc.claimName ?? '')} that is not read-only`,
        ),
      );
    }
  }
  for (const [key, flag, label] of DISABLED_VOLUME_TYPES) {
    if (v[key] !== undefined && v[key] !== null && !isEnabled(f, flag)) {
      errs.push(fe(`${label} volume support is disabled, but found ${label} volume ${String(v.name ?? '')}`));
    }
  }
  errs.push(...checkMask(v, VOLUME, f));
  if (!v.name) errs.push(missingField('name'));
  else if (typeof v.name !== 'string' || dns1123LabelErrors(v.name).length) errs.push(invalidValue(v.name, 'name'));

  const specified: string[] = [];
  if (isObject(v.secret)) {
    specified.push('secret');
    errs.push(...via('secret', validateItems(v.secret.items, f)));
  }
  if (isObject(v.configMap)) {
    specified.push('configMap');
    errs.push(...via('configMap', validateItems(v.configMap.items, f)));
  }
  if (isObject(v.projected)) {
    specified.push('projected');
    // Knative indexes the sources under "projected" itself.
    list(v.projected.sources).forEach((p, i) => errs.push(...via(`projected[${i}]`, validateProjection(p, f))));
  }
  if (isObject(v.emptyDir)) {
    specified.push('emptyDir');
    const { medium, sizeLimit } = v.emptyDir;
    if (medium !== undefined && medium !== '' && medium !== 'Memory') errs.push(invalidValue(medium, 'emptyDir.medium'));
    if (sizeLimit !== undefined) {
      const q = parseQuantity(String(sizeLimit));
      if (!q.ok || q.value < 0) errs.push(invalidValue(sizeLimit, 'emptyDir.sizeLimit'));
    }
  }
  for (const k of ['persistentVolumeClaim', 'hostPath', 'csi', 'ephemeral'] as const) if (isObject(v[k])) specified.push(k);
  if (isObject(v.image)) {
    specified.push('image');
    const img = checkMask(v.image, ['reference', 'pullPolicy'], f);
    if (!v.image.reference) img.push(missingField('reference'));
    const pp = v.image.pullPolicy;
    if (pp !== undefined && !['IfNotPresent', 'Always', 'Never', ''].includes(pp)) img.push(invalidValue(pp, 'pullPolicy'));
    errs.push(...via('image', img));
  }
  if (specified.length === 0) {
    const paths = ['secret', 'configMap', 'projected'];
    for (const [key, flag] of [
      ['emptyDir', 'kubernetes.podspec-volumes-emptydir'],
      ['persistentVolumeClaim', 'kubernetes.podspec-persistent-volume-claim'],
      ['hostPath', 'kubernetes.podspec-volumes-hostpath'],
      ['csi', 'kubernetes.podspec-volumes-csi'],
      ['ephemeral', 'kubernetes.podspec-volumes-ephemeral'],
      ['image', 'kubernetes.podspec-volumes-image'],
    ] as const) {
      if (isEnabled(f, flag)) paths.push(key);
    }
    errs.push(missingOneOf(...paths));
  } else if (specified.length > 1) {
    errs.push(multipleOneOf(...specified));
  }
  return errs;
}

function validateVolumes(vs: unknown, mounted: Set<string>, f: Features): { volumes: Volumes; errs: FieldError[] } {
  const volumes: Volumes = new Map();
  const errs: FieldError[] = [];
  list(vs).forEach((v, i) => {
    const name = isObject(v) ? String(v.name ?? '') : '';
    if (volumes.has(name)) errs.push(fe(`duplicate volume name "${name}"`, `[${i}].name`));
    if (!mounted.has(name)) errs.push(fe(`volume with name "${name}" not mounted`, `[${i}].name`));
    errs.push(...via(`[${i}]`, validateVolume(v, f)));
    if (isObject(v)) volumes.set(name, v);
  });
  return { volumes, errs };
}

const writableVolume = (v: Obj | undefined) => !!v && (isObject(v.emptyDir) || isObject(v.persistentVolumeClaim) || isObject(v.ephemeral));

function validateVolumeMounts(mounts: unknown, volumes: Volumes, f: Features): FieldError[] {
  const errs: FieldError[] = [];
  const seenPaths = new Set<string>();
  list(mounts).forEach((m, i) => {
    const at = (e: FieldError[]) => errs.push(...via(`[${i}]`, e));
    const vm = isObject(m) ? m : {};
    at(checkMask(vm, VOLUME_MOUNT, f));
    const volume = volumes.get(String(vm.name ?? ''));
    if (!volume) at([fe('volumeMount has no matching volume', 'name')]);
    const mountPath = typeof vm.mountPath === 'string' ? vm.mountPath : '';
    const clean = mountPath ? cleanPath(mountPath) : '';
    if (!mountPath) at([missingField('mountPath')]);
    else if (RESERVED_PATHS.has(clean)) at([fe(`mountPath "${clean}" is a reserved path`, 'mountPath')]);
    else if (!posix.isAbsolute(mountPath)) at([invalidValue(mountPath, 'mountPath')]);
    else if (seenPaths.has(clean)) at([invalidValue(`"${mountPath}" must be unique`, 'mountPath')]);
    if (clean) seenPaths.add(clean);
    if (!writableVolume(volume) && !vm.readOnly) at([fe('volume mount should be readOnly for this type of volume', 'readOnly')]);
    if (vm.mountPropagation !== undefined && vm.mountPropagation !== null) {
      if (!isEnabled(f, 'kubernetes.podspec-volumes-mount-propagation')) {
        at([fe(`Volume Mount Propagation support is disabled, but found volume mount ${String(vm.name ?? '')} with mount propagation`)]);
      }
      if (vm.mountPropagation !== 'None' && vm.mountPropagation !== 'HostToContainer') {
        at([fe('mount propagation should be set to None or HostToContainer', 'mountPropagation')]);
      }
    }
    if (volume && isObject(volume.persistentVolumeClaim) && volume.persistentVolumeClaim.readOnly && !vm.readOnly) {
      at([fe('volume is readOnly but volume mount is not', 'readOnly')]);
    }
  });
  return errs;
}

// ---- env ----

function validateEnv(env: unknown, reserved: Set<string>, f: Features): FieldError[] {
  if (env !== undefined && !Array.isArray(env)) return [invalidValue('must be a list', '')];
  return list(env).flatMap((e, i) => {
    const ev = isObject(e) ? e : {};
    const errs = checkMask(ev, ENV_VAR, f);
    if (!ev.name) errs.push(missingField('name'));
    else if (reserved.has(ev.name)) errs.push(fe(`"${String(ev.name)}" is a reserved environment variable`, 'name'));
    if (isObject(ev.valueFrom)) {
      const src = ev.valueFrom;
      const from = checkMask(src, ENV_VAR_SOURCE, f);
      for (const k of ['configMapKeyRef', 'secretKeyRef'] as const)
        if (isObject(src[k])) from.push(...checkMask(src[k], KEY_SELECTOR, f, k));
      errs.push(...via('valueFrom', from));
    }
    return via(`[${i}]`, errs);
  });
}

function validateEnvFrom(envFrom: unknown, f: Features): FieldError[] {
  const errs: FieldError[] = [];
  list(envFrom).forEach((e, i) => {
    const ef = isObject(e) ? e : {};
    errs.push(...via(`[${i}]`, checkMask(ef, ENV_FROM_SOURCE, f)));
    for (const k of ['secretRef', 'configMapRef'] as const) {
      if (isObject(ef[k])) errs.push(...via(`[${i}].${k}`, checkMask(ef[k], ENV_SOURCE, f)));
    }
    // Knative reports the one-of at the envFrom list itself.
    if (isObject(ef.configMapRef) && isObject(ef.secretRef)) errs.push(multipleOneOf('configMapRef', 'secretRef'));
    else if (!isObject(ef.configMapRef) && !isObject(ef.secretRef)) errs.push(missingOneOf('configMapRef', 'secretRef'));
  });
  return errs;
}

// ---- ports ----

export interface ServingPort {
  name: string;
  containerPort: number;
}

/** The one serving port across all containers (named "http" and 8080 unless given), and the count errors. */
export function servingPort(containers: unknown[]): { port: ServingPort; errs: FieldError[] } {
  let count = 0;
  let first: Obj | undefined;
  for (const c of containers) {
    const ports = isObject(c) ? list(c.ports) : [];
    if (ports.length > 0) {
      count += ports.length;
      first = isObject(ports[0]) ? ports[0] : {};
    }
  }
  const port: ServingPort = {
    name: typeof first?.name === 'string' && first.name !== '' ? first.name : 'http',
    containerPort: isInt(first?.containerPort) && first.containerPort !== 0 ? first.containerPort : DEFAULT_USER_PORT,
  };
  if (count === 0 && containers.length > 1) return { port, errs: [missingField('ports')] };
  if (count > 1) {
    return {
      port,
      errs: [
        {
          message: 'more than one container port is set',
          paths: ['ports'],
          details: 'Only a single port is allowed across all containers',
        },
      ],
    };
  }
  return { port, errs: [] };
}

function validatePortBasic(p: unknown, f: Features): FieldError[] {
  const port = isObject(p) ? p : {};
  const errs = checkMask(port, CONTAINER_PORT, f);
  const n = port.containerPort;
  if (isInt(n) && RESERVED_PORTS.has(n)) {
    errs.push({
      message: `invalid value: ${n} is a reserved port`,
      paths: ['containerPort'],
      details: `${n} is a reserved port, please use a different value`,
    });
  }
  if (n !== undefined && (!isInt(n) || n < 0 || n > 65535)) errs.push(outOfBounds(n, 0, 65535, 'containerPort'));
  return errs;
}

function validateContainerPorts(ports: unknown, f: Features): FieldError[] {
  if (ports !== undefined && !Array.isArray(ports)) return [invalidValue('must be a list', '')];
  const first = list(ports)[0];
  if (first === undefined) return [];
  const p = isObject(first) ? first : {};
  const errs = validatePortBasic(p, f);
  if (p.protocol !== undefined && p.protocol !== '' && p.protocol !== 'TCP') errs.push(invalidValue(p.protocol, 'protocol'));
  const name = p.name ?? '';
  if (!PORT_NAMES.has(name)) {
    errs.push({
      message: `Port name ${String(name)} is not allowed`,
      paths: [''],
      details: "Name must be empty, or one of: 'h2c', 'http1'",
    });
  }
  return errs;
}

// ---- probes ----

function probePortErrors(port: unknown, path: string, serving: ServingPort | undefined): FieldError[] {
  const label = port === undefined ? '0' : String(port);
  if (serving) {
    // On the serving container a probe port by name must name the serving port; by number it is rewritten.
    if (typeof port === 'string' && port !== '' && port !== serving.name) {
      return [{ ...invalidValue(port, path), details: 'Probe port must match container port' }];
    }
    return [];
  }
  if (port === undefined || port === 0 || port === '') return [{ ...invalidValue(label, path), details: 'Probe port must be specified' }];
  return [];
}

function validateProbe(p: unknown, serving: ServingPort | undefined, f: Features, timings = true): FieldError[] {
  if (p === undefined || p === null) return [];
  if (!isObject(p)) return [invalidValue('must be an object', '')];
  const errs = checkMask(p, PROBE, f);
  const handlers: string[] = [];
  if (isObject(p.httpGet)) {
    handlers.push('httpGet');
    errs.push(...checkMask(p.httpGet, HTTP_GET_ACTION, f, 'httpGet'), ...probePortErrors(p.httpGet.port, 'httpGet.port', serving));
  }
  if (isObject(p.tcpSocket)) {
    handlers.push('tcpSocket');
    errs.push(
      ...checkMask(p.tcpSocket, TCP_SOCKET_ACTION, f, 'tcpSocket'),
      ...probePortErrors(p.tcpSocket.port, 'tcpSocket.port', serving),
    );
  }
  if (isObject(p.exec)) {
    handlers.push('exec');
    errs.push(...checkMask(p.exec, EXEC_ACTION, f, 'exec'));
  }
  if (isObject(p.grpc)) {
    handlers.push('gRPC');
    errs.push(...checkMask(p.grpc, GRPC_ACTION, f, 'grpc'));
  }
  if (handlers.length === 0) errs.push(missingOneOf('httpGet', 'tcpSocket', 'exec', 'grpc'));
  else if (handlers.length > 1) errs.push(multipleOneOf(...handlers));
  // Kubernetes refuses negative timings; int32 is the field's type. (Readiness has Knative's own bounds.)
  if (timings)
    for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
      const v = p[k];
      if (v !== undefined && (!isInt(v) || v < 0 || v > MAX_INT32)) errs.push(outOfBounds(v, 0, MAX_INT32, k));
    }
  return errs;
}

function validateReadinessProbe(p: unknown, serving: ServingPort | undefined, f: Features): FieldError[] {
  if (!isObject(p)) return validateProbe(p, serving, f);
  const errs = validateProbe(p, serving, f, false);
  const num = (k: string): number => (isInt(p[k]) ? p[k] : 0);
  const bound = (k: string, lower: number) => {
    const v = p[k];
    if (v !== undefined && (!isInt(v) || v < lower || v > MAX_INT32)) errs.push(outOfBounds(v, lower, MAX_INT32, k));
    else if (v === undefined && lower > 0) errs.push(outOfBounds(0, lower, MAX_INT32, k));
  };
  bound('periodSeconds', 0);
  bound('initialDelaySeconds', 0);
  bound('successThreshold', 1);
  // periodSeconds 0 is Knative's aggressive probing, which owns the timeout and retries.
  if (num('periodSeconds') === 0) {
    if (num('failureThreshold') !== 0) errs.push(fe('failureThreshold is disallowed when periodSeconds is zero', 'failureThreshold'));
    if (num('timeoutSeconds') !== 0) errs.push(fe('timeoutSeconds is disallowed when periodSeconds is zero', 'timeoutSeconds'));
  } else {
    bound('timeoutSeconds', 1);
    bound('failureThreshold', 1);
  }
  return errs;
}

// ---- containers ----

const MIN_ID = 0;

function idBounds(sc: Obj, keys: readonly string[]): FieldError[] {
  return keys.flatMap((k) => {
    const v = sc[k];
    return v !== undefined && v !== null && (!isInt(v) || v < MIN_ID || v > MAX_INT32) ? [outOfBounds(v, MIN_ID, MAX_INT32, k)] : [];
  });
}

function validateSecurityContext(sc: unknown, f: Features): FieldError[] {
  if (!isObject(sc)) return [];
  const keys = disallowedKeys(sc, [...SECURITY_CONTEXT, 'privileged'], f);
  if (sc.privileged === true) keys.push('privileged');
  const errs = keys.length ? [disallowedFields(...keys.sort())] : [];
  if (isObject(sc.capabilities)) {
    const cap = capabilitiesDisallowed(sc.capabilities, f);
    if (cap.length) errs.push(disallowedFields(...cap.map((k) => `capabilities.${k}`)));
  }
  return [...errs, ...idBounds(sc, ['runAsUser', 'runAsGroup'])];
}

export function validatePodSecurityContext(sc: unknown, f: Features): FieldError[] {
  if (!isObject(sc)) return [];
  const errs = checkMask(sc, podSecurityContextMask(f), f);
  errs.push(...idBounds(sc, ['runAsUser', 'runAsGroup', 'fsGroup']));
  list(sc.supplementalGroups).forEach((g, i) => {
    if (!isInt(g) || g < MIN_ID || g > MAX_INT32) errs.push(outOfBounds(g, MIN_ID, MAX_INT32, `supplementalGroups[${i}]`));
  });
  return errs;
}

function validateResources(res: unknown, f: Features): FieldError[] {
  if (!isObject(res)) return [];
  const errs = checkMask(res, RESOURCE_REQUIREMENTS, f);
  const values: Record<'requests' | 'limits', Map<string, number>> = { requests: new Map(), limits: new Map() };
  for (const kind of ['requests', 'limits'] as const) {
    const m = res[kind];
    if (!isObject(m)) continue;
    for (const [name, raw] of Object.entries(m)) {
      const q = parseQuantity(String(raw));
      if (q.ok) values[kind].set(name, q.value);
      else errs.push({ ...invalidValue(raw, `${kind}.${name}`), details: q.error });
    }
  }
  // Kubernetes' pod validation: a request above its limit cannot be scheduled.
  for (const [name, req] of values.requests) {
    const lim = values.limits.get(name);
    if (lim !== undefined && req > lim) {
      errs.push({
        ...invalidValue(res.requests[name], `requests.${name}`),
        details: `must be less than or equal to ${name} limit of ${String(res.limits[name])}`,
      });
    }
  }
  return errs;
}

type ContainerRole = 'serving' | 'sidecar' | 'init';

/** Knative's validate(): the checks every container gets. */
function validateContainerCommon(c: Obj, role: ContainerRole, volumes: Volumes, f: Features): FieldError[] {
  const errs = checkMask(c, CONTAINER, f);
  if (typeof c.name === 'string' && RESERVED_CONTAINER_NAMES.has(c.name)) errs.push(fe(`"${c.name}" is a reserved container name`, 'name'));
  errs.push(...via('env', validateEnv(c.env, role === 'serving' ? RESERVED_ENV : RESERVED_SIDECAR_ENV, f)));
  errs.push(...via('envFrom', validateEnvFrom(c.envFrom, f)));
  // Sluice's local runtime also runs a bare command; Knative itself requires an image.
  const hasCommand = Array.isArray(c.command) && c.command.length > 0;
  if (c.image === undefined || c.image === '') {
    if (!hasCommand) errs.push(missingField('image'));
  } else if (typeof c.image !== 'string') {
    errs.push(invalidValue(c.image, 'image'));
  } else {
    const problem = imageReferenceError(c.image);
    if (problem) {
      errs.push({
        message: 'Failed to parse image reference',
        paths: ['image'],
        details: `image: ${JSON.stringify(c.image)}, error: ${problem}`,
      });
    }
  }
  for (const k of ['command', 'args'] as const) {
    const v = c[k];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string')))
      errs.push(invalidValue('must be a list of strings', k));
  }
  if (role === 'init')
    errs.push(
      ...via(
        'ports',
        list(c.ports).flatMap((p) => validatePortBasic(p, f)),
      ),
    );
  else errs.push(...via('ports', validateContainerPorts(c.ports, f)));
  errs.push(...via('resources', validateResources(c.resources, f)));
  errs.push(...via('securityContext', validateSecurityContext(c.securityContext, f)));
  const tmp = c.terminationMessagePolicy;
  if (tmp !== undefined && tmp !== '' && tmp !== 'File' && tmp !== 'FallbackToLogsOnError')
    errs.push(invalidValue(tmp, 'terminationMessagePolicy'));
  errs.push(...via('volumeMounts', validateVolumeMounts(c.volumeMounts, volumes, f)));
  return errs;
}

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

function validateContainer(c: unknown, role: ContainerRole, port: ServingPort, volumes: Volumes, f: Features): FieldError[] {
  if (!isObject(c) || isEmptyDeep(c)) return [missingField('')];
  const errs: FieldError[] = [];
  if (role === 'serving') {
    errs.push(...via('livenessProbe', validateProbe(c.livenessProbe, port, f)));
    errs.push(...via('readinessProbe', validateReadinessProbe(c.readinessProbe, port, f)));
    errs.push(...via('startupProbe', validateProbe(c.startupProbe, port, f)));
  } else if (role === 'sidecar') {
    if (!isEnabled(f, 'multi-container-probing')) {
      // Without multi-container-probing a sidecar has no probes at all.
      for (const k of PROBES) errs.push(...checkMask(c[k], [], f, k));
    } else {
      errs.push(...via('livenessProbe', validateProbe(c.livenessProbe, undefined, f)));
      errs.push(...via('readinessProbe', validateReadinessProbe(c.readinessProbe, undefined, f)));
      errs.push(...via('startupProbe', validateProbe(c.startupProbe, undefined, f)));
    }
  } else {
    for (const k of [...PROBES, 'lifecycle'] as const) if (c[k] !== undefined) errs.push(fe('field not allowed in an init container', k));
  }
  return [...errs, ...validateContainerCommon(c, role, volumes, f)];
}

function mountedVolumes(containers: unknown[]): Set<string> {
  const names = new Set<string>();
  for (const c of containers) for (const m of isObject(c) ? list(c.volumeMounts) : []) if (isObject(m)) names.add(String(m.name ?? ''));
  return names;
}

/** ValidatePodSpec, for the pod-spec fields of a revision spec (Knative's own fields are checked elsewhere). */
export function validatePodSpec(ps: Obj, f: Features): FieldError[] {
  const extra = [...REVISION_SPEC_OWN];
  if (ps.automountServiceAccountToken === false) extra.push('automountServiceAccountToken');
  if (isPermitted(f, 'kubernetes.podspec-securitycontext') || isPermitted(f, 'secure-pod-defaults')) extra.push('securityContext');
  const errs = checkMask(ps, [...POD_SPEC, ...extra], f);
  errs.push(...via('securityContext', validatePodSecurityContext(ps.securityContext, f)));

  const containers = list(ps.containers);
  const inits = list(ps.initContainers);
  const { volumes, errs: volErrs } = validateVolumes(ps.volumes, mountedVolumes([...inits, ...containers]), f);
  errs.push(...via('volumes', volErrs));

  if (inits.length > 0) {
    if (!isEnabled(f, 'kubernetes.podspec-init-containers')) {
      errs.push(fe(`pod spec support for init-containers is off, but found ${inits.length} init containers`));
    } else {
      const names = new Set(containers.map((c) => (isObject(c) ? c.name : undefined)));
      inits.forEach((c, i) => {
        if (isObject(c) && names.has(c.name)) errs.push(fe(`duplicate container name "${String(c.name)}"`, `containers[${i}].name`));
        errs.push(...via(`containers[${i}]`, validateContainer(c, 'init', { name: 'http', containerPort: DEFAULT_USER_PORT }, volumes, f)));
      });
    }
  }

  const { port, errs: portErrs } = servingPort(containers);
  errs.push(...via('containers[*]', portErrs));
  if (containers.length === 0) errs.push(missingField('containers'));
  else if (containers.length === 1) errs.push(...via('containers[0]', validateContainer(containers[0], 'serving', port, volumes, f)));
  else if (!isEnabled(f, 'multi-container')) errs.push(fe(`multi-container is off, but found ${containers.length} containers`));
  else {
    const seen = new Set<unknown>();
    containers.forEach((c, i) => {
      const name = isObject(c) ? c.name : undefined;
      if (seen.has(name)) errs.push(fe(`duplicate container name "${String(name)}"`, `containers[${i}].name`));
      else seen.add(name);
      const role: ContainerRole = isObject(c) && list(c.ports).length > 0 ? 'serving' : 'sidecar';
      errs.push(...via(`containers[${i}]`, validateContainer(c, role, port, volumes, f)));
    });
  }
  if (ps.serviceAccountName !== undefined && ps.serviceAccountName !== '') {
    const name = String(ps.serviceAccountName);
    for (const msg of dns1123SubdomainErrors(name)) errs.push({ ...invalidValue(name, 'serviceAccountName'), details: msg });
  }
  return errs;
}

/** Index of the container that receives requests: the one with a port, else the only one. */
export function servingContainerIndex(containers: unknown[]): number {
  const i = containers.findIndex((c) => isObject(c) && list(c.ports).length > 0);
  return i >= 0 ? i : 0;
}

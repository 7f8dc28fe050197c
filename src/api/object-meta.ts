// apimachinery's input rules for every kind, with its messages: object names (DNS-1123 label or
// subdomain), generateName, label keys and values, annotation keys and their 256 KiB total,
// ConfigMap data keys and size. Pure functions returning field errors; the API server turns them
// into a 422 Invalid naming the kind, as kube-apiserver does before any admission webhook runs.

import { dns1123LabelErrors, dns1123SubdomainErrors, qualifiedNameErrors } from './k8s-names.js';

export interface MetaError {
  field: string;
  message: string;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

export const DNS1123_SUBDOMAIN_MAX = 253;
export const LABEL_VALUE_MAX = 63;
/** Sum of every annotation key and value, in bytes. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
/** Sum of a ConfigMap's data and binaryData, in bytes. */
export const CONFIG_MAP_SIZE_LIMIT = 1024 * 1024;

const maxLen = (n: number) => `must be no more than ${n} characters`;
const regexMsg = (what: string, regex: string, examples: string[]) =>
  `${what} (e.g. ${examples.map((e) => `'${e}'`).join(',  or ')}, regex used for validation is '${regex}')`;

/** The name syntaxes come from k8s-names.ts; the names here read as apimachinery's functions. */
export const isDNS1123Label = dns1123LabelErrors;
export const isDNS1123Subdomain = dns1123SubdomainErrors;
export const isQualifiedName = qualifiedNameErrors;

export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > LABEL_VALUE_MAX) errs.push(maxLen(LABEL_VALUE_MAX));
  if (!LABEL_VALUE.test(v)) {
    errs.push(
      regexMsg(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?',
        ['MyValue', 'my_value', '12345'],
      ),
    );
  }
  return errs;
}

export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLen(DNS1123_SUBDOMAIN_MAX));
  if (!CONFIG_MAP_KEY.test(v)) {
    errs.push(
      regexMsg("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", '[-._a-zA-Z0-9]+', [
        'key.name',
        'KEY_NAME',
        'key-name',
      ]),
    );
  }
  if (v === '.') errs.push("must not be '.'");
  else if (v === '..') errs.push("must not be '..'");
  else if (v.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** Go's %q-like quoting of a field value in "Invalid value:" messages. */
const quote = (v: unknown) => JSON.stringify(typeof v === 'string' ? v : String(v));
const invalidAt = (field: string, value: unknown, msgs: string[]): MetaError[] =>
  msgs.length ? [{ field, message: `Invalid value: ${quote(value)}: ${msgs.join('; ')}` }] : [];
const tooLong = (field: string, limit: number): MetaError => ({ field, message: `Too long: must have at most ${limit} bytes` });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Namespaces (and other DNS-label kinds) get the label rule; everything else the subdomain rule. */
export type NameRule = 'dns1123-label' | 'dns1123-subdomain';

/** The name rule kube-apiserver applies to a kind. */
export function nameRuleFor(kind: string): NameRule {
  return kind === 'Namespace' ? 'dns1123-label' : 'dns1123-subdomain';
}

export function validateName(name: string, rule: NameRule, field = 'metadata.name'): MetaError[] {
  return invalidAt(field, name, rule === 'dns1123-label' ? isDNS1123Label(name) : isDNS1123Subdomain(name));
}

/** generateName is a prefix: checked as a name with its trailing dash masked, as apimachinery does. */
function validateGenerateName(prefix: string, rule: NameRule): MetaError[] {
  const masked = prefix.endsWith('-') ? `${prefix.slice(0, -1)}a` : prefix;
  return validateName(masked, rule, 'metadata.generateName').map((e) => ({
    ...e,
    message: e.message.replace(quote(masked), quote(prefix)),
  }));
}

export function validateLabels(labels: unknown, field = 'metadata.labels'): MetaError[] {
  if (!isRecord(labels)) return [];
  const errs: MetaError[] = [];
  for (const [k, v] of Object.entries(labels)) {
    errs.push(...invalidAt(field, k, isQualifiedName(k)));
    if (typeof v === 'string') errs.push(...invalidAt(field, v, isValidLabelValue(v)));
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, field = 'metadata.annotations'): MetaError[] {
  if (!isRecord(annotations)) return [];
  const errs: MetaError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) {
    errs.push(...invalidAt(field, k, isQualifiedName(k.toLowerCase())));
    total += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

/**
 * ObjectMeta rules for a create (name or generateName) or an update (`update` true: the name is
 * the stored one and needs no check). `meta` is the object's metadata as decoded.
 */
export function validateObjectMeta(meta: unknown, rule: NameRule, opts: { update?: boolean } = {}): MetaError[] {
  if (!isRecord(meta)) return [];
  const errs: MetaError[] = [];
  const name = meta.name;
  const generateName = meta.generateName;
  if (!opts.update) {
    if (typeof generateName === 'string' && generateName !== '') errs.push(...validateGenerateName(generateName, rule));
    if (typeof name === 'string' && name !== '') errs.push(...validateName(name, rule));
  }
  errs.push(...validateLabels(meta.labels), ...validateAnnotations(meta.annotations));
  return errs;
}

/** ConfigMap's own rules: every data and binaryData key, no key in both, at most 1 MiB in all. */
export function validateConfigMap(obj: { data?: unknown; binaryData?: unknown }): MetaError[] {
  const errs: MetaError[] = [];
  let total = 0;
  const data = isRecord(obj.data) ? obj.data : {};
  const binary = isRecord(obj.binaryData) ? obj.binaryData : {};
  for (const [k, v] of Object.entries(data)) {
    errs.push(...invalidAt(`data[${k}]`, k, isConfigMapKey(k)));
    total += typeof v === 'string' ? Buffer.byteLength(v) : 0;
  }
  for (const [k, v] of Object.entries(binary)) {
    errs.push(...invalidAt(`binaryData[${k}]`, k, isConfigMapKey(k)));
    if (Object.prototype.hasOwnProperty.call(data, k)) {
      errs.push({ field: `binaryData[${k}]`, message: `Invalid value: ${quote(k)}: duplicate of key present in data` });
    }
    // binaryData travels base64-encoded; its size is that of the decoded bytes.
    total += typeof v === 'string' ? Buffer.from(v, 'base64').length : 0;
  }
  if (total > CONFIG_MAP_SIZE_LIMIT) errs.push(tooLong('data', CONFIG_MAP_SIZE_LIMIT));
  return errs;
}

// Container image references accepted as Knative accepts them: go-containerregistry's
// name.ParseReference with weak validation (a tag reference, else a digest reference), so that
// "foo:bar:baz", upper-case repositories or control characters are refused with the same words.

const REPOSITORY_CHARS = /^[a-z0-9_\-./]+$/;
const TAG_CHARS = /^[a-zA-Z0-9_\-.]+$/;
// What Go's url.Parse("//" + name) keeps as the whole host: a reg-name or [IPv6], optional port.
const REGISTRY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=%]*|\[[0-9A-Fa-f:.]+\])(?::\d*)?$/;

function validRepository(name: string): boolean {
  if (name.length === 0) return false;
  const slash = name.indexOf('/');
  let repo = name;
  if (slash >= 0) {
    const maybeRegistry = name.slice(0, slash);
    if (maybeRegistry === 'localhost' || /[.:]/.test(maybeRegistry)) {
      if (!REGISTRY.test(maybeRegistry)) return false;
      repo = name.slice(slash + 1);
    }
  }
  // Go counts runes; any non-ASCII rune fails the character check anyway, so length is enough.
  return repo.length >= 1 && repo.length <= 255 && REPOSITORY_CHARS.test(repo);
}

function validTag(name: string): boolean {
  const parts = name.split(':');
  let base = name;
  const last = parts[parts.length - 1]!;
  // A last ":part" holding a "/" is a registry port, not a tag.
  if (parts.length > 1 && !last.includes('/')) {
    if (last === '' || last.length > 128 || !TAG_CHARS.test(last)) return false;
    base = parts.slice(0, -1).join(':');
  }
  return validRepository(base);
}

function validDigest(name: string): boolean {
  const parts = name.split('@');
  if (parts.length !== 2) return false;
  const [base, digest] = parts as [string, string];
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) return false;
  return validTag(base);
}

/** undefined when the reference parses, else go-containerregistry's error text. */
export function imageReferenceError(image: string): string | undefined {
  if (validTag(image) || validDigest(image)) return undefined;
  return `could not parse reference: ${image}`;
}

// Request-aware routing: rule matching, the sticky mapping, the router's resolution order, what a
// Route programs, and the admission checks of the routing annotations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestView, compileRuleMatch, compileValueMatch, cookieValue, parseCookies } from '../../src/dataplane/match.js';
import { SPACE, pointOfCookie, pointOfKey, slotOf, stickyLayout } from '../../src/dataplane/sticky.js';
import { RoutingTable } from '../../src/dataplane/router.js';
import { hostRoutesFor } from '../../src/controllers/route-ingress.js';
import { parseSticky, validateRoutingAnnotations } from '../../src/api/traffic-annotations.js';
import { formatFieldErrors } from '../../src/api/field-error.js';

test('value matches: exact, prefix, anchored regex; absent values never match', () => {
  const rows: [Parameters<typeof compileValueMatch>[0], string | undefined, boolean][] = [
    [{ exact: 'beta' }, 'beta', true],
    [{ exact: 'beta' }, 'Beta', false],
    [{ exact: 'beta' }, undefined, false],
    [{ prefix: 'be' }, 'beta', true],
    [{ prefix: 'be' }, 'abe', false],
    [{ regex: '.*@example\\.com' }, 'ann@example.com', true],
    [{ regex: 'example' }, 'ann@example.com', false],
    [{ regex: '.*' }, undefined, false],
  ];
  for (const [m, v, want] of rows) assert.equal(compileValueMatch(m)(v), want, `${JSON.stringify(m)} on ${String(v)}`);
});

test('rules need every header and cookie to match; cookies parsed once, first wins', () => {
  assert.deepEqual(
    [...parseCookies('a=1; b="two"; a=3; junk; =x')],
    [
      ['a', '1'],
      ['b', 'two'],
    ],
  );
  const rule = compileRuleMatch({ headers: { 'X-Group': { exact: 'beta' } }, cookies: { canary: { prefix: 'y' } } });
  const view = (h: Record<string, string | string[]>) => new RequestView(h);
  assert.equal(rule(view({ 'x-group': 'beta', cookie: 'canary=yes' })), true);
  assert.equal(rule(view({ 'x-group': 'beta' })), false);
  assert.equal(rule(view({ 'x-group': 'alpha', cookie: 'canary=yes' })), false);
  assert.equal(compileRuleMatch({})(view({})), false, 'a rule without matches matches nothing');
});

test('sticky layout: ranges tile the line in target order, sized by weight', () => {
  const ends = stickyLayout([10, 90]);
  assert.deepEqual(ends, [Math.floor(SPACE / 10), SPACE]);
  assert.equal(slotOf(ends, 0), 0);
  assert.equal(slotOf(ends, ends[0] - 1), 0);
  assert.equal(slotOf(ends, ends[0]), 1);
  assert.equal(slotOf(ends, SPACE - 1), 1);
  assert.deepEqual(stickyLayout([0, 50, 50]), [0, SPACE / 2, SPACE]);
  assert.equal(slotOf(stickyLayout([0, 100]), 0), 1, 'a zero weight gets no clients');
  assert.equal(pointOfCookie('0000000a'), 10);
  assert.equal(pointOfCookie('xyz'), undefined);
  assert.equal(pointOfCookie('0000000A'), undefined, 'only the gateway-issued lower-case form');
});

test('sticky mapping: 10,000 keys follow the weights; growing the newest moves exactly the clients it gains', () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => pointOfKey(`user-${i}`));
  const assign = (w: number[]) => {
    const ends = stickyLayout(w);
    return keys.map((p) => slotOf(ends, p));
  };
  let prev = assign([0, 100]);
  for (const canary of [5, 10, 20, 50, 100]) {
    const cur = assign([canary, 100 - canary]);
    const share = cur.filter((s) => s === 0).length / keys.length;
    assert.ok(Math.abs(share - canary / 100) < 0.02, `canary ${canary}%: share ${share}`);
    const moved = cur.filter((s, i) => s !== prev[i]);
    // Only towards the canary: nobody goes back.
    assert.ok(
      moved.every((s) => s === 0),
      `canary ${canary}%`,
    );
    prev = cur;
  }
});

test('router: rules before the split, sticky keys stable and weight-following, plain hosts untouched', () => {
  const t = new RoutingTable<string>();
  const split = [
    { revisionKey: 'ns/new', percent: 20 },
    { revisionKey: 'ns/old', percent: 80 },
  ];
  t.replace(
    [
      { host: 'plain', targets: split },
      {
        host: 'rules',
        targets: split,
        rules: [{ headers: { 'x-group': { exact: 'beta' } }, targets: [{ revisionKey: 'ns/beta', percent: 100 }] }],
      },
      { host: 'sticky-header', targets: split, sticky: { from: 'header', name: 'x-user' } },
      { host: 'sticky-cookie', targets: split, sticky: { from: 'set-cookie', name: 'sluice-sticky' } },
    ],
    (k) => k,
  );
  assert.equal(t.resolve({ host: 'rules', 'x-group': 'beta' }).target, 'ns/beta');
  const others = Array.from({ length: 10 }, () => t.resolve({ host: 'rules', 'x-group': 'alpha' }).target);
  assert.deepEqual(others.filter((x) => x === 'ns/new').length, 2, 'non-matching requests follow the 20/80 split');
  assert.ok(t.referencedKeys().has('ns/beta'), 'rule targets are kept alive');

  // The same key always lands on the same revision; across many keys the share is the weight.
  const of = (user: string) => t.resolve({ host: 'sticky-header', 'x-user': user }).target;
  for (let i = 0; i < 50; i++) assert.equal(of(`u${i}`), of(`u${i}`));
  const onNew = Array.from({ length: 5000 }, (_, i) => of(`u${i}`)).filter((x) => x === 'ns/new').length / 5000;
  assert.ok(Math.abs(onNew - 0.2) < 0.03, `share ${onNew}`);

  // Gateway-issued cookie: a new client gets one; with it, the client stays put.
  const first = t.resolve({ host: 'sticky-cookie' });
  assert.ok(first.target !== undefined && first.setCookie, 'a new client is given a cookie');
  const value = /^sluice-sticky=([0-9a-f]{8});/.exec(first.setCookie)![1];
  for (let i = 0; i < 5; i++) {
    const again = t.resolve({ host: 'sticky-cookie', cookie: `other=1; sluice-sticky=${value}` });
    assert.equal(again.target, first.target);
    assert.equal(again.target === undefined ? 'x' : again.setCookie, undefined, 'no new cookie for a known client');
  }
  const plain = t.lookup('plain')!;
  assert.equal(plain.special, undefined, 'a plain split has no request-reading path');
  assert.ok(
    plain.split.schedule.includes(t.resolve({ host: 'plain', cookie: 'sluice-sticky=00000000' }) as never),
    'answers come from the precomputed cycle',
  );
});

test('route ingress: tag header rules first, then traffic rules; sticky targets newest first; tags keep their hosts', () => {
  const targets = [
    { revisionName: 'svc-00001', latestRevision: false, percent: 90, tag: 'stable' },
    { revisionName: 'svc-00002', latestRevision: true, configurationName: 'svc', percent: 10, tag: 'canary' },
  ];
  const hosts = hostRoutesFor('ns', 'svc', 'example.com', targets, {
    tagHeaderRouting: true,
    rules: [
      { tag: 'canary', cookies: { canary: { exact: 'always' } } },
      { tag: 'nope', headers: { x: { exact: 'y' } } },
    ],
    sticky: { from: 'set-cookie', name: 'sluice-sticky' },
  });
  assert.deepEqual(hosts[0], {
    host: 'svc.ns.example.com',
    targets: [
      { revisionKey: 'ns/svc-00002', percent: 10 },
      { revisionKey: 'ns/svc-00001', percent: 90 },
    ],
    rules: [
      { headers: { 'knative-serving-tag': { exact: 'stable' } }, targets: [{ revisionKey: 'ns/svc-00001', percent: 100 }] },
      { headers: { 'knative-serving-tag': { exact: 'canary' } }, targets: [{ revisionKey: 'ns/svc-00002', percent: 100 }] },
      { cookies: { canary: { exact: 'always' } }, targets: [{ revisionKey: 'ns/svc-00002', percent: 100 }] },
    ],
    sticky: { from: 'set-cookie', name: 'sluice-sticky' },
  });
  assert.deepEqual(
    hosts.slice(1).map((h) => h.host),
    ['stable-svc.ns.example.com', 'canary-svc.ns.example.com'],
  );
  assert.equal(hostRoutesFor('ns', 'svc', 'example.com', targets)[0].rules, undefined, 'no header rules unless enabled');
});

test('admission: routing annotations are checked with clear messages', () => {
  const check = (anns: Record<string, string>, tags: string[] = ['canary']) =>
    formatFieldErrors(validateRoutingAnnotations(anns, new Set(tags)));
  assert.equal(check({ 'serving.knative.dev/rollout-duration': '120s' }), '');
  assert.equal(check({ 'serving.knative.dev/rollout-duration': 'soon' }), 'invalid value: soon: serving.knative.dev/rollout-duration');
  assert.equal(
    check({ 'serving.knative.dev/rollout-duration': '1.5s' }),
    'rollout-duration=1.5s is not at second precision: serving.knative.dev/rollout-duration',
  );
  assert.equal(
    check({ 'serving.knative.dev/rollout-duration': '-5s' }),
    'rollout-duration=-5s must be positive: serving.knative.dev/rollout-duration',
  );
  assert.equal(check({ 'sluice.dev/traffic-rules': '- tag: canary\n  headers:\n    x-group: beta\n' }), '');
  assert.equal(
    check({ 'sluice.dev/traffic-rules': '- tag: beta\n  headers:\n    x-group: beta\n' }),
    'tag "beta" is not a tag in spec.traffic (tags: canary): sluice.dev/traffic-rules[0].tag',
  );
  assert.equal(
    check({ 'sluice.dev/traffic-rules': '- tag: canary\n' }),
    'a rule needs at least one header or cookie to match: sluice.dev/traffic-rules[0]',
  );
  assert.equal(
    check({ 'sluice.dev/traffic-rules': '- tag: canary\n  cookies:\n    c: {regex: "("}\n' }),
    'not a valid regular expression: Invalid regular expression: /(/: Unterminated group: sluice.dev/traffic-rules[0].cookies.c.regex',
  );
  assert.equal(
    check({ 'sluice.dev/traffic-rules': '- tag: canary\n  headers:\n    x: {exact: a, prefix: b}\n' }),
    'expected exactly one of exact, prefix or regex, with a string value: sluice.dev/traffic-rules[0].headers.x',
  );
  assert.equal(
    check({ 'sluice.dev/traffic-rules': 'tag: canary' }),
    'must be a list of rules, each with a tag and headers and/or cookies: sluice.dev/traffic-rules',
  );
  assert.equal(check({ 'sluice.dev/sticky': 'header:X-User' }), '');
  assert.deepEqual(parseSticky('header:X-User'), { from: 'header', name: 'x-user' });
  assert.equal(
    check({ 'sluice.dev/sticky': 'always' }),
    'invalid value: always (want set-cookie, set-cookie:NAME, header:NAME or cookie:NAME): sluice.dev/sticky',
  );
});

test('cookie lookup by scanning agrees with parsing the whole header', () => {
  const headers = ['a=1; b=2', 'xa=1; a=2', 'a =3;a=4', ' a=5', 'b=1', 'ab=1; a=', 'a="q"; a=z', '', 'sluice-sticky=1a2b3c4d; theme=dark'];
  for (const h of headers)
    for (const name of ['a', 'b', 'sluice-sticky']) assert.equal(cookieValue(h, name), parseCookies(h).get(name), `${name} in "${h}"`);
});

// `sluice describe secret` shows keys and sizes, never the values (as kubectl describe does).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeSecret } from '../../src/cli/commands/describe.js';

test('describe secret: each key with its decoded size, no value in the output', () => {
  const out = describeSecret({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'default' },
    type: 'Opaque',
    data: { password: Buffer.from('s3cr3t-value').toString('base64') },
  });
  assert.match(out, /^Name:\s+db$/m);
  assert.match(out, /^Type:\s+Opaque$/m);
  assert.match(out, /^password:\s+12 bytes$/m);
  assert.doesNotMatch(out, /s3cr3t|czNjcjN0/);
});

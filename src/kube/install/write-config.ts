// Writes the generated manifests of config/ (npm run gen:config). Hand-written ones (namespace,
// RBAC, Deployments, ConfigMaps) live in config/ beside them; test/unit/kube-config.test.ts fails
// when a generated file is out of date with the registry or the schemas.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedConfig } from './manifests.js';

const dir = process.argv[2] ?? 'config';
for (const [file, text] of Object.entries(generatedConfig())) {
  writeFileSync(join(dir, file), text);
  process.stdout.write(`wrote ${join(dir, file)}\n`);
}

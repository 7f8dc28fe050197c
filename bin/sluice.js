#!/usr/bin/env node
// Thin launcher: the CLI lives in compiled TypeScript under dist/.
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2)));

// The harness's programs (relay.js, node-agent/main.js, cli.js) live under dist/test/, where
// `node --test dist/test/` also picks up every .js file as a test. Run that way, without their
// arguments, they must do nothing and pass instead of starting anything.

/** Exits quietly when started by the test runner without arguments; otherwise prints usage and exits 2. */
export function requireArguments(ok: boolean, usage: string): void {
  if (ok) return;
  if (process.env.NODE_TEST_CONTEXT) process.exit(0);
  process.stderr.write(`usage: ${usage}\n`);
  process.exit(2);
}

// Debian's Chromium driven by playwright-core, for the console's browser tests: headless, in a
// fresh profile directory, never a downloaded browser. Screenshots go to a temp dir that is kept
// (its path is printed as a test diagnostic) so a failing run can be looked at.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page screenshot under the artifacts dir; returns its path. */
  screenshot(name: string): Promise<string>;
  artifacts: string;
  /** Errors the page threw, and failed requests: a test asserts there were none. */
  problems: string[];
}

export async function startBrowser(t: { after: (fn: () => unknown) => void; diagnostic: (msg: string) => void }): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  const artifacts = mkdtempSync(join(tmpdir(), 'sluice-console-shots-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1300 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  t.diagnostic(`screenshots in ${artifacts}`);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // The event stream is cut when the test ends; that is not a page problem.
    if (!r.url().includes('/api/v1/stream')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  return {
    context,
    page,
    artifacts,
    problems,
    async screenshot(name) {
      const path = join(artifacts, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
}

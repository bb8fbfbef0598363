import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium); playwright-core never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where UI tests save screenshots (a CI artifact directory; not in git). */
export const SCREENSHOTS = path.resolve(import.meta.dirname, '..', '..', 'test-results', 'ui');

export function chromiumAvailable(): boolean {
  return fs.existsSync(CHROMIUM);
}

/**
 * Launches headless Chromium (Playwright gives it a fresh temporary profile).
 * @param hostRules Chromium `--host-resolver-rules`, e.g. "MAP rebind.test 127.0.0.1" (DNS rebinding).
 */
export async function launchChromium(hostRules?: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...(hostRules ? [`--host-resolver-rules=${hostRules}`] : []),
    ],
  });
}

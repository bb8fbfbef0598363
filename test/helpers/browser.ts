import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

import { CHROMIUM } from './requirements.ts';

export { CHROMIUM };

/** Where UI tests save screenshots (a CI artifact directory; not in git). */
export const SCREENSHOTS = path.resolve(import.meta.dirname, '..', '..', 'test-results', 'ui');

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

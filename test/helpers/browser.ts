import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), or CHROMIUM_PATH. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Starts headless Chromium as this machine allows: no sandbox (root in CI), no GPU, no network chatter. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** Where the browser tests put their screenshots (IGW_SCREENSHOTS, else a folder in the temp dir). */
export function screenshotDir(): string {
  const dir = process.env['IGW_SCREENSHOTS'] ?? join(tmpdir(), 'igw-console-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

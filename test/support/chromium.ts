import { chromium, type Browser } from 'playwright-core';

/** Headless Chromium from Debian's package (CHROMIUM_PATH overrides), for the tests of the server-rendered pages. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

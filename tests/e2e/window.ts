/**
 * The built window in headless Debian Chromium, shared by the browser tests: the UI and the sidecar
 * built when missing (building the UI always would empty resources/dist under the other browser
 * tests running at the same time; `npm test` builds both first), Chromium kept off the network, and
 * the ways into the window's areas that several tests take.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildSidecarOnce, ROOT } from '../neutralino/build-once.js';

export async function buildAppOnce(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'resources/dist/index.html'))) {
    const { build } = await import('vite');
    await build({ configFile: path.join(ROOT, 'vite.config.ts'), logLevel: 'error' });
  }
  await buildSidecarOnce();
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Until the window is connected to the sidecar (its state, not its label, which is words). */
export function whenConnected(page: Page, timeout = 20_000): Promise<void> {
  return page.locator('[data-testid="connection"][data-state="ready"]').waitFor({ timeout });
}

const SETTINGS_TABS = ['providers', 'models', 'vault', 'run'];

/** Opens an area (chat, workflows, history, settings) or one of Settings' tabs (providers, models, vault, run). */
export async function openTab(page: Page, name: string): Promise<void> {
  if (SETTINGS_TABS.includes(name)) await page.getByTestId('tab-settings').click();
  await page.getByTestId(`tab-${name}`).click();
}

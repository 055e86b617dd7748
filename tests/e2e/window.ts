/**
 * The built window in headless Debian Chromium, shared by the browser tests: the UI and the sidecar
 * built when missing (building the UI always would empty resources/dist under the other browser
 * tests running at the same time; `npm test` builds both first), Chromium kept off the network, and
 * the ways into the window's areas that several tests take.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildSidecarOnce, ROOT } from '../neutralino/build-once.js';
import { startNeutralinoStandIn, type StandIn } from '../neutralino/runtime.js';

/** What every window test starts from: a fresh data folder, the app on it under the stand-in runtime, Chromium. */
export interface AppWindow {
  readonly dataDir: string;
  readonly runtime: StandIn;
  readonly browser: Browser;
}

export async function startAppWindow(dataPrefix: string): Promise<AppWindow> {
  await buildAppOnce();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), dataPrefix));
  const runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir } });
  return { dataDir, runtime, browser: await launchChromium() };
}

/** Closes whatever `startAppWindow` got to start (parts are missing when it failed half way). */
export async function closeAppWindow({ dataDir, runtime, browser }: Partial<AppWindow>): Promise<void> {
  await browser?.close();
  await runtime?.close();
  runtime?.killAll();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}

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

/**
 * The first screen comes with the page (issue 13, launch to input): index.html carries it, rendered at
 * build time, so the window takes typing before the app's script has run. Here the app's script is
 * held back while a person types into that screen; once the app mounts, the text, the caret and the
 * focus are the app's, and its state holds the text (a re-render does not wipe it), through the first
 * launch's welcome screen too.
 */
import type { Page, Route } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeAppWindow, startAppWindow, type AppWindow } from './window.js';

// A window (stand-in runtime, sidecar, Chromium) per test: each loads the page once.
let win: AppWindow | undefined;
let page: Page;
beforeEach(async () => {
  win = await startAppWindow('sim-first-screen-');
}, 120_000);
afterEach(async () => {
  await closeAppWindow(win ?? {});
  win = undefined;
});

/** A page whose entry script waits until `release` is called: what the window shows before the app runs. */
async function pageWithAppHeld(): Promise<{ page: Page; release: () => void }> {
  const { browser, runtime } = win as AppWindow;
  const opened = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await opened.route(/\/assets\/index-[^/]*\.js$/, async (route: Route) => {
    await held;
    await route.continue();
  });
  await opened.goto(runtime.url, { waitUntil: 'commit' });
  return { page: opened, release };
}

describe('the first screen, before the app has run', () => {
  it('takes typing, and the app keeps the text, the caret and the focus', async () => {
    let release: () => void;
    ({ page, release } = await pageWithAppHeld());
    await page.getByTestId('search').fill('no such title');
    const prompt = page.getByTestId('prompt');
    await prompt.click();
    await page.keyboard.type('typed before the app ran');
    await page.keyboard.press('Home');
    // The app has not run: this is index.html's first screen.
    expect(await page.locator('#app').getAttribute('data-shell')).toBe('');
    release();
    await page.locator('#app:not([data-shell])').waitFor();
    // Typing goes on where the caret was, in the app's own field.
    await page.keyboard.type('» ');
    expect(await prompt.inputValue()).toBe('» typed before the app ran');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('prompt');
    // The text reached the app's state, not only the field: the list searches for it.
    await page.getByText('Nothing matches.').waitFor();
    expect(await page.getByTestId('search').inputValue()).toBe('no such title');
    // A first launch (nothing to talk to yet): once connected, the welcome screen takes the chat's
    // place and says the message is kept; it is in the box again once a way in has been chosen.
    await page.getByTestId('welcome').waitFor({ timeout: 15_000 });
    await page.getByTestId('welcome-kept').waitFor();
    await expect.poll(() => page.getByTestId('cloud-provider').locator('option').count()).toBeGreaterThan(0);
    await page.getByTestId('cloud-provider').selectOption('openai');
    // Nothing listens there: the key is saved, its models just do not list (loopback only, ever).
    await page.getByTestId('cloud-url').fill('http://127.0.0.1:9/v1');
    await page.getByTestId('cloud-key').fill('sk-first-screen-0123456789abcdef');
    await page.getByTestId('cloud-passphrase').fill('a long first passphrase');
    await page.getByTestId('cloud-save').click();
    await page.getByTestId('chat').waitFor({ timeout: 15_000 });
    expect(await prompt.inputValue()).toBe('» typed before the app ran');
  }, 120_000);

  it('holds clicks on its buttons until the app is there to act on them', async () => {
    let release: () => void;
    ({ page, release } = await pageWithAppHeld());
    await page.getByTestId('tab-history').waitFor();
    const click = page.getByTestId('tab-history').click();
    await new Promise((r) => setTimeout(r, 300));
    release();
    await click;
    expect(await page.getByTestId('tab-history').getAttribute('aria-current')).toBe('page');
  }, 60_000);
});

/**
 * Issue 12: links in model output never navigate the window or open anything, by any click (left,
 * middle, with Ctrl/Shift/Meta/Alt), in every view that shows output: a conversation's answers (the
 * main view), the single-run view under Settings, and History. In
 * headless Chromium on the built UI, served by the Neutralino stand-in with the real sidecar.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageClient } from '../neutralino/page-client.js';
import type { StandIn } from '../neutralino/runtime.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { closeAppWindow, startAppWindow, whenConnected } from '../e2e/window.js';

const OUTPUT = [
  'Read [the docs](https://example.com/docs) or ',
  'https://example.org/auto and ',
  '<a href="https://example.net/raw" target="_blank">this</a> and ',
  '<a href="http://127.0.0.1:9/local">that</a>.',
];
let runtime: StandIn;
let openai: OpenAIServer;
let browser: Browser;
let page: Page;
let dataDir: string;
let appUrl: string;
const opened: string[] = [];
const navigations: string[] = [];
const offPageRequests: string[] = [];

beforeAll(async () => {
  openai = await startOpenAIServer();
  ({ dataDir, runtime, browser } = await startAppWindow('sim-links-'));
  const setup = await PageClient.connect(runtime);
  await setup.waitForSidecar();
  for (const [command, params] of [
    ['vault_init', { passphrase: 'a long and honest passphrase' }],
    ['update_provider', { provider: 'openai', baseURL: `${openai.url}/v1` }],
    ['set_secret', { provider: 'openai', secret: 'sk-proj-LINKSlinksLINKSlinks12345' }],
  ] as const) {
    const reply = await setup.request(command, params);
    if (!reply.ok) throw new Error(reply.error.message);
  }
  setup.close();
  const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
  context.on('page', (p) => opened.push(p.url()));
  page = await context.newPage();
  appUrl = runtime.url;
  page.on('framenavigated', (frame) => frame === page.mainFrame() && navigations.push(frame.url()));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol.startsWith('http') && url.port !== String(runtime.port)) offPageRequests.push(request.url());
  });
  await page.goto(appUrl);
  await whenConnected(page);
}, 120_000);

afterAll(async () => {
  await closeAppWindow({ dataDir, runtime, browser });
  await openai?.close();
});

/** Every kind of click on every link in `output`; then nothing may have moved or opened. */
async function clickEverything(output: Locator): Promise<void> {
  const links = output.locator('a');
  expect(await links.count()).toBe(4);
  const before = navigations.length;
  for (let i = 0; i < 4; i += 1) {
    const link = links.nth(i);
    expect(await link.getAttribute('href')).toBeNull();
    expect(await link.getAttribute('title')).toMatch(/^https?:\/\//);
    await link.click();
    await link.click({ button: 'middle' });
    for (const modifier of ['Control', 'Shift', 'Meta', 'Alt'] as const) await link.click({ modifiers: [modifier] });
    await link.click({ button: 'middle', modifiers: ['Control'] });
    await link.dblclick();
  }
  await page.waitForTimeout(500);
  expect(page.url()).toBe(appUrl);
  expect(navigations.slice(before)).toEqual([]);
  expect(opened.filter((u) => u !== appUrl && u !== 'about:blank')).toEqual([]);
  expect(browser.contexts()[0]?.pages()).toHaveLength(1);
  expect(offPageRequests).toEqual([]);
}

describe('links in model output', () => {
  it('attack: in a conversation\'s answer, no click of any kind follows a link', async () => {
    openai.script({ kind: 'ok', tokens: OUTPUT });
    // The window opens on the chat (a key is stored, so no welcome screen).
    await page.getByTestId('chat').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByTestId('provider').locator('option').allTextContents(), { timeout: 15_000 }).toContainEqual(expect.stringMatching(/^OpenAI/i));
    await page.getByTestId('provider').selectOption('openai');
    await expect.poll(() => page.getByTestId('provider').inputValue()).toBe('openai');
    // The model field becomes a list once the stand-in's models are in.
    await expect.poll(() => page.getByTestId('model').evaluate((e) => e.tagName), { timeout: 10_000 }).toBe('SELECT');
    await page.getByTestId('model').selectOption('gpt-4o-mini');
    await page.getByTestId('prompt').fill('links please');
    await expect.poll(() => page.getByTestId('send').isEnabled(), { message: (await page.getByTestId('send-reason').textContent()) ?? '' }).toBe(true);
    await page.getByTestId('prompt').press('Enter');
    const answer = page.getByTestId('message-assistant').last();
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
    await clickEverything(answer.getByTestId('answer-text'));
  });

  it('attack: in the single-run view, no click of any kind follows a link', async () => {
    openai.script({ kind: 'ok', tokens: OUTPUT });
    // The single run is a tab of Settings, next to Providers (which loads the provider list it offers).
    await page.getByTestId('tab-settings').click();
    await page.getByTestId('tab-providers').click();
    await page.getByTestId('provider-openai').waitFor();
    await page.getByTestId('tab-run').click();
    await expect.poll(() => page.getByTestId('provider').locator('option').allTextContents(), { timeout: 15_000 }).toContainEqual(expect.stringMatching(/^openai/));
    await page.getByTestId('provider').selectOption('openai');
    await page.getByTestId('model').fill('gpt-4o-mini');
    await page.getByTestId('prompt').fill('links please');
    await page.getByTestId('run').click();
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('completed');
    await clickEverything(page.getByTestId('output'));
  });

  it('attack: in History, no click of any kind follows a link', async () => {
    await page.getByTestId('tab-history').click();
    await page.locator('[data-testid="history"] tbody tr').first().click();
    const output = page.getByTestId('history-detail').getByTestId('answer-text');
    await output.locator('a').first().waitFor({ timeout: 10_000 });
    await clickEverything(output);
    // The links still say where they point.
    expect(await output.textContent()).toContain('https://example.org/auto');
  });
});

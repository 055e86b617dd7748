/**
 * Issue 12 in the window (Chromium, built UI, real sidecar): each key's origin is shown beside its
 * hint; "Set URL" to another host sends nothing anywhere (no model list right after a change) and
 * shows the dialog naming the new host; only the vault passphrase there lets the key go to it; a
 * keyless LAN server over plain http is marked as unencrypted.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StandIn } from '../neutralino/runtime.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { closeAppWindow, startAppWindow, whenConnected } from '../e2e/window.js';

const KEY = 'sk-proj-UIuiUIuiORIGINorigin7788';
const PASSPHRASE = 'a long and honest passphrase';
let runtime: StandIn;
let home: OpenAIServer;
let evil: OpenAIServer;
let browser: Browser;
let page: Page;
let dataDir: string;
const sent: string[] = [];

beforeAll(async () => {
  [home, evil] = await Promise.all([startOpenAIServer(), startOpenAIServer()]);
  ({ dataDir, runtime, browser } = await startAppWindow('sim-ui-origin-'));
  page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
  await page.goto(runtime.url);
  // The connection's label is words; its state is in data-state. Vault and Providers are under Settings.
  await whenConnected(page);
  await page.getByTestId('tab-settings').click();
  await page.getByTestId('tab-vault').click();
  await page.getByTestId('passphrase').fill(PASSPHRASE);
  await page.getByTestId('passphrase-confirm').fill(PASSPHRASE);
  await page.getByTestId('vault-create').click();
  await page.locator('[data-testid="vault-state"][data-state="unlocked"]').waitFor({ timeout: 20_000 });
}, 120_000);

afterAll(async () => {
  await closeAppWindow({ dataDir, runtime, browser });
  await Promise.all([home?.close(), evil?.close()]);
});

const card = () => page.getByTestId('provider-openai');
const commandsSince = (mark: number) => sent.slice(mark).map((f) => /"command":"(\w+)"/.exec(f)?.[1]).filter(Boolean);

describe('origins in the Providers view', () => {
  it('shows the origin a key was entered for beside its hint', async () => {
    await page.getByTestId('tab-providers').click();
    await card().getByTestId('url-openai').fill(`${home.url}/v1`);
    await card().getByTestId('save-url-openai').click();
    await card().getByTestId('key-openai').fill(KEY);
    await card().getByTestId('save-key-openai').click();
    await expect.poll(() => card().getByTestId('key-origin-openai').textContent()).toContain(new URL(home.url).origin);
    expect(await card().getByTestId('key-state-openai').textContent()).toBe('Key stored …7788');
  });

  it('attack: Set URL to another host sends nothing, asks for confirmation naming the host, and the key reaches it only after the passphrase', async () => {
    const mark = sent.length;
    await card().getByTestId('url-openai').fill(`${evil.url}/v1`);
    await card().getByTestId('save-url-openai').click();
    const dialog = page.getByTestId('confirm-origin-openai');
    await dialog.waitFor({ timeout: 10_000 });
    expect(await dialog.textContent()).toContain(new URL(evil.url).origin);
    await page.waitForTimeout(500);
    // No model list (or anything else that contacts a provider) right after the change.
    expect(commandsSince(mark)).not.toContain('list_models');
    expect(commandsSince(mark)).not.toContain('test_connection');
    expect(evil.requests).toHaveLength(0);

    await page.getByTestId('confirm-passphrase-openai').fill('not the passphrase');
    await page.getByTestId('confirm-origin-submit-openai').click();
    await expect.poll(() => page.getByTestId('providers-error').textContent(), { timeout: 10_000 }).toMatch(/passphrase/);
    await card().getByTestId('test-openai').click();
    await page.waitForTimeout(500);
    expect(JSON.stringify(evil.requests.map((r) => r.headers))).not.toContain(KEY);

    await page.getByTestId('confirm-passphrase-openai').fill(PASSPHRASE);
    await page.getByTestId('confirm-origin-submit-openai').click();
    await expect.poll(() => card().getByTestId('key-origin-openai').textContent(), { timeout: 15_000 }).toContain(new URL(evil.url).origin);
    expect(await page.getByTestId('confirm-origin-openai').count()).toBe(0);
    await card().getByTestId('test-openai').click();
    await expect.poll(() => evil.requests.some((r) => r.headers.authorization === `Bearer ${KEY}`), { timeout: 10_000 }).toBe(true);
  }, 90_000);

  it('says that a keyless LAN server over plain http is unencrypted', async () => {
    const ollama = page.getByTestId('provider-ollama');
    await ollama.getByTestId('url-ollama').fill('http://192.168.1.50:11434');
    await ollama.getByTestId('save-url-ollama').click();
    await expect.poll(() => ollama.getByTestId('unencrypted-ollama').textContent(), { timeout: 10_000 }).toMatch(/unencrypted/);
  });
});

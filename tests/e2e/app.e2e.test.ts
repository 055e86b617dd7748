/**
 * End to end: the built UI in headless Debian Chromium (playwright-core), served by the Neutralino
 * stand-in, with the real sidecar behind it and the OpenAI stand-in as the cloud.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../neutralino/build-once.js';
import type { StandIn } from '../neutralino/runtime.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { closeAppWindow, openTab, startAppWindow, whenConnected } from './window.js';

const KEY = 'sk-proj-E2Ee2eE2Ee2eSECRETsecret5150';
const MODEL = path.resolve(ROOT, '../shared/models/stories260K.gguf');
const SHOTS = path.join(ROOT, 'test-output', 'screenshots');
let runtime: StandIn;
let openai: OpenAIServer;
let browser: Browser;
let page: Page;
let dataDir: string;
/** Everything the page received: HTTP responses and WebSocket frames from the runtime. */
const seenBytes: string[] = [];
const sentFrames: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}
/** An area, or a tab of Settings (vault, providers, the single run). */
const tab = (name: string) => openTab(page, name);

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  openai = await startOpenAIServer();
  ({ dataDir, runtime, browser } = await startAppWindow('sim-e2e-'));
  page = await browser.newPage({ viewport: { width: 900, height: 800 } });
  page.on('response', (response) => void response.text().then((t) => seenBytes.push(t), () => undefined));
  page.on('websocket', (ws) => {
    ws.on('framereceived', (f) => seenBytes.push(String(f.payload)));
    ws.on('framesent', (f) => sentFrames.push(String(f.payload)));
  });
  await page.goto(runtime.url);
  await whenConnected(page);
}, 120_000);

afterAll(async () => {
  await closeAppWindow({ dataDir, runtime, browser });
  await openai?.close();
});

describe('the desktop app, end to end', () => {
  it('creates the vault', async () => {
    await tab('vault');
    await expect.poll(() => page.getByTestId('vault-state').getAttribute('data-state')).toBe('uninitialised');
    await page.getByTestId('passphrase').fill('my long passphrase');
    await page.getByTestId('passphrase-confirm').fill('my long passphrase');
    await page.getByTestId('vault-create').click();
    await expect.poll(() => page.getByTestId('vault-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('unlocked');
    await shot('vault');
  });

  it('stores a key for an OpenAI-compatible endpoint; the page shows only a hint', async () => {
    await tab('providers');
    const card = page.getByTestId('provider-openai');
    await card.getByTestId('url-openai').fill(`${openai.url}/v1`);
    await card.getByTestId('save-url-openai').click();
    await card.getByTestId('key-openai').fill(KEY);
    await card.getByTestId('save-key-openai').click();
    await expect.poll(() => card.getByTestId('key-state-openai').textContent()).toBe('Key stored …5150');
    // The key is sealed with the origin it was entered for: the URL above was set first.
    expect(await card.getByTestId('key-origin-openai').textContent()).toBe(` · sent only to ${new URL(openai.url).origin}`);
    expect(await card.getByTestId('key-openai').inputValue()).toBe('');
    await shot('providers');
  });

  async function runBlock(provider: string, model: string, prompt: string, maxTokens = 64): Promise<void> {
    await tab('run');
    await page.getByTestId('provider').selectOption(provider);
    await page.getByTestId('model').fill(model);
    await page.getByTestId('prompt').fill(prompt);
    await page.getByTestId('max-tokens').fill(String(maxTokens));
    await page.getByTestId('run').click();
  }
  const runStatus = () => page.getByTestId('run-status').getAttribute('data-status');

  it('runs a block and shows tokens as they arrive, then the stats', async () => {
    openai.script({ kind: 'slow', intervalMs: 60, count: 20 });
    await runBlock('openai', 'gpt-4o-mini', 'Count for me');
    await expect.poll(() => page.getByTestId('output').textContent(), { timeout: 10_000 }).toMatch(/t0 t1/);
    const partial = (await page.getByTestId('output').textContent()) ?? '';
    expect(partial).not.toMatch(/t19/);
    await expect.poll(runStatus, { timeout: 10_000 }).toBe('completed');
    expect(await page.getByTestId('output').textContent()).toMatch(/t19/);
    expect(await page.getByTestId('outcome').textContent()).toMatch(/Finished.*tok\/s/s);
    await shot('run');
  });

  it('stops a slow run mid-stream with Esc, and History records it as cancelled', async () => {
    openai.script({ kind: 'slow', intervalMs: 50, count: 400 });
    await runBlock('openai', 'gpt-4o-mini', 'Go on forever');
    await expect.poll(() => page.getByTestId('output').textContent(), { timeout: 10_000 }).toMatch(/t2 /);
    await page.getByTestId('prompt').press('Escape');
    await expect.poll(runStatus, { timeout: 10_000 }).toBe('cancelled');
    await tab('history');
    await expect.poll(() => page.locator('[data-testid="history"] tbody tr').first().getAttribute('data-status'), { timeout: 10_000 }).toBe('cancelled');
    await page.locator('[data-testid="history"] tbody tr').first().click();
    await expect.poll(() => page.getByTestId('history-detail').textContent()).toMatch(/Stopped/);
    await shot('history');
  });

  it('runs the local model in-process', async () => {
    await runBlock('local', MODEL, 'Once upon a time', 40);
    await expect.poll(runStatus, { timeout: 60_000 }).toBe('completed');
    expect(await page.getByTestId('output').textContent()).toMatch(/\b(there|was|a|little|girl|boy)\b/);
    await shot('run-local');
  });

  it('renders hostile model output inert: no script runs, no native call is made', async () => {
    const hostile = [
      'Here: <img src=x onerror="window.__pwned=1;Neutralino.os.execCommand(\'touch /tmp/pwned\')">',
      '<script>window.__pwned=2</script>',
      '[click](javascript:window.__pwned=3) <a href="javascript:alert(1)">x</a>',
    ];
    openai.script({ kind: 'ok', tokens: hostile });
    const before = runtime.nativeCallLog.length;
    await runBlock('openai', 'gpt-4o-mini', 'Be evil');
    await expect.poll(runStatus, { timeout: 10_000 }).toBe('completed');
    await page.getByTestId('output').locator('a').first().click().catch(() => undefined);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.getByTestId('output').locator('script, [onerror], a[href^="javascript"]').count()).toBe(0);
    const calls = runtime.nativeCallLog.slice(before).filter((c) => c.origin === 'app').map((c) => c.method);
    expect(new Set(calls)).toEqual(new Set(['extensions.getStats', 'extensions.dispatch']));
    await shot('hostile-output');
  });

  it('never puts the stored key into any page response, frame or the DOM', async () => {
    const fragments = [KEY, KEY.slice(8, 26)];
    const everything = seenBytes.join('\n') + (await page.content());
    for (const fragment of fragments) expect(everything.includes(fragment), fragment).toBe(false);
    // Controls: the page did send the key once (set_secret) and the vendor stand-in received it.
    expect(sentFrames.filter((f) => f.includes(KEY))).toHaveLength(1);
    expect(openai.requests.some((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
  });

  it('shows the sidecar going away', async () => {
    const [sidecar] = runtime.extensionProcesses;
    const closedAt = await runtime.close();
    const exit = await sidecar?.exited;
    expect((exit?.at ?? Infinity) - closedAt).toBeLessThan(1000);
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 5_000 }).toBe('offline');
  });
});

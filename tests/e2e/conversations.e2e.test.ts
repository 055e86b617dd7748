/**
 * Conversations end to end: the built UI in Chromium, the real sidecar through the Neutralino
 * stand-in, the tiny real GGUF model for local answers and the OpenAI stand-in as the cloud.
 * One app data folder for the whole file, so a restart finds what the earlier steps stored.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_MODELS } from '../local/model-path.js';
import { ROOT } from '../neutralino/build-once.js';
import { startNeutralinoStandIn, type StandIn } from '../neutralino/runtime.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { startFileServer, type FileServerOptions } from '../models/file-server.js';
import { buildAppOnce, launchChromium, whenConnected } from './window.js';

const MODEL = path.join(SHARED_MODELS, 'stories260K.gguf');
const SHOTS = path.join(ROOT, 'test-output', 'screenshots');
const KEY = 'sk-proj-ConvConvConvSECRETsecret4242';
let runtime: StandIn;
let openai: OpenAIServer;
let browser: Browser;
let page: Page;
let dataDir: string;
let modelSource: string;
/** Every URL the page fetched, in order (to see what loads when). */
const fetched: string[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `conversations-${name}.png`), fullPage: false });
const answers = () => page.getByTestId('message-assistant');
const lastAnswer = () => answers().last();
const lastStatus = () => lastAnswer().getAttribute('data-status');

async function startApp(folder = dataDir, env: NodeJS.ProcessEnv = {}): Promise<void> {
  runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: folder, ...env } });
  await page.goto(runtime.url);
  await whenConnected(page);
}

async function stopApp(): Promise<void> {
  const sidecars = [...runtime.extensionProcesses];
  await runtime.close();
  await Promise.all(sidecars.map((s) => s.exited));
}

async function send(text: string): Promise<void> {
  await page.getByTestId('prompt').fill(text);
  // If Send is refused the reason shown under the box is the failure message.
  await expect.poll(() => page.getByTestId('send').isEnabled(), { message: (await page.getByTestId('send-reason').textContent()) ?? '' }).toBe(true);
  await page.getByTestId('prompt').press('Enter');
}

async function sendAndWait(text: string, timeout = 60_000): Promise<void> {
  const before = await answers().count();
  await send(text);
  await expect.poll(() => answers().count(), { timeout: 10_000 }).toBe(before + 1);
  await expect.poll(lastStatus, { timeout }).toBe('complete');
}

/** Opens the conversation's settings (the panel stays as it was left), changes them, closes it. */
async function withSettings(change: () => Promise<void>): Promise<void> {
  if (!(await page.getByTestId('conversation-settings').isVisible())) await page.getByTestId('settings-toggle').click();
  await change();
  await page.getByTestId('settings-apply').click();
  await page.getByTestId('settings-toggle').click();
}
const setMaxTokens = (n: number) => withSettings(() => page.getByTestId('max-tokens').fill(String(n)));

beforeAll(async () => {
  if (!existsSync(MODEL)) throw new Error(`The tiny model is missing: ${MODEL}`);
  await buildAppOnce();
  await mkdir(SHOTS, { recursive: true });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-conv-e2e-'));
  // The file the person "picks" lives outside the app's folder, as a download would.
  modelSource = path.join(await mkdtemp(path.join(os.tmpdir(), 'sim-conv-pick-')), 'stories260K.gguf');
  await writeFile(modelSource, await readFile(MODEL));
  openai = await startOpenAIServer();
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 }, acceptDownloads: true, colorScheme: 'light' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  page = await context.newPage();
  page.on('request', (request) => void fetched.push(request.url()));
  await startApp();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.close();
  runtime?.killAll();
  await openai?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (modelSource) await rm(path.dirname(modelSource), { recursive: true, force: true });
});

describe('conversations, end to end', () => {
  it('first launch offline with no model: the welcome screen, a GGUF picked with the system dialog, a local answer', async () => {
    await page.getByTestId('welcome').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.getByTestId('welcome').textContent()).toMatch(/on this computer/);
    // The catalogue and the cloud providers are offered on the same screen.
    await expect.poll(() => page.getByTestId('catalogue-entry').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('cloud-provider').locator('option').count()).toBeGreaterThan(0);
    await shot('welcome');
    // The markdown renderer (marked, DOMPurify) is not part of a window that shows no message yet.
    const markdownChunk = () => fetched.filter((u) => /\/assets\/markdown-[\w-]+\.js$/.test(u)).length;
    expect(markdownChunk()).toBe(0);
    // On Linux the UI font is fontconfig's sans-serif, not system-ui (WebKitGTK asks GTK for that at
    // the first layout); the runtime's NL_OS picks it.
    expect(await page.evaluate(() => [document.documentElement.dataset.os, getComputedStyle(document.body).fontFamily])).toEqual(['Linux', 'sans-serif']);
    runtime.answerOpenDialog([modelSource]);
    await page.getByTestId('pick-model').click();
    await page.getByTestId('chat').waitFor({ timeout: 20_000 });
    // The page asked the runtime for the dialog, and the sidecar took the file in by its path.
    expect(runtime.openDialogRequests).toHaveLength(1);
    expect(runtime.openDialogRequests[0]?.filters?.[0]?.extensions).toContain('gguf');
    expect(existsSync(path.join(dataDir, 'models', 'stories260K.gguf'))).toBe(true);
    await expect.poll(() => page.getByTestId('provider').inputValue()).toBe('local');
    await expect.poll(() => page.getByTestId('model').inputValue()).toMatch(/stories260K/);
    await setMaxTokens(24);
    await sendAndWait('Once upon a time');
    expect(await lastAnswer().getByTestId('answer-text').textContent()).toMatch(/\w+/);
    expect(await lastAnswer().getByTestId('answer-stats').textContent()).toMatch(/tok\/s.*in.*out/s);
    expect(markdownChunk()).toBe(1);
    await shot('first-answer');
  });

  it('a three-turn local conversation: the third request carries the first two turns', async () => {
    await sendAndWait('The cat sat');
    await sendAndWait('The dog ran');
    expect(await page.getByTestId('message-user').count()).toBe(3);
    expect(await page.getByTestId('context-usage').textContent()).toMatch(/tokens/);
    // What the provider was sent is in the ledger: History shows it.
    await page.getByTestId('tab-history').click();
    await page.locator('[data-testid="history"] tbody tr').first().click();
    const sent = page.getByTestId('history-request');
    await expect.poll(() => sent.locator('[data-role]').count(), { timeout: 10_000 }).toBe(5);
    const text = (await sent.textContent()) ?? '';
    expect(text.indexOf('Once upon a time')).toBeGreaterThanOrEqual(0);
    expect(text.indexOf('The cat sat')).toBeGreaterThan(text.indexOf('Once upon a time'));
    expect(text.indexOf('The dog ran')).toBeGreaterThan(text.indexOf('The cat sat'));
    await shot('history');
    await page.getByTestId('history-open-conversation').click();
    await page.getByTestId('chat').waitFor();
    expect(await page.getByTestId('message-user').count()).toBe(3);
  });

  it('regenerates the last answer in place', async () => {
    const count = await answers().count();
    const stored = await lastAnswer().getAttribute('data-id');
    await lastAnswer().getByTestId('regenerate').click();
    await expect.poll(() => lastAnswer().getAttribute('data-id'), { timeout: 10_000 }).not.toBe(stored);
    await expect.poll(lastStatus, { timeout: 60_000 }).toBe('complete');
    expect(await answers().count()).toBe(count);
  });

  it('edits the first message and resends: what followed it is replaced', async () => {
    await page.getByTestId('message-user').first().getByTestId('edit').click();
    await page.getByTestId('edit-text').fill('Once upon a time there was a fox');
    await page.getByTestId('edit-send').click();
    await expect.poll(() => page.getByTestId('message-user').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(lastStatus, { timeout: 60_000 }).toBe('complete');
    expect(await page.getByTestId('user-text').first().textContent()).toBe('Once upon a time there was a fox');
    expect(await answers().count()).toBe(1);
  });

  it('renames, searches by text, deletes with undo', async () => {
    const item = page.getByTestId('conversation-item').first();
    await item.getByTestId('rename').click();
    await page.getByTestId('rename-input').fill('Fox story');
    await page.getByTestId('rename-input').press('Enter');
    await expect.poll(() => page.getByTestId('chat-title').textContent()).toBe('Fox story');
    await page.keyboard.press('Control+k');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('search');
    await page.keyboard.type('there was a fox');
    await expect.poll(() => page.getByTestId('conversation-title').allTextContents()).toEqual(['Fox story']);
    await page.getByTestId('search').fill('no such words anywhere');
    await expect.poll(() => page.getByTestId('conversation-item').count()).toBe(0);
    await page.getByTestId('search').fill('');
    await expect.poll(() => page.getByTestId('conversation-item').count()).toBe(1);
    await page.getByTestId('conversation-item').first().getByTestId('delete').click();
    await expect.poll(() => page.getByTestId('conversation-item').count()).toBe(0);
    await page.getByTestId('undo-delete').click();
    await expect.poll(() => page.getByTestId('conversation-title').allTextContents()).toEqual(['Fox story']);
    await expect.poll(() => page.getByTestId('chat-title').textContent()).toBe('Fox story');
  });

  it('exports as Markdown and JSON, and imports the JSON back as a new conversation', async () => {
    await page.getByTestId('file-menu').click();
    const [md] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }).catch(async (e: unknown) => { throw new Error(`no download; the chat says: ${await page.getByTestId('chat-error').textContent({ timeout: 500 }).catch(() => 'nothing')}`, { cause: e }); }), page.getByTestId('export-markdown').click()]);
    const markdown = await readFile((await md.path()) ?? '', 'utf8');
    expect(markdown).toMatch(/Fox story/);
    expect(markdown).toMatch(/Once upon a time there was a fox/);
    await page.getByTestId('file-menu').click();
    const [json] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.getByTestId('export-json').click()]);
    const jsonPath = (await json.path()) ?? '';
    expect(JSON.parse(await readFile(jsonPath, 'utf8'))).toBeTruthy();
    await page.getByTestId('import-file').setInputFiles({ name: 'fox.json', mimeType: 'application/json', buffer: await readFile(jsonPath) });
    await expect.poll(() => page.getByTestId('conversation-item').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.getByTestId('user-text').first().textContent()).toBe('Once upon a time there was a fox');
    // A file that is not an export is refused in words, and nothing is added.
    await page.getByTestId('import-file').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
    await expect.poll(() => page.getByTestId('chat-error').textContent(), { timeout: 10_000 }).toMatch(/\w/);
    expect(await page.getByTestId('conversation-item').count()).toBe(2);
  });

  it('a cloud conversation against the OpenAI-compatible stand-in, the key saved into a vault made on the spot', async () => {
    await page.getByTestId('tab-settings').click();
    await page.getByTestId('tab-vault').click();
    await page.getByTestId('passphrase').fill('my long passphrase');
    await page.getByTestId('passphrase-confirm').fill('my long passphrase');
    await page.getByTestId('vault-create').click();
    await expect.poll(() => page.getByTestId('vault-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('unlocked');
    await shot('settings-vault');
    await page.getByTestId('tab-providers').click();
    const card = page.getByTestId('provider-openai');
    await card.getByTestId('url-openai').fill(`${openai.url}/v1`);
    await card.getByTestId('save-url-openai').click();
    await card.getByTestId('key-openai').fill(KEY);
    await card.getByTestId('save-key-openai').click();
    await expect.poll(() => card.getByTestId('key-state-openai').textContent()).toMatch(/…4242/);
    await shot('settings-providers');
    await page.getByTestId('tab-models').click();
    await page.getByTestId('local-models').waitFor();
    await shot('settings-models');
    await page.getByTestId('tab-chat').click();
    await page.keyboard.press('Control+n');
    await page.getByTestId('provider').selectOption('openai');
    // Switching provider picks that provider's model, never the local file's path.
    await expect.poll(() => page.getByTestId('model').inputValue()).not.toMatch(/gguf/);
    await page.getByTestId('model').selectOption('gpt-4o-mini').catch(async () => page.getByTestId('model').fill('gpt-4o-mini'));
    const before = openai.requests.length;
    await sendAndWait('Hello cloud', 15_000);
    await sendAndWait('And again', 15_000);
    const bodies = openai.requests.slice(before).map((r) => r.body as { messages: { role: string; content: string }[] });
    const last = bodies.at(-1)?.messages ?? [];
    expect(last.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(last[0]?.content).toBe('Hello cloud');
    expect(last[2]?.content).toBe('And again');
    await shot('cloud');
  });

  it('follows the stream to the bottom until the person scrolls up, then offers a way back', async () => {
    openai.script({ kind: 'slow', intervalMs: 20, count: 600 });
    await send('Tell me everything');
    const box = page.getByTestId('messages');
    const gap = () => box.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    await expect.poll(() => box.evaluate((el) => el.scrollHeight > el.clientHeight + 200), { timeout: 15_000 }).toBe(true);
    // The view moves to the bottom after each layout (ResizeObserver), so it is read after a frame.
    await expect.poll(gap, { timeout: 5_000 }).toBeLessThan(60);
    await expect.poll(() => lastAnswer().getByTestId('answer-text').textContent(), { timeout: 10_000 }).toMatch(/t40 /);
    await expect.poll(gap, { timeout: 5_000 }).toBeLessThan(60);
    await box.hover();
    await page.mouse.wheel(0, -600);
    await expect.poll(() => page.getByTestId('jump-latest').count(), { timeout: 5_000 }).toBe(1);
    const held = await box.evaluate((el) => el.scrollTop);
    await expect.poll(() => box.evaluate((el) => el.scrollHeight), { timeout: 5_000 }).toBeGreaterThan((await box.evaluate((el) => el.scrollHeight)) + 50);
    expect(Math.abs((await box.evaluate((el) => el.scrollTop)) - held)).toBeLessThan(5);
    await page.getByTestId('jump-latest').click();
    await expect.poll(gap, { timeout: 5_000 }).toBeLessThan(60);
    await page.keyboard.press('Escape');
    await expect.poll(lastStatus, { timeout: 10_000 }).toBe('cancelled');
  });

  it('starts from a preset, whose system prompt is sent first, and the settings stay editable', async () => {
    await page.keyboard.press('Control+n');
    await withSettings(async () => {
      await page.getByTestId('preset').selectOption({ label: 'Short answers' });
      await expect.poll(() => page.getByTestId('system').inputValue()).toMatch(/few words/);
    });
    const before = openai.requests.length;
    await sendAndWait('What is a sidecar?', 15_000);
    const first = openai.requests.slice(before).at(-1)?.body as { messages: { role: string; content: string }[]; temperature?: number };
    expect(first.messages[0]).toMatchObject({ role: 'system', content: expect.stringMatching(/few words/) });
    expect(first.temperature).toBe(0.3);
    await withSettings(() => page.getByTestId('system').fill('Answer like a pirate.'));
    await sendAndWait('And a window?', 15_000);
    const second = openai.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    expect(second.messages[0]).toEqual({ role: 'system', content: 'Answer like a pirate.' });
    expect(second.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    await withSettings(async () => {
      await page.getByTestId('preset-name').fill('Pirate');
      await page.getByTestId('preset-save').click();
      await expect.poll(() => page.getByTestId('preset').locator('option').allTextContents()).toContain('Pirate (yours)');
    });
  });

  it('renders hostile answers inert in the chat: no script, no handler, links never navigate, no native call', async () => {
    openai.script({ kind: 'ok', tokens: ['Hi <img src=x onerror="window.__pwned=1">\n\n', '<script>window.__pwned=2</script>\n\n', '[click](https://example.com/x) and [js](javascript:window.__pwned=3)'] });
    const calls = runtime.nativeCallLog.length;
    const url = page.url();
    await sendAndWait('Be evil', 15_000);
    await lastAnswer().locator('a').first().click();
    await page.waitForTimeout(300);
    expect(page.url()).toBe(url);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await lastAnswer().locator('script, [onerror], a[href^="javascript"]').count()).toBe(0);
    const made = new Set(runtime.nativeCallLog.slice(calls).filter((c) => c.origin === 'app').map((c) => c.method));
    expect([...made].every((m) => m === 'extensions.dispatch' || m === 'extensions.getStats')).toBe(true);
  });

  it('stops a slow answer with Esc; the partial text stays', async () => {
    openai.script({ kind: 'slow', intervalMs: 50, count: 400 });
    await send('Go on forever');
    await expect.poll(() => lastAnswer().getByTestId('answer-text').textContent(), { timeout: 10_000 }).toMatch(/t2 /);
    await page.keyboard.press('Escape');
    await expect.poll(lastStatus, { timeout: 10_000 }).toBe('cancelled');
    expect(await lastAnswer().getByTestId('answer-ending').textContent()).toBe('Stopped by you');
    expect(await lastAnswer().getByTestId('answer-text').textContent()).toMatch(/t2 /);
  });

  it('says where the answer appears that it retries, when and why, while the provider refuses for now, then answers', async () => {
    openai.script({ kind: 'rate_limited', retryAfterSeconds: 6 }, { kind: 'ok' });
    await send('Are you busy?');
    const phase = async () => (await lastAnswer().getByTestId('answer-phase').textContent().catch(() => '')) ?? '';
    const retrying = /^The server is busy \(HTTP 429\)\. Retrying in (\d) s \(attempt 2\)…$/;
    // The real retry is known at once: no guess from the time waited.
    await expect.poll(phase, { timeout: 10_000 }).toMatch(retrying);
    const first = Number(retrying.exec(await phase())?.[1]);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(6);
    // It counts down while the app waits out the server's Retry-After.
    await expect.poll(async () => Number(retrying.exec(await phase())?.[1] ?? 0), { timeout: 10_000 }).toBeLessThan(first);
    await expect.poll(lastStatus, { timeout: 20_000 }).toBe('complete');
    expect(await lastAnswer().getByTestId('answer-text').textContent()).toMatch(/Hello, world!/);
    expect(await lastAnswer().getByTestId('answer-phase').count()).toBe(0);
  });

  it('a failed answer says why in words, never a code', async () => {
    openai.script({ kind: 'auth_error' });
    await send('Who am I?');
    await expect.poll(lastStatus, { timeout: 15_000 }).toBe('failed');
    const ending = (await lastAnswer().getByTestId('answer-ending').textContent()) ?? '';
    expect(ending).toMatch(/^The provider refused the API key\./);
    expect(ending).not.toMatch(/\bauth\b|needs_key|Finish:/);
  });

  it('copies a whole answer and a code block; the highlighter loads with the first code block, not before', async () => {
    const highlighter = () => fetched.filter((u) => /\/assets\/core-[\w-]+\.js$/.test(u)).length;
    expect(highlighter()).toBe(0);
    openai.script({ kind: 'ok', tokens: ['Here:\n\n', '```js\n', 'const a = 1;\n', '```\n\nDone.'] });
    await sendAndWait('Some code please', 15_000);
    const pre = lastAnswer().locator('pre');
    await expect.poll(() => pre.locator('.hljs-keyword').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(highlighter()).toBe(1);
    await pre.getByRole('button', { name: 'Copy code' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('const a = 1;\n');
    await lastAnswer().getByTestId('copy-answer').click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(/^Here:[\s\S]*Done\.$/);
  });

  it('finds its conversations again after a restart', async () => {
    await stopApp();
    await startApp();
    await expect.poll(() => page.getByTestId('conversation-item').count(), { timeout: 10_000 }).toBe(4);
    const titles = await page.getByTestId('conversation-title').allTextContents();
    expect(titles).toContain('Fox story');
    await page.getByTestId('conversation-title').filter({ hasText: 'Fox story' }).first().click();
    await expect.poll(() => page.getByTestId('user-text').first().textContent()).toBe('Once upon a time there was a fox');
    expect(await lastStatus()).toBe('complete');
  });

  it('says why it cannot send (the vault locked after the restart) and leads to the fix', async () => {
    await page.getByTestId('conversation-title').filter({ hasText: 'Hello cloud' }).click();
    await expect.poll(() => page.getByTestId('send-reason').textContent(), { timeout: 10_000 }).toMatch(/Unlock the vault/);
    expect(await page.getByTestId('send').isDisabled()).toBe(true);
    await page.getByTestId('send-fix').click();
    await page.getByTestId('passphrase').fill('my long passphrase');
    await page.getByTestId('vault-unlock').click();
    await expect.poll(() => page.getByTestId('vault-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('unlocked');
    await page.getByTestId('tab-chat').click();
    await expect.poll(() => page.getByTestId('send-reason').textContent(), { timeout: 10_000 }).toMatch(/Enter sends/);
  });

  it('Enter sends and Shift+Enter breaks the line; Ctrl+Enter can be chosen instead', async () => {
    const box = page.getByTestId('prompt');
    await box.fill('');
    await box.press('a');
    await box.press('Shift+Enter');
    await box.press('b');
    expect(await box.inputValue()).toBe('a\nb');
    await page.getByTestId('tab-settings').click();
    await page.getByTestId('tab-providers').click();
    await page.getByTestId('send-key').selectOption('ctrl-enter');
    await page.getByTestId('tab-chat').click();
    await box.press('Enter');
    // Enter now only breaks the line (nothing was sent).
    expect((await box.inputValue()).split('\n')).toHaveLength(3);
    const before = await answers().count();
    await box.press('Control+Enter');
    await expect.poll(() => answers().count(), { timeout: 10_000 }).toBe(before + 1);
    await expect.poll(lastStatus, { timeout: 15_000 }).toBe('complete');
    await page.getByTestId('tab-settings').click();
    await page.getByTestId('send-key').selectOption('enter');
    await page.getByTestId('tab-chat').click();
  });

  it('follows the dark theme, from the toggle and kept across a reload', async () => {
    const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const light = await background();
    for (let i = 0; i < 3 && (await page.evaluate(() => document.documentElement.dataset.theme)) !== 'dark'; i += 1) await page.getByTestId('theme-toggle').click();
    const dark = await background();
    expect(dark).not.toBe(light);
    const [r, g, b] = (dark.match(/\d+/g) ?? []).map(Number);
    expect((r ?? 255) + (g ?? 255) + (b ?? 255)).toBeLessThan(150);
    await shot('dark');
    await page.reload();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme), { timeout: 10_000 }).toBe('dark');
    await page.getByTestId('theme-select').waitFor({ state: 'detached' }).catch(() => undefined);
  });

  it('works at 420 px wide with nothing clipped', async () => {
    await page.setViewportSize({ width: 420, height: 760 });
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 20_000 }).toBe('ready');
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot('narrow-chat');
    await page.getByTestId('list-toggle').click();
    await page.getByTestId('conversation-list').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot('narrow-list');
    await page.getByTestId('conversation-title').first().click();
    await page.getByTestId('settings-toggle').click();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot('narrow-settings');
    await page.getByTestId('tab-history').click();
    await page.locator('[data-testid="history"] tbody tr').first().waitFor({ timeout: 10_000 });
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot('narrow-history');
  });
});

describe('a local conversation longer than its context', () => {
  it('drops the oldest turns, says so in the chat, and shows the tokens used against the context', async () => {
    await page.setViewportSize({ width: 1000, height: 760 });
    await page.getByTestId('tab-chat').click();
    await page.keyboard.press('Control+n');
    await page.getByTestId('provider').selectOption('local');
    await expect.poll(() => page.getByTestId('model').inputValue()).toMatch(/stories260K/);
    await withSettings(async () => {
      await page.getByTestId('context-size').fill('128');
      await page.getByTestId('max-tokens').fill('16');
    });
    const long = 'Once upon a time a little girl named Lily went to the park with her mom and her dog and they played in the sun all day long';
    for (let i = 0; i < 4 && (await page.getByTestId('trim-note').count()) === 0; i += 1) {
      const before = await answers().count();
      await send(`${long} (${i})`);
      await expect.poll(() => answers().count(), { timeout: 10_000 }).toBe(before + 1);
      await expect.poll(lastStatus, { timeout: 30_000 }).not.toBe('streaming');
      expect(await lastStatus(), (await lastAnswer().textContent()) ?? '').toBe('complete');
    }
    await expect.poll(() => page.getByTestId('trim-note').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('trim-note').last().textContent()).toMatch(/oldest messages? (was|were) left out/);
    // llama.cpp may round the context up (128 asked, 256 given); the chat shows what the model has.
    expect(await page.getByTestId('context-usage').textContent()).toMatch(/^\d+ of (128|256) tokens of context used$/);
    await shot('trimmed');
  }, 120_000);
});

describe('first launch with a cloud key instead of a model', () => {
  let freshDir: string;
  afterAll(() => (freshDir ? rm(freshDir, { recursive: true, force: true }) : undefined));

  it('creates the vault on the welcome screen, saves the key into it, and answers from the cloud', async () => {
    await page.setViewportSize({ width: 1000, height: 760 });
    await stopApp();
    freshDir = await mkdtemp(path.join(os.tmpdir(), 'sim-conv-cloud-'));
    await startApp(freshDir);
    await page.getByTestId('welcome').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.getByTestId('cloud-provider').locator('option').count()).toBeGreaterThan(0);
    // The welcome screen at 420 px: both ways in, nothing wider than the window.
    await page.setViewportSize({ width: 420, height: 760 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await shot('narrow-welcome');
    await page.setViewportSize({ width: 1000, height: 760 });
    await page.getByTestId('cloud-provider').selectOption('openai');
    await page.getByTestId('cloud-url').fill(`${openai.url}/v1`);
    await page.getByTestId('cloud-key').fill(KEY);
    // Save stays disabled until a passphrase for the new vault is given.
    expect(await page.getByTestId('cloud-save').isDisabled()).toBe(true);
    await page.getByTestId('cloud-passphrase').fill('another long passphrase');
    await page.getByTestId('cloud-save').click();
    await page.getByTestId('chat').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('provider').inputValue()).toBe('openai');
    await expect.poll(() => page.getByTestId('model').inputValue(), { timeout: 10_000 }).not.toBe('');
    const before = openai.requests.length;
    await sendAndWait('Hello from the first launch', 15_000);
    expect(openai.requests.slice(before).some((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    await page.getByTestId('tab-settings').click();
    await page.getByTestId('tab-vault').click();
    await expect.poll(() => page.getByTestId('vault-state').getAttribute('data-state')).toBe('unlocked');
    await page.getByTestId('tab-chat').click();
    await shot('first-launch-cloud');
  });
});

describe('first launch offline, a model downloaded from the catalogue', () => {
  let freshDir: string;
  let mirror: Awaited<ReturnType<typeof startFileServer>> | undefined;
  afterAll(async () => {
    await mirror?.close();
    if (freshDir) await rm(freshDir, { recursive: true, force: true });
  });
  const entry = (testid: string, name: string) => page.getByTestId(testid).filter({ hasText: name });
  const download = (name: string) => entry('catalogue-entry', name).getByRole('button', { name: 'Download' }).click();
  const progressOf = (name: string) => entry('download-progress', name);
  /** What the models folder holds, partial files included. */
  const modelFiles = async () => readdir(path.join(freshDir, 'models')).catch(() => [] as string[]);

  it('from a mirror on this computer: a wrong checksum refused in words, a cancel leaves nothing, then progress and a local answer', async () => {
    // The mirror and the catalogue are the user's, named in the environment (never by the page): the
    // catalogue lists the tiny model by its real size and sha256, plus a copy whose checksum is wrong.
    const bytes = await readFile(MODEL);
    const serving: FileServerOptions = { sliceDelayMs: 400 };
    mirror = await startFileServer(bytes, serving);
    freshDir = await mkdtemp(path.join(os.tmpdir(), 'sim-conv-catalogue-'));
    const catalogueFile = path.join(freshDir, 'catalogue.json');
    const item = { sizeBytes: bytes.length, ramBytes: 2 ** 20, checksumVerified: true, licence: 'MIT', url: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K.gguf' };
    await writeFile(catalogueFile, JSON.stringify([
      { ...item, id: 'stories260K.gguf', name: 'Tiny stories', sha256: createHash('sha256').update(bytes).digest('hex') },
      { ...item, id: 'tampered.gguf', name: 'Tampered copy', sha256: 'ab'.repeat(32) },
    ]));
    await stopApp();
    await startApp(freshDir, { SIM_AI_MODEL_MIRROR: new URL(mirror.url).origin, SIM_AI_MODEL_CATALOGUE: catalogueFile });
    await page.getByTestId('welcome').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.getByTestId('catalogue-entry').count(), { timeout: 10_000 }).toBe(2);

    // A cancelled download: progress, then back to the two ways in, and nothing left in the models folder.
    await download('Tiny stories');
    await expect.poll(() => progressOf('Tiny stories').textContent(), { timeout: 15_000 }).toMatch(/: [1-9]\d?%/);
    expect(await progressOf('Tiny stories').locator('progress').count()).toBe(1);
    await shot('catalogue-progress');
    await progressOf('Tiny stories').getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => progressOf('Tiny stories').textContent(), { timeout: 10_000 }).toMatch(/cancelled/);
    expect(await page.getByTestId('welcome').isVisible()).toBe(true);
    expect(await page.getByTestId('pick-model').isEnabled()).toBe(true);
    expect(await entry('catalogue-entry', 'Tiny stories').getByRole('button', { name: 'Download' }).isEnabled()).toBe(true);
    await expect.poll(modelFiles, { timeout: 5_000 }).toEqual([]);

    // A file that does not match the catalogue's checksum is refused in words and discarded.
    serving.sliceDelayMs = 0;
    await download('Tampered copy');
    await expect.poll(() => progressOf('Tampered copy').textContent(), { timeout: 15_000 }).toMatch(/failed \(The download's sha256 is [0-9a-f]{64}, not the expected (ab){32}: the file was discarded\.\)/);
    expect(await modelFiles()).toEqual([]);
    expect(await page.getByTestId('welcome').isVisible()).toBe(true);

    // The matching one: progress shown, then a conversation with the downloaded model.
    serving.sliceDelayMs = 150;
    await download('Tiny stories');
    await expect.poll(() => page.getByTestId('download-progress').filter({ hasText: /Tiny stories: [1-9]\d?%/ }).count(), { timeout: 15_000 }).toBe(1);
    await page.getByTestId('chat').waitFor({ timeout: 20_000 });
    // The mirror was asked for each entry by its file name, never for anything else.
    expect(new Set(mirror.paths)).toEqual(new Set(['/stories260K.gguf', '/tampered.gguf']));
    expect(await modelFiles()).toEqual(['stories260K.gguf']);
    expect(createHash('sha256').update(await readFile(path.join(freshDir, 'models', 'stories260K.gguf'))).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    await expect.poll(() => page.getByTestId('provider').inputValue()).toBe('local');
    await expect.poll(() => page.getByTestId('model').inputValue()).toBe('stories260K.gguf');
    await setMaxTokens(24);
    await sendAndWait('Once upon a time');
    expect(await lastAnswer().getByTestId('answer-text').textContent()).toMatch(/\w+/);
    await shot('catalogue-answer');
  }, 120_000);
});

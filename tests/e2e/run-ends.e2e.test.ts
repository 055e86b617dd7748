/**
 * Every run ends in the window (issue 10), end to end: the built UI in headless Chromium, the
 * Neutralino stand-in, the real sidecar, the vendor stand-ins. Runs go the way a person makes them
 * now, in a conversation (set up on the first-launch screen), and through the single-run view under
 * Settings, which shows a run's settings and errors directly. An Anthropic run whose usage lacks
 * `input_tokens` completes; a setting out of range is refused in words; a rate-limited run says it
 * retries, when and why; a sidecar killed mid-answer
 * is shown at once (the time is measured and printed); a run cut short by closing the window is in
 * History as cancelled.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS, RESTART_EXIT_CODE, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { ROOT } from '../neutralino/build-once.js';
import { PageClient } from '../neutralino/page-client.js';
import { startNeutralinoStandIn, type StandIn } from '../neutralino/runtime.js';
import { useCloudStandIns } from '../wire/cloud-stand-ins.js';
import { closeAppWindow, openTab, startAppWindow, whenConnected } from './window.js';

const KEY = 'sk-ant-api03-E2Ee2eRUNENDSrunends-0123';
const standIns = useCloudStandIns();
let runtime: StandIn;
let browser: Browser;
let page: Page;
let dataDir: string;

/** An area, or a tab of Settings (vault, providers, the single run). */
const tab = (name: string) => openTab(page, name);
const runStatus = () => page.getByTestId('run-status').getAttribute('data-status');
const lastAnswer = () => page.getByTestId('message-assistant').last();

/** Sends a message in the open conversation and waits for its answer to appear. */
async function say(text: string): Promise<void> {
  const before = await page.getByTestId('message-assistant').count();
  await page.getByTestId('prompt').fill(text);
  // If Send is refused, the reason shown under the box is the failure message.
  await expect.poll(() => page.getByTestId('send').isEnabled(), { message: (await page.getByTestId('send-reason').textContent()) ?? '' }).toBe(true);
  await page.getByTestId('prompt').press('Enter');
  await expect.poll(() => page.getByTestId('message-assistant').count(), { timeout: 10_000 }).toBe(before + 1);
}

async function runBlock(provider: string, model: string, prompt: string, temperature?: number): Promise<void> {
  await tab('run');
  await page.getByTestId('provider').selectOption(provider);
  await page.getByTestId('model').fill(model);
  await page.getByTestId('prompt').fill(prompt);
  if (temperature !== undefined) await page.getByTestId('temperature').fill(String(temperature));
  await page.getByTestId('run').click();
}

/** The node process of the sidecar (the stand-in starts it through a shell, which may or may not exec). */
function sidecarPid(shellPid: number): number {
  try {
    const child = execFileSync('pgrep', ['-P', String(shellPid)], { encoding: 'utf8' }).trim().split('\n')[0];
    return child ? Number(child) : shellPid;
  } catch {
    return shellPid;
  }
}

beforeAll(async () => {
  ({ dataDir, runtime, browser } = await startAppWindow('sim-run-ends-e2e-'));
  page = await browser.newPage({ viewport: { width: 900, height: 800 } });
  // An action that cannot happen fails naming its element, not as a bare test timeout.
  page.setDefaultTimeout(15_000);
  await page.goto(runtime.url);
  await whenConnected(page);
}, 120_000);

afterAll(async () => {
  await closeAppWindow({ dataDir, runtime, browser });
});

describe('every run ends in the window', () => {
  it('sets up on the first-launch screen: a vault and an Anthropic key pointed at the stand-in', async () => {
    await page.getByTestId('welcome').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.getByTestId('cloud-provider').locator('option').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    // The window has no address field for Anthropic: point it at the stand-in over the channel, as the
    // runner would, before the key is saved (a key is sealed with the address it was entered for).
    const side = await PageClient.connect(runtime);
    expect(await side.request('update_provider', { provider: 'anthropic', baseURL: standIns.anthropic.url })).toMatchObject({ ok: true });
    side.close();
    await page.getByTestId('cloud-provider').selectOption('anthropic');
    await page.getByTestId('cloud-key').fill(KEY);
    await page.getByTestId('cloud-passphrase').fill('my long passphrase');
    await page.getByTestId('cloud-save').click();
    await page.getByTestId('chat').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('provider').inputValue()).toBe('anthropic');
    // The key is sealed with the stand-in's origin: the address was set before the key was saved.
    await tab('providers');
    const card = page.getByTestId('provider-anthropic');
    await expect.poll(() => card.getByTestId('key-state-anthropic').textContent(), { timeout: 10_000 }).toMatch(/Key stored/);
    expect(await card.getByTestId('key-origin-anthropic').textContent()).toContain(`sent only to ${new URL(standIns.anthropic.url).origin}`);
    await tab('vault');
    expect(await page.getByTestId('vault-state').getAttribute('data-state')).toBe('unlocked');
  });

  it('an Anthropic run whose message_delta has no input_tokens completes, with the count from message_start', async () => {
    // In a conversation.
    await tab('chat');
    // The model field becomes a list once the stand-in's models are in.
    await expect.poll(() => page.getByTestId('model').evaluate((e) => e.tagName), { timeout: 10_000 }).toBe('SELECT');
    await page.getByTestId('model').selectOption('claude-test-1');
    await say('Say hello');
    await expect.poll(() => lastAnswer().getAttribute('data-status'), { timeout: 10_000 }).toBe('complete');
    expect(await lastAnswer().getByTestId('answer-text').textContent()).toContain('Hello, world!');
    expect(await lastAnswer().getByTestId('answer-stats').textContent()).toMatch(/12 in · 5 out/);
    // And in the single-run view.
    await runBlock('anthropic', 'claude-test-1', 'Say hello');
    await expect.poll(runStatus, { timeout: 10_000 }).toBe('completed');
    expect(await page.getByTestId('output').textContent()).toContain('Hello, world!');
    expect(await page.getByTestId('outcome').textContent()).toMatch(/12 in · 5 out/);
  });

  it('refuses an out-of-range setting in words, before any request', async () => {
    const before = standIns.anthropic.requests.length;
    await runBlock('anthropic', 'claude-test-1', 'Too hot', 3);
    await expect.poll(() => page.getByTestId('run-error').textContent(), { timeout: 10_000 }).toContain('Temperature must be between 0 and 2.');
    expect(await page.getByTestId('run-error').textContent()).not.toMatch(/request\.|too_big|expected/);
    expect(standIns.anthropic.requests.length).toBe(before);
    await page.getByTestId('temperature').fill('0.7');
  });

  it('the single-run view says when and why it retries a rate-limited run, then shows the answer', async () => {
    standIns.anthropic.script({ kind: 'rate_limited', retryAfterSeconds: 3 });
    await runBlock('anthropic', 'claude-test-1', 'Are you busy?');
    await expect.poll(() => page.getByTestId('run-retry').textContent().catch(() => ''), { timeout: 10_000 }).toBe('The server is busy (HTTP 429). Retrying in 3 s (attempt 2)…');
    await expect.poll(runStatus, { timeout: 15_000 }).toBe('completed');
    expect(await page.getByTestId('output').textContent()).toContain('Hello, world!');
    expect(await page.getByTestId('run-retry').count()).toBe(0);
  });

  it('a sidecar killed mid-answer: the window says the engine stopped at once, the answer ends, a restart is offered', async () => {
    standIns.anthropic.script({ kind: 'slow', intervalMs: 50, count: 400 });
    await tab('chat');
    await say('Go on');
    const answer = lastAnswer();
    await expect.poll(() => answer.getByTestId('answer-text').textContent(), { timeout: 10_000 }).toMatch(/t2 /);
    const [shell] = runtime.extensionProcesses;
    const killedAt = Date.now();
    process.kill(sidecarPid(shell!.pid), 'SIGKILL');
    await page.getByTestId('engine-stopped').waitFor({ timeout: 5_000 });
    const shownAfterMs = Date.now() - killedAt;
    console.log(`dead sidecar (kill -9) to the window saying so: ${shownAfterMs} ms`);
    expect(await page.getByTestId('connection').getAttribute('data-state')).toBe('stopped');
    expect(await page.getByTestId('connection').textContent()).toBe('Engine stopped');
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 1_000 }).toBe('failed');
    expect(await answer.getByTestId('answer-ending').textContent()).toMatch(/engine stopped/);
    // The text that arrived stays on screen.
    expect(await answer.getByTestId('answer-text').textContent()).toMatch(/t0 t1 t2/);
    // The box says why nothing can be sent, not that it is still connecting.
    expect(await page.getByTestId('send-reason').textContent()).toMatch(/engine stopped/);
    expect(await page.getByTestId('send').isDisabled()).toBe(true);
    // Commands fail at once with the reason, not after a 15 s timeout about a command name.
    const started = Date.now();
    await tab('history');
    await tab('run');
    await page.getByTestId('run').click();
    await expect.poll(() => page.getByTestId('run-error').textContent(), { timeout: 2_000 }).toMatch(/engine stopped/);
    expect(Date.now() - started).toBeLessThan(2_000);
    // The restart: the page leaves with the restart code, on which every launcher starts the runtime
    // again (tests/portable checks the launcher's half); it never asks for os.execCommand.
    await page.getByTestId('restart').click();
    await expect.poll(() => runtime.exitCode(), { timeout: 5_000 }).toBe(RESTART_EXIT_CODE);
    expect(runtime.nativeCallLog.some((c) => c.method.startsWith('os.'))).toBe(false);
  });
});

describe('closing the window mid-run', () => {
  it('records the run in History as cancelled', async () => {
    // A fresh app on the same data folder: the previous sidecar is dead.
    await runtime.close();
    runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir } });
    const client = await PageClient.connect(runtime);
    await client.waitForSidecar(20_000);
    const ok = (reply: ReplyEnvelope) => {
      if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
      return reply.result as Record<string, unknown>;
    };
    ok(await client.request('vault_unlock', { passphrase: 'my long passphrase' }));
    standIns.anthropic.script({ kind: 'slow', intervalMs: 50, count: 400 });
    let chunks = 0;
    client.on((event) => void (event === EVENTS.chunk && (chunks += 1)));
    const { executionId } = ok(await client.request('call_ai_provider', { provider: 'anthropic', request: { model: 'claude-test-1', messages: [{ role: 'user', content: 'Go on' }] } })) as { executionId: string };
    await expect.poll(() => chunks, { timeout: 10_000 }).toBeGreaterThan(2);
    const [sidecar] = runtime.extensionProcesses;
    await runtime.close();
    await sidecar?.exited;
    const db = new Database(path.join(dataDir, 'sim-ai.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT status, finish_reason, output FROM executions WHERE id = ?').get(executionId) as { status: string; finish_reason: string; output: string } | undefined;
      expect(row).toMatchObject({ status: 'cancelled', finish_reason: 'cancelled', output: expect.stringMatching(/^t0 t1 /) });
    } finally {
      db.close();
    }
  });
});

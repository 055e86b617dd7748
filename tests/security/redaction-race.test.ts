/**
 * Issue 12, "redaction that cannot be raced", as the attack, through the real sidecar: a request is
 * in flight with a key of a shape no pattern knows; while it waits, the key is locked away, deleted
 * or replaced; then the server answers with an error that quotes the key in full (URL-encoded and
 * base64 too). Neither the page (the error event) nor the History row may show any of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import type { PageClient } from '../neutralino/page-client.js';
import { ok, startSidecarPage, type SidecarPage } from './sidecar-page.js';
import { delay, sendJson, startHarness, type Harness } from '../wire/harness.js';

const PASSPHRASE = 'a long and honest passphrase';
/** Lower case and digits, 20 characters: no redaction pattern matches it; only registration can. */
const KEY = 'zq9mxv3kt7wrnp5hs4dq';
let app: SidecarPage;
let page: PageClient;
let server: Harness;
/** Resolves when the next request reaches the server; the server answers when `answer` is called. */
let arrived: () => void = () => undefined;
let answer: () => void = () => undefined;


beforeAll(async () => {
  server = await startHarness(async (req, res) => {
    const auth = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    arrived();
    await new Promise<void>((resolve) => (answer = resolve));
    await delay(10);
    // A vendor that quotes the key it was sent, in every form it might.
    const echo = `key ${auth} (url ${encodeURIComponent(auth)}, b64 ${Buffer.from(`user:${auth}`).toString('base64')}, upper ${auth.toUpperCase()}) is not allowed`;
    sendJson(res, 400, { error: { message: echo, type: 'invalid_request_error', param: null, code: null } });
  });
  app = await startSidecarPage();
  ({ page } = app);
  ok(await page.request('vault_init', { passphrase: PASSPHRASE }));
  ok(await page.request('update_provider', { provider: 'together', baseURL: `${server.url}/v1` }));
}, 60_000);

afterAll(async () => {
  await app?.close();
  await server?.close();
});

/** Starts a run, waits until the server holds it, does `meanwhile`, lets the server answer. */
async function raceWith(meanwhile: () => Promise<unknown>): Promise<{ message: string; history: string }> {
  ok(await page.request('set_secret', { provider: 'together', secret: KEY }));
  if (!ok<{ state: string }>(await page.request('vault_status')).state.startsWith('unlocked')) ok(await page.request('vault_unlock', { passphrase: PASSPHRASE }));
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const { executionId } = ok<{ executionId: string }>(await page.request('call_ai_provider', { provider: 'together', request: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } }));
  const ended = new Promise<string>((resolve) => {
    const off = page.on((event, data) => {
      const d = data as { executionId?: string };
      if (d.executionId === executionId && (event === EVENTS.error || event === EVENTS.done)) (off(), resolve(JSON.stringify(data)));
    });
  });
  await reached;
  await meanwhile();
  answer();
  const message = await ended;
  const history = JSON.stringify(ok(await page.request('get_execution', { id: executionId })));
  return { message, history };
}

function expectNoKey(text: string): void {
  for (const form of [KEY, KEY.toUpperCase(), encodeURIComponent(KEY), Buffer.from(`user:${KEY}`).toString('base64').slice(8, 24), KEY.slice(2, 14)]) {
    expect(text, form).not.toContain(form);
  }
}

describe('a key locked, deleted or replaced while a request holds it never reaches the page or History', () => {
  it('the server really received and quoted the key (the test can fail)', async () => {
    const { message } = await raceWith(async () => undefined);
    expect(server.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(message).toContain('[REDACTED]');
    expectNoKey(message);
  });

  it('lock during the request', async () => {
    const { message, history } = await raceWith(() => page.request('vault_lock'));
    expect(message).toContain('is not allowed');
    expectNoKey(message);
    expectNoKey(history);
  });

  it('delete during the request', async () => {
    const { message, history } = await raceWith(() => page.request('delete_secret', { provider: 'together' }));
    expectNoKey(message);
    expectNoKey(history);
  });

  it('replace during the request', async () => {
    const { message, history } = await raceWith(() => page.request('set_secret', { provider: 'together', secret: 'another-key-entirely-0000' }));
    expectNoKey(message);
    expectNoKey(history);
  });
});

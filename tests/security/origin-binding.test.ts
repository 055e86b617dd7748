/**
 * Issue 12, "keys follow only the host they were given for", as the attack: a page script drives
 * the contract directly (the real sidecar, started by the Neutralino stand-in) and tries to make the
 * stored key travel to a server of its choosing. The "evil" server records every request; it must
 * never see the key. The "home" server must (so the test can fail).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import type { PageClient } from '../neutralino/page-client.js';
import { failure, ok, startSidecarPage, type SidecarPage } from './sidecar-page.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';

const KEY = 'sk-proj-HOMEhomeHOMEhomeONLYonly4242';
const ANTHROPIC_KEY = 'sk-ant-api03-HOMEhomeANTHROPICkey7777';
const PASSPHRASE = 'a long and honest passphrase';
let app: SidecarPage;
let page: PageClient;
let home: OpenAIServer;
let evil: OpenAIServer;

/** Every header and body the evil server received, as one text. */
const evilSaw = () => JSON.stringify(evil.requests.map((r) => ({ h: r.headers, b: r.body, p: r.path })));

async function run(provider: string): Promise<{ code?: string; message?: string }> {
  const { executionId } = ok<{ executionId: string }>(await page.request('call_ai_provider', { provider, request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } }));
  return new Promise((resolve) => {
    const off = page.on((event, data) => {
      const payload = data as { executionId?: string; error?: { code: string; message: string } };
      if (payload.executionId !== executionId) return;
      if (event === EVENTS.done) (off(), resolve({}));
      if (event === EVENTS.error) (off(), resolve(payload.error ?? {}));
    });
  });
}

beforeAll(async () => {
  [home, evil] = await Promise.all([startOpenAIServer(), startOpenAIServer()]);
  app = await startSidecarPage();
  ({ page } = app);
  ok(await page.request('vault_init', { passphrase: PASSPHRASE }));
  ok(await page.request('update_provider', { provider: 'openai', baseURL: `${home.url}/v1` }));
  ok(await page.request('set_secret', { provider: 'openai', secret: KEY }));
}, 60_000);

afterAll(async () => {
  await app?.close();
  await Promise.all([home?.close(), evil?.close()]);
});

describe('a stored key goes only to the origin it was entered for', () => {
  it('goes to its own origin, and the page sees that origin next to the hint', async () => {
    expect(await run('openai')).toEqual({});
    expect(home.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    const secrets = ok<{ provider: string; hint: string; origin: string }[]>(await page.request('list_secrets'));
    expect(secrets).toContainEqual(expect.objectContaining({ provider: 'openai', hint: '…4242', origin: new URL(home.url).origin }));
  });

  it('attack: re-point the base URL at another server, then list models, test and run: that server never sees the key', async () => {
    const info = ok<{ baseURL: string; transport: string }>(await page.request('update_provider', { provider: 'openai', baseURL: `${evil.url}/v1` }));
    expect(info).toMatchObject({ baseURL: `${evil.url}/v1`, transport: 'loopback' });
    // No automatic request right after the change.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(evil.requests).toHaveLength(0);

    const models = ok<{ provider: string; status: { state: string; detail?: string } }[]>(await page.request('list_models'));
    expect(models.find((m) => m.provider === 'openai')?.status.state).not.toBe('ready');
    await page.request('test_connection', { provider: 'openai' });
    const refused = await run('openai');
    expect(refused.code).toBe('auth');
    expect(refused.message).toContain(new URL(home.url).origin);
    expect(refused.message).toContain(new URL(evil.url).origin);
    expect(evilSaw()).not.toContain(KEY);
    expect(evilSaw()).not.toContain(KEY.slice(8, 24));
  });

  it('attack: confirm the new host without the passphrase fails and is counted; with it, the user has chosen the new host', async () => {
    const wrong = failure(await page.request('confirm_key_origin', { provider: 'openai', passphrase: 'guessing the passphrase' }));
    expect(wrong.code).toBe('wrong_passphrase');
    expect(await run('openai')).toMatchObject({ code: 'auth' });
    expect(evilSaw()).not.toContain(KEY);

    const confirmed = ok<{ origin: string }>(await page.request('confirm_key_origin', { provider: 'openai', passphrase: PASSPHRASE }));
    expect(confirmed.origin).toBe(new URL(evil.url).origin);
    expect(await run('openai')).toEqual({});
    expect(evil.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('attack: a re-entered key is bound to the address at the time, so a later change moves nothing', async () => {
    ok(await page.request('update_provider', { provider: 'openai', baseURL: `${home.url}/v1` }));
    const before = evil.requests.length;
    ok(await page.request('update_provider', { provider: 'openai', baseURL: `${evil.url}/v2` }));
    // Same origin (scheme, host, port) as the confirmed one: the binding is to the origin, not the path.
    // The key went (the stand-in, like OpenAI, answers only under /v1, hence the wrong endpoint).
    expect(await run('openai')).toMatchObject({ code: 'wrong_endpoint' });
    expect(evil.requests.length).toBe(before + 1);
    expect(evil.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    ok(await page.request('set_secret', { provider: 'openai', secret: KEY }));
    ok(await page.request('update_provider', { provider: 'openai', baseURL: `${home.url}/v1` }));
    expect(await run('openai')).toMatchObject({ code: 'auth' });
  });

  it('attack: the Anthropic base URL, open in the contract, moves no key either', async () => {
    ok(await page.request('set_secret', { provider: 'anthropic', secret: ANTHROPIC_KEY }));
    const secrets = ok<{ provider: string; origin: string }[]>(await page.request('list_secrets'));
    expect(secrets.find((s) => s.provider === 'anthropic')?.origin).toBe('https://api.anthropic.com');
    ok(await page.request('update_provider', { provider: 'anthropic', baseURL: evil.url }));
    expect(await run('anthropic')).toMatchObject({ code: 'auth' });
    expect(evilSaw()).not.toContain(ANTHROPIC_KEY);
    expect(evilSaw()).not.toContain(ANTHROPIC_KEY.slice(14, 30));
  });

  it('refuses other URL schemes, credentials in the URL, and plain http to another computer for a keyed provider', async () => {
    for (const baseURL of ['file:///etc/passwd', 'ftp://127.0.0.1/', 'javascript:alert(1)', 'data:text/plain,hi', 'ws://127.0.0.1:1/']) {
      expect(failure(await page.request('update_provider', { provider: 'openai', baseURL })).code, baseURL).toBe('validation');
    }
    expect(failure(await page.request('update_provider', { provider: 'openai', baseURL: 'https://user:pw@api.example.com/v1' })).message).toMatch(/user name or password/);
    const plain = failure(await page.request('update_provider', { provider: 'groq', baseURL: 'http://192.168.1.20:8000/v1' }));
    expect(plain).toMatchObject({ code: 'validation' });
    expect(plain.message).toMatch(/plain http/);
    const providers = ok<{ name: string; baseURL?: string }[]>(await page.request('list_providers'));
    expect(providers.find((p) => p.name === 'groq')?.baseURL).toMatch(/^https:/);
  });

  it('lets a keyless LAN server use plain http, says its traffic is unencrypted, and never sends it a key', async () => {
    const ollama = ok<{ transport: string }>(await page.request('update_provider', { provider: 'ollama', baseURL: 'http://192.168.1.50:11434' }));
    expect(ollama.transport).toBe('unencrypted');
    const vllm = ok<{ transport: string }>(await page.request('update_provider', { provider: 'vllm', baseURL: 'http://10.0.0.7:8000/v1' }));
    expect(vllm.transport).toBe('unencrypted');
    const refused = failure(await page.request('set_secret', { provider: 'vllm', secret: 'a-key-for-vllm-123456' }));
    expect(refused).toMatchObject({ code: 'validation' });
    expect(refused.message).toMatch(/unencrypted/);
  });
});

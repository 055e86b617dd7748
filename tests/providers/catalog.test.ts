import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIManager } from '../../extensions/ai-sidecar/src/core/manager.js';
import { MemoryProviderSettings, ProviderCatalog } from '../../extensions/ai-sidecar/src/providers/catalog.js';
import { LocalLlamaProvider } from '../../extensions/ai-sidecar/src/providers/local-llama.js';
import { startOllamaServer, type OllamaServer } from '../wire/ollama-server.js';
import { staticKeys } from './fixtures.js';

let ollama: OllamaServer;
beforeAll(async () => (ollama = await startOllamaServer()));
afterAll(() => ollama.close());

function setup() {
  const manager = new AIManager();
  const catalog = new ProviderCatalog(manager, new MemoryProviderSettings(), {
    keys: staticKeys(),
    // Loads nothing until first used.
    createLocal: () => new LocalLlamaProvider(),
  });
  return { manager, catalog };
}

describe('provider catalog', () => {
  it('offers every preset, keeps local servers off until asked, and applies settings', () => {
    const { manager, catalog } = setup();
    const names = catalog.list().map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['openai', 'openrouter', 'groq', 'together', 'deepseek', 'mistral', 'lmstudio', 'llamacpp-server', 'vllm', 'anthropic', 'ollama', 'local']));
    expect(manager.providerNames()).not.toContain('lmstudio');
    catalog.update('lmstudio', { enabled: true, baseURL: 'http://127.0.0.1:9999/v1' });
    expect(manager.providerNames()).toContain('lmstudio');
    expect(catalog.find('lmstudio')).toMatchObject({ enabled: true, baseURL: 'http://127.0.0.1:9999/v1', keyRequired: false });
    catalog.update('groq', { enabled: false });
    expect(manager.providerNames()).not.toContain('groq');
    expect(catalog.update('nope', { enabled: true })).toBeUndefined();
  });

  it("passes the user's Ollama keep-alive, and none when unset so Ollama's own applies", async () => {
    const { manager, catalog } = setup();
    catalog.update('ollama', { baseURL: ollama.url });
    await manager.execute('ollama', { model: 'llama3.2:latest', messages: [{ role: 'user', content: 'hi' }] }).result;
    expect(ollama.requests.at(-1)?.body).not.toHaveProperty('keep_alive');
    catalog.update('ollama', { keepAlive: '-1' });
    await manager.execute('ollama', { model: 'llama3.2:latest', messages: [{ role: 'user', content: 'hi' }] }).result;
    expect(ollama.requests.at(-1)?.body).toMatchObject({ keep_alive: '-1' });
  });
});

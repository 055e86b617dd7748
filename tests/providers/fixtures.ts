/** The three cloud-style adapters, each paired with its wire stand-in, for table-driven tests. */
import type { KeySource } from '../../extensions/ai-sidecar/src/core/key-source.js';
import type { AIProvider } from '../../extensions/ai-sidecar/src/core/types.js';
import { AnthropicProvider } from '../../extensions/ai-sidecar/src/providers/anthropic.js';
import { OllamaProvider } from '../../extensions/ai-sidecar/src/providers/ollama.js';
import { OpenAICompatibleProvider } from '../../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { startAnthropicServer } from '../wire/anthropic-server.js';
import type { Harness } from '../wire/harness.js';
import { startOllamaServer } from '../wire/ollama-server.js';
import { startOpenAIServer } from '../wire/openai-server.js';
import type { Scenario } from '../wire/scenarios.js';

export const TEST_KEY = 'sk-proj-TESTabcdefghijklmnopqrstuvwxyz0123456789wxyz';

export const staticKeys = (key: string | undefined = TEST_KEY): KeySource => ({ getKey: () => Promise.resolve(key) });

export interface VendorServer extends Harness {
  script(...scenarios: Scenario[]): void;
}

export interface Vendor {
  readonly name: 'openai' | 'anthropic' | 'ollama';
  readonly model: string;
  /** Whether the vendor has keys, rate limits and quotas (Ollama has none). */
  readonly cloud: boolean;
  start(): Promise<VendorServer>;
  provider(server: VendorServer, keys?: KeySource): AIProvider;
}

export const VENDORS: readonly Vendor[] = [
  {
    name: 'openai',
    model: 'gpt-4o-mini',
    cloud: true,
    start: () => startOpenAIServer(),
    provider: (server, keys = staticKeys()) => new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${server.url}/v1` }, keys),
  },
  {
    name: 'anthropic',
    model: 'claude-test-1',
    cloud: true,
    start: () => startAnthropicServer(),
    provider: (server, keys = staticKeys('sk-ant-api03-TESTabcdefghijklmnopqrstuvwxyz-0123')) => new AnthropicProvider({ baseURL: server.url }, keys),
  },
  {
    name: 'ollama',
    model: 'llama3.2:latest',
    cloud: false,
    start: () => startOllamaServer(),
    provider: (server) => new OllamaProvider({ host: server.url }),
  },
];

export const userRequest = (model: string, content = 'Say hello') => ({ model, messages: [{ role: 'user' as const, content }] });

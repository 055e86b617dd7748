/** The OpenAI and Anthropic stand-ins, started once for a test file and closed after it. */
import { afterAll, beforeAll } from 'vitest';
import { startAnthropicServer, type AnthropicServer } from './anthropic-server.js';
import { startOpenAIServer, type OpenAIServer } from './openai-server.js';

export interface CloudStandIns {
  readonly openai: OpenAIServer;
  readonly anthropic: AnthropicServer;
}

export function useCloudStandIns(): CloudStandIns {
  let openai: OpenAIServer | undefined;
  let anthropic: AnthropicServer | undefined;
  beforeAll(async () => {
    openai = await startOpenAIServer();
    anthropic = await startAnthropicServer();
  });
  afterAll(async () => {
    await openai?.close();
    await anthropic?.close();
  });
  const started = <T>(server: T | undefined): T => {
    if (server === undefined) throw new Error('The stand-ins start in beforeAll; use them inside tests.');
    return server;
  };
  return {
    get openai() {
      return started(openai);
    },
    get anthropic() {
      return started(anthropic);
    },
  };
}

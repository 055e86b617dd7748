/**
 * The manager's `prepare` step, which conversations use to fit their history inside the run: Stop
 * works while it runs (nothing then reaches the provider), its failure ends the run in words, and the
 * ledger records the request it produced. Against the real OpenAI adapter and its stand-in.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AIManager, type ExecutionRecord } from '../../extensions/ai-sidecar/src/core/manager.js';
import { OpenAICompatibleProvider } from '../../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';

let openai: OpenAIServer;
let manager: AIManager;
const records: ExecutionRecord[] = [];
const chats = () => openai.requests.filter((r) => r.path.endsWith('/chat/completions'));

beforeAll(async () => {
  openai = await startOpenAIServer();
  manager = new AIManager({ onExecutionEnd: (record) => records.push(record) });
  manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${openai.url}/v1` }, { getKey: async () => 'sk-proj-PREPAREprepare000000' }));
});
afterAll(async () => {
  await manager.dispose();
  await openai.close();
});

const base = { model: 'gpt-4o-mini', messages: [] };

it('sends and records the request prepare returns', async () => {
  const execution = manager.execute('openai', base, { prepare: async (request) => ({ ...request, messages: [{ role: 'user', content: 'prepared' }] }) });
  const response = await execution.result;
  expect(response.finishReason).toBe('stop');
  expect((chats().at(-1)?.body as { messages: unknown[] }).messages).toEqual([{ role: 'user', content: 'prepared' }]);
  await expect.poll(() => records.find((r) => r.id === execution.id)?.request.messages).toEqual([{ role: 'user', content: 'prepared' }]);
});

it('stops during prepare: the run ends at once, cancelled, and nothing reaches the provider', async () => {
  const before = chats().length;
  let started!: () => void;
  let finishPreparing!: () => void;
  const preparing = new Promise<void>((resolve) => (started = resolve));
  let prepared = false;
  const execution = manager.execute('openai', base, {
    // Like a model load: cannot be interrupted, and finishes only when the test says so.
    prepare: (request) =>
      new Promise((resolve) => {
        started();
        finishPreparing = () => {
          prepared = true;
          resolve({ ...request, messages: [{ role: 'user', content: 'late' }] });
        };
      }),
  });
  await preparing;
  expect(manager.cancel(execution.id)).toBe(true);
  const response = await execution.result;
  // Ended by the Stop while the preparation was still going.
  expect(prepared).toBe(false);
  expect(response.finishReason).toBe('cancelled');
  finishPreparing();
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(chats().length).toBe(before);
});

it('a failing prepare ends the run with its error, in words', async () => {
  const response = await manager.execute('openai', base, { prepare: () => Promise.reject(new Error('The history could not be read.')) }).result;
  expect(response.finishReason).toBe('error');
  expect(response.error).toMatchObject({ code: 'unknown', message: 'The history could not be read.', provider: 'openai' });
});

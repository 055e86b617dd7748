/** History assembly and trimming, titles, and the conversation tables (migration, search, purge). */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { estimateTokens, fitToContext, historyOf, PER_MESSAGE_OVERHEAD, titleFrom, type TokenCounter } from '../../extensions/ai-sidecar/src/conversations/history.js';
import type { ConversationMessageData } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { openDatabase } from '../../extensions/ai-sidecar/src/storage/database.js';
import { ConversationsRepository } from '../../extensions/ai-sidecar/src/storage/conversations.js';
import { ExecutionsRepository } from '../../extensions/ai-sidecar/src/storage/repositories.js';

/** One token per word: easy sums. */
const words = (contextSize: number | null): TokenCounter => ({ contextSize, estimated: false, count: (t) => t.split(/\s+/).filter(Boolean).length });
const msg = (role: 'user' | 'assistant', content: string, status: ConversationMessageData['status'] = 'complete'): ConversationMessageData => ({
  id: content, conversationId: 'c', role, content, status, executionId: null, provider: null, model: null, stats: null, error: null, createdAt: '',
});

describe('history', () => {
  it('sends user messages and finished or stopped answers, not failed or empty ones', () => {
    const history = historyOf([msg('user', 'a'), msg('assistant', 'b', 'failed'), msg('user', 'c'), msg('assistant', '', 'cancelled'), msg('user', 'd'), msg('assistant', 'half', 'cancelled')]);
    expect(history.map((m) => m.content)).toEqual(['a', 'c', 'd', 'half']);
  });

  it('keeps everything that fits, system prompt first', () => {
    const history = [msg('user', 'one two'), msg('assistant', 'three')].map(({ role, content }) => ({ role, content }));
    const fitted = fitToContext('be nice', history, words(1000), 10);
    expect(fitted.messages).toEqual([{ role: 'system', content: 'be nice' }, ...history]);
    expect(fitted.droppedMessages).toBe(0);
    expect(fitted.tokensUsed).toBe(2 + 2 + 1 + 3 * PER_MESSAGE_OVERHEAD);
  });

  it('drops the oldest turns to leave room for the answer, never the system prompt or the newest message, and never starts on an answer', () => {
    const ten = 'w '.repeat(10);
    const history = [
      { role: 'user' as const, content: ten },
      { role: 'assistant' as const, content: ten },
      { role: 'user' as const, content: ten },
      { role: 'assistant' as const, content: ten },
      { role: 'user' as const, content: 'last' },
    ];
    // 16 tokens a message; context 80 minus 20 reserved for the answer: 60 for the request.
    const fitted = fitToContext('sys', history, words(80), 20);
    expect(fitted.messages[0]).toEqual({ role: 'system', content: 'sys' });
    expect(fitted.messages.at(-1)?.content).toBe('last');
    expect(fitted.messages[1]?.role).toBe('user');
    expect(fitted.droppedMessages).toBe(2);
    expect(fitted.tokensUsed).toBeLessThanOrEqual(60);

    // Even when the newest message alone does not fit, it is sent (the provider then says it is too long).
    const huge = fitToContext('sys', [...history.slice(0, 4), { role: 'user', content: 'w '.repeat(500) }], words(80), 20);
    expect(huge.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(huge.droppedMessages).toBe(4);

    // Unknown context: nothing is dropped.
    expect(fitToContext('', history, words(null), undefined).droppedMessages).toBe(0);
  });

  it('estimates about four characters a token, rounding up', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcde')).toBe(2);
  });

  it('titles a conversation from the first line of its first message', () => {
    expect(titleFrom('  How do I sort a list in Python?\nThanks')).toBe('How do I sort a list in Python?');
    expect(titleFrom('# Heading with **bold**')).toBe('Heading with bold');
    const long = titleFrom('Please explain in detail the differences between the TCP and UDP protocols for a beginner');
    expect(long.length).toBeLessThanOrEqual(61);
    expect(long.endsWith('…')).toBe(true);
    expect(titleFrom('   \n  ')).toBe('New conversation');
  });
});

describe('conversation tables', () => {
  let dir: string;
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('appends frames in place, deletes from a message on, marks interrupted answers, and purges old deletions with their messages', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sim-conv-db-'));
    const { db } = openDatabase(path.join(dir, 'sim-ai.db'));
    const repo = new ConversationsRepository(db);
    const at = new Date().toISOString();
    repo.create({ id: 'c1', title: 't', titleSet: false, provider: 'local', model: 'm', settings: { systemPrompt: '' }, presetId: null, createdAt: at, updatedAt: at });
    repo.appendMessage({ id: 'u1', conversationId: 'c1', role: 'user', content: 'hi', status: 'complete' });
    repo.appendMessage({ id: 'a1', conversationId: 'c1', role: 'assistant', content: '', status: 'streaming' });
    repo.appendText('a1', 'Hel');
    repo.appendText('a1', 'lo');
    expect(repo.message('a1')?.content).toBe('Hello');

    expect(repo.markInterrupted({ code: 'incomplete_stream', message: 'closed', retryable: true })).toBe(1);
    expect(repo.message('a1')).toMatchObject({ status: 'failed', content: 'Hello', error: { code: 'incomplete_stream' } });

    repo.appendMessage({ id: 'u2', conversationId: 'c1', role: 'user', content: 'again', status: 'complete' });
    repo.deleteFrom('c1', 'a1');
    expect(repo.messages('c1').map((m) => m.id)).toEqual(['u1']);

    // Search folds case beyond ASCII, in titles and in text.
    repo.create({ id: 'c2', title: 'Über Reisen', titleSet: true, provider: 'local', model: 'm', settings: { systemPrompt: '' }, presetId: null, createdAt: at, updatedAt: at });
    repo.appendMessage({ id: 'u3', conversationId: 'c2', role: 'user', content: 'Un café crème, s’il vous plaît', status: 'complete' });
    expect(repo.list('über', 10, 0).map((c) => c.id)).toEqual(['c2']);
    expect(repo.list('CAFÉ CRÈME', 10, 0)).toEqual([expect.objectContaining({ id: 'c2', snippet: 'Un café crème, s’il vous plaît' })]);

    expect(repo.softDelete('c1')).toBe(true);
    expect(repo.purgeDeleted(new Date(Date.now() - 60_000).toISOString())).toBe(0);
    expect(repo.purgeDeleted(new Date(Date.now() + 60_000).toISOString())).toBe(1);
    expect((db.prepare("SELECT COUNT(*) AS n FROM conversation_messages WHERE conversation_id = 'c1'").get() as { n: number }).n).toBe(0);
    expect(repo.messages('c2')).toHaveLength(1);
    db.close();
  });

  it('reads ledger rows written before runs kept their conversation and request', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sim-conv-db-'));
    const { db } = openDatabase(path.join(dir, 'sim-ai.db'));
    db.prepare(`INSERT INTO executions (id, started_at, provider, model, status, finish_reason, input_tokens, output_tokens, ttft_ms, total_ms, error_code, error_message, output)
                VALUES ('old', '2026-01-01T00:00:00.000Z', 'openai', 'gpt-4o', 'completed', 'stop', 3, 2, 10, 20, NULL, NULL, 'hi')`).run();
    const ledger = new ExecutionsRepository(db);
    expect(ledger.get('old')).toMatchObject({ id: 'old', text: 'hi', conversationId: null, request: null });
    expect(ledger.list(10, 0, 'any-conversation')).toEqual([]);
    db.close();
  });
});

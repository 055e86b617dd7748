import { describe, expect, it } from 'vitest';
import { Dispatcher, type Handlers } from '../../extensions/ai-sidecar/src/channel/dispatcher.js';
import { AIError } from '../../extensions/ai-sidecar/src/core/errors.js';
import { PROTOCOL_VERSION, replyEnvelopeSchema, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';

function setup(overrides: Partial<Handlers> = {}) {
  const replies: ReplyEnvelope[] = [];
  const handlers = {
    cancel_execution: ({ executionId }: { executionId: string }) => {
      if (executionId === 'boom') throw new Error('disk on fire with sk-proj-ABCDEFGHIJKLMNOP');
      if (executionId === 'locked') throw new AIError('locked', 'Unlock the vault first.');
      return { ok: true as const };
    },
    vault_status: () => ({ state: 'weird', autoLockMinutes: 5 }),
    ...overrides,
  } as unknown as Handlers;
  const dispatcher = new Dispatcher(handlers, (reply) => replies.push(reply));
  const send = (command: string, params: unknown, id = 'r1') => dispatcher.handle({ v: PROTOCOL_VERSION, id, command, params });
  return { replies, dispatcher, send };
}

describe('Dispatcher', () => {
  it('answers a valid request exactly once with the handler result', async () => {
    const { replies, send } = setup();
    await send('cancel_execution', { executionId: 'e1' });
    expect(replies).toEqual([{ id: 'r1', ok: true, result: { ok: true } }]);
  });

  it('rejects params that break the contract with a validation error', async () => {
    const { replies, send } = setup();
    await send('cancel_execution', { executionId: 42 });
    expect(replies[0]).toMatchObject({ id: 'r1', ok: false, error: { code: 'validation' } });
  });

  it('answers an unknown command with a typed error', async () => {
    const { replies, send } = setup();
    await send('rm_rf', {});
    expect(replies[0]).toMatchObject({ ok: false, error: { code: 'unknown_command' } });
  });

  it('never lets a prototype key pass as a command', async () => {
    const { replies, send } = setup();
    await send('constructor', {});
    await send('__proto__', {});
    expect(replies.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['unknown_command', 'unknown_command']);
  });

  it('drops a message too broken to carry an id, and answers a bad envelope that has one', async () => {
    const { replies, dispatcher } = setup();
    await dispatcher.handle('not json at all');
    await dispatcher.handle(null);
    await dispatcher.handle({ id: 7, command: 'x' });
    expect(replies).toHaveLength(0);
    await dispatcher.handle({ v: 99, id: 'r2', command: 'vault_status', params: {} });
    expect(replies[0]).toMatchObject({ id: 'r2', ok: false, error: { code: 'bad_message' } });
  });

  it('passes typed AI errors through and hides internal ones behind a redacted message', async () => {
    const { replies, send } = setup();
    await send('cancel_execution', { executionId: 'locked' }, 'a');
    await send('cancel_execution', { executionId: 'boom' }, 'b');
    expect(replies[0]).toMatchObject({ id: 'a', ok: false, error: { code: 'locked', message: 'Unlock the vault first.' } });
    expect(replies[1]).toMatchObject({ id: 'b', ok: false, error: { code: 'internal' } });
    expect(JSON.stringify(replies[1])).not.toContain('ABCDEFGHIJKLMNOP');
  });

  it('validates what it sends: a handler returning a bad shape becomes an internal error', async () => {
    const { replies, send } = setup();
    await send('vault_status', {});
    expect(replies[0]).toMatchObject({ ok: false, error: { code: 'internal' } });
    for (const reply of replies) expect(replyEnvelopeSchema().safeParse(reply).success).toBe(true);
  });
});

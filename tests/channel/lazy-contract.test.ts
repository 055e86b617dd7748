/**
 * The contract builds its schemas on first use (start-up cost, issue 13): a fresh process has built
 * none, a request builds its own command's schemas only, and a lazily built schema refuses what the
 * eager one refused, in the same words.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';

type ContractModule = typeof import('../../extensions/ai-sidecar/src/protocol/contract.js');
type DispatcherModule = typeof import('../../extensions/ai-sidecar/src/channel/dispatcher.js');
type LazyModule = typeof import('../../extensions/ai-sidecar/src/protocol/lazy-schema.js');

let contract: ContractModule;
let dispatcherModule: DispatcherModule;
let lazySchema: LazyModule;

beforeEach(async () => {
  // A fresh copy of the modules, as a just-started process has them.
  vi.resetModules();
  contract = await import('../../extensions/ai-sidecar/src/protocol/contract.js');
  dispatcherModule = await import('../../extensions/ai-sidecar/src/channel/dispatcher.js');
  lazySchema = await import('../../extensions/ai-sidecar/src/protocol/lazy-schema.js');
});

function dispatcher() {
  const replies: ReplyEnvelope[] = [];
  const calls: unknown[] = [];
  const handlers = {
    vault_init: (params: unknown) => (calls.push(params), { state: 'unlocked', autoLockMinutes: null }),
    hello: () => ({ protocolVersion: 1, sidecarVersion: 'x', dataDir: '/d', readOnly: false, storageError: null }),
  } as unknown as import('../../extensions/ai-sidecar/src/channel/dispatcher.js').Handlers;
  const d = new dispatcherModule.Dispatcher(handlers, (reply) => replies.push(reply));
  const send = (command: string, params: unknown, id = 'r1') => d.handle({ v: contract.PROTOCOL_VERSION, id, command, params });
  return { dispatcher: d, replies, calls, send };
}

describe('the contract, built on first use', () => {
  it('builds no command or event schema when imported, yet knows every name', () => {
    const { COMMANDS, EVENT_SCHEMAS, isCommandName } = contract;
    expect(lazySchema.builtEntries(COMMANDS)).toEqual([]);
    expect(lazySchema.builtEntries(EVENT_SCHEMAS)).toEqual([]);
    expect(isCommandName('save_workflow')).toBe(true);
    expect(isCommandName('constructor')).toBe(false);
    expect(Object.keys(EVENT_SCHEMAS)).toContain(contract.EVENTS.chunk);
    expect(lazySchema.builtEntries(COMMANDS)).toEqual([]);
  });

  it('builds only the command a request names, and still refuses bad params in words', async () => {
    const { replies, calls, send } = dispatcher();
    await send('vault_init', { passphrase: 'short' });
    expect(replies[0]).toMatchObject({ id: 'r1', ok: false, error: { code: 'validation' } });
    expect(!replies[0]?.ok && replies[0]?.error.message).toMatch(/at least 8 characters/);
    expect(calls).toEqual([]);
    expect(lazySchema.builtEntries(contract.COMMANDS)).toEqual(['vault_init']);

    await send('vault_init', { passphrase: 'long enough passphrase' }, 'r2');
    await send('hello', { protocolVersion: 1 }, 'r3');
    expect(replies.slice(1).map((r) => r.ok)).toEqual([true, true]);
    expect(calls).toEqual([{ passphrase: 'long enough passphrase' }]);
    expect([...lazySchema.builtEntries(contract.COMMANDS)].sort()).toEqual(['hello', 'vault_init']);
  });

  it('prepares the schemas of the commands it is given while idle, calling no handler and sending nothing', async () => {
    const { dispatcher: d, replies, calls, send } = dispatcher();
    d.prepare(['vault_init']);
    expect(lazySchema.builtEntries(contract.COMMANDS)).toEqual(['vault_init']);
    expect(replies).toEqual([]);
    expect(calls).toEqual([]);
    await send('vault_init', { passphrase: 'long enough passphrase' });
    expect(replies[0]?.ok).toBe(true);
    expect(calls).toEqual([{ passphrase: 'long enough passphrase' }]);
  });

  it('gives the same schema object on every read, so a schema is built once', () => {
    const { COMMANDS, EVENT_SCHEMAS, EVENTS, workflowSchema } = contract;
    expect(COMMANDS.save_workflow).toBe(COMMANDS.save_workflow);
    expect(EVENT_SCHEMAS[EVENTS.done]).toBe(EVENT_SCHEMAS[EVENTS.done]);
    expect(workflowSchema()).toBe(workflowSchema());
    // A shared shape is one object wherever it is used.
    expect(COMMANDS.get_workflow.result).toBe(workflowSchema());
  });

  it('validates a lazily built event as before', () => {
    const { EVENT_SCHEMAS, EVENTS } = contract;
    expect(EVENT_SCHEMAS[EVENTS.chunk].safeParse({ executionId: 'e', seq: 0, text: 'hi' }).success).toBe(true);
    expect(EVENT_SCHEMAS[EVENTS.chunk].safeParse({ executionId: 'e', seq: -1, text: 'hi' }).success).toBe(false);
    expect(lazySchema.builtEntries(EVENT_SCHEMAS)).toEqual([EVENTS.chunk]);
  });

  it('cannot be changed after the fact', () => {
    expect(() => Object.assign(contract.COMMANDS, { hello: 1 })).toThrow(TypeError);
  });
});

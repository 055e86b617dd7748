/**
 * The real sidecar (its composition root, `createSidecar`) in this process, driven through the
 * contract's dispatcher exactly as the channel drives it: every params and result is validated.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSidecar, type Sidecar } from '../../extensions/ai-sidecar/src/app.js';
import { Dispatcher } from '../../extensions/ai-sidecar/src/channel/dispatcher.js';
import type { CommandName, CommandParams, CommandResult, ErrorData, ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';

/** The tiny test model beside the project (`../shared`), also when the project is a worktree one level deeper. */
export const MODEL_FILE =
  ['../../../shared/models/stories260K.gguf', '../../../../shared/models/stories260K.gguf'].map((p) => path.resolve(__dirname, p)).find((p) => existsSync(p)) ??
  path.resolve(__dirname, '../../../shared/models/stories260K.gguf');

export interface SentEvent {
  readonly event: string;
  readonly data: unknown;
}

export class CommandFailed extends Error {
  constructor(readonly error: ErrorData) {
    super(`${error.code}: ${error.message}`);
  }
}

export interface TestSidecar {
  readonly dataDir: string;
  readonly sidecar: Sidecar;
  readonly events: SentEvent[];
  call<C extends CommandName>(command: C, params: CommandParams<C>): Promise<CommandResult<C>>;
  /** The failure a command answers with (throws if it succeeded). */
  fail<C extends CommandName>(command: C, params: CommandParams<C>): Promise<ErrorData>;
  /** Resolves when the run's one `sim.done` or `sim.error` has been sent. */
  ended(executionId: string): Promise<SentEvent>;
  close(options?: { keepData?: boolean }): Promise<void>;
}

let counter = 0;

export async function startTestSidecar(options: { dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TestSidecar> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'sim-conv-')));
  const events: SentEvent[] = [];
  const waiters: (() => void)[] = [];
  const sidecar = createSidecar({
    appDir: dataDir,
    env: { ...options.env, SIM_AI_DATA_DIR: dataDir },
    emit: (event, data) => {
      events.push({ event, data });
      for (const wake of waiters.splice(0)) wake();
    },
  });
  const replies = new Map<string, ReplyEnvelope>();
  const dispatcher = new Dispatcher(sidecar.handlers, (reply) => replies.set(reply.id, reply));
  const request = async (command: string, params: unknown): Promise<ReplyEnvelope> => {
    const id = `r${(counter += 1)}`;
    await dispatcher.handle({ v: 1, id, command, params });
    const reply = replies.get(id);
    if (reply === undefined) throw new Error(`No reply to ${command}`);
    return reply;
  };
  const findEnd = (executionId: string) =>
    events.find((e) => (e.event === 'sim.done' || e.event === 'sim.error') && (e.data as { executionId: string }).executionId === executionId);
  return {
    dataDir,
    sidecar,
    events,
    call: async (command, params) => {
      const reply = await request(command, params);
      if (!reply.ok) throw new CommandFailed(reply.error);
      return reply.result as never;
    },
    fail: async (command, params) => {
      const reply = await request(command, params);
      if (reply.ok) throw new Error(`${command} succeeded, a failure was expected`);
      return reply.error;
    },
    ended: async (executionId) => {
      for (;;) {
        const end = findEnd(executionId);
        if (end !== undefined) return end;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    close: async ({ keepData = false } = {}) => {
      await sidecar.dispose();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A vault with an OpenAI key, and the OpenAI provider pointed at the stand-in. */
export async function useOpenAIStandIn(app: TestSidecar, baseURL: string): Promise<void> {
  await app.call('vault_init', { passphrase: 'correct horse battery' });
  // The address first: a key is sealed with the origin it is entered for (issue 12).
  await app.call('update_provider', { provider: 'openai', baseURL, enabled: true });
  await app.call('set_secret', { provider: 'openai', secret: 'sk-proj-CONVERSATIONSconversations1414' });
}

/**
 * Validates each incoming request against the contract, runs its handler, validates the result, and
 * sends exactly one reply. Nothing a UI (or a hostile page) sends can crash the sidecar: every failure
 * becomes a typed error reply, and a message too broken to carry an id is dropped.
 */
import { z } from 'zod';
import { COMMANDS, isCommandName, requestEnvelopeSchema, type CommandName, type CommandParams, type CommandResult, type ReplyEnvelope } from '../protocol/contract.js';
import { describeIssues } from '../protocol/issue-text.js';
import { retainRedactions } from '../core/redact.js';
import { ChannelError, toErrorData } from './errors.js';

export type Handlers = {
  [C in CommandName]: (params: z.output<(typeof COMMANDS)[C]['params']>) => Promise<CommandResult<C>> | CommandResult<C>;
};

export type SendReply = (reply: ReplyEnvelope) => void;

export class Dispatcher {
  constructor(
    private readonly handlers: Handlers,
    private readonly send: SendReply,
  ) {}

  /** Handles one `sim.request` payload. Resolves once the reply has been handed to `send`. */
  async handle(payload: unknown): Promise<void> {
    const envelope = requestEnvelopeSchema.safeParse(payload);
    if (!envelope.success) {
      const id = idOf(payload);
      if (id !== undefined) this.send({ id, ok: false, error: toErrorData(new ChannelError('bad_message', describe(envelope.error))) });
      return;
    }
    const { id, command, params } = envelope.data;
    // Keys retired while this command runs (a lock during a model list) stay redacted in its reply.
    const release = retainRedactions();
    try {
      const result = await this.run(command, params);
      this.send({ id, ok: true, result });
    } catch (error) {
      this.send({ id, ok: false, error: toErrorData(error) });
    } finally {
      release();
    }
  }

  private async run(command: string, params: unknown): Promise<unknown> {
    if (!isCommandName(command)) throw new ChannelError('unknown_command', `Unknown command "${command}".`);
    const spec = COMMANDS[command];
    const parsed = spec.params.safeParse(params ?? {});
    // Said in words the UI can show as they are ("Temperature must be between 0 and 2.").
    if (!parsed.success) throw new ChannelError('validation', describeIssues(parsed.error.issues, spec.params));
    const handler = this.handlers[command] as (p: unknown) => Promise<unknown> | unknown;
    const result = await handler(parsed.data);
    // The sidecar validates what it sends, too: a handler bug must not reach the UI as a bad shape.
    const checked = spec.result.safeParse(result);
    if (!checked.success) throw new ChannelError('internal', `${command} produced an invalid result: ${describe(checked.error)}`);
    return checked.data;
  }
}

function idOf(payload: unknown): string | undefined {
  const id = (payload as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : undefined;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`)
    .join('; ');
}

export type { CommandParams };
